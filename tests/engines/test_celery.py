"""`report batch --engine celery` and `report worker` with a real Redis and real Celery workers.

The workers are `python -m reporting worker` subprocesses (prefork pools) talking to a real
redis-server on 127.0.0.1 and to the repo's loopback model servers, as on a deployment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from celery_workers import running_workers
from conftest import EXAMPLE_OUTLINE, read_manifest
from loopback import OllamaServer, OpenAIServer
from pg_server import free_port
from redis_server import redis_server
from typer.testing import CliRunner

from reporting.cli import app
from reporting.compiler.shared_budget import RedisState, today
from reporting.engines import submit
from reporting.engines.submit import task_id
from reporting.settings import Settings, load_settings

runner = CliRunner()
WAIT_S = 240  # a batch command's own limit, so a stuck worker fails the test instead of CI


def _outlines(folder: Path, count: int, *, same: bool = False) -> list[Path]:
    """`count` outlines; distinct titles (so distinct calls) unless `same`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        text = (
            EXAMPLE_OUTLINE
            if same
            else EXAMPLE_OUTLINE.replace(
                "Fleet Telemetry Platform", f"Fleet Telemetry Platform {number}"
            )
        )
        path = folder / f"report{number}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _batch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`report batch` as a user runs it: its own process, its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "reporting", "batch", *args],
        capture_output=True, text=True, cwd=cwd, timeout=WAIT_S,
    )  # fmt: skip


@pytest.fixture
def celery_env(hybrid_env: pytest.MonkeyPatch, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """The hybrid loopback setup with the broker on the test's Redis."""
    hybrid_env.setenv("REPORT_BROKER_URL", redis_url)
    hybrid_env.setenv("MAX_CLOUD_CALLS", "3")
    return dict(os.environ)


def test_outputs_through_celery_equal_those_built_here(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outlines = _outlines(tmp_path / "outlines", 2)
    local = _batch(*map(str, outlines), "--out", "local", "--no-cache", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    with running_workers(celery_env["REPORT_BROKER_URL"], tmp_path, count=2) as workers:
        remote = _batch(
            *map(str, outlines), "--out", "remote", "--engine", "celery", "--wait", cwd=tmp_path
        )
        assert remote.returncode == 0, remote.stderr + workers.log_text()
    assert "2 written, 0 failed, 0 invalid" in remote.stdout
    for outline in outlines:
        stem = outline.stem
        assert (tmp_path / "remote" / f"{stem}.md").read_text() == (
            tmp_path / "local" / f"{stem}.md"
        ).read_text()
        assert (tmp_path / "remote" / f"{stem}.docx").stat().st_size > 0
        here = read_manifest(tmp_path / "local", stem)
        there = read_manifest(tmp_path / "remote", stem)
        assert [c["provider"] for c in here["calls"]] == [c["provider"] for c in there["calls"]]
        assert here["metrics"]["cloud_calls"] == there["metrics"]["cloud_calls"]


def test_a_second_batch_sends_no_model_request(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    outlines = _outlines(tmp_path / "outlines", 2)
    with running_workers(celery_env["REPORT_BROKER_URL"], tmp_path, count=2) as workers:
        first = _batch(
            *map(str, outlines), "--out", "one", "--engine", "celery", "--wait", cwd=tmp_path
        )
        assert first.returncode == 0, first.stderr + workers.log_text()
        assert openai_server.count + ollama_server.count > 0
        openai_server.reset_log()
        ollama_server.reset_log()
        # Another output folder, so another local cache: only the shared cache can answer.
        second = _batch(
            *map(str, outlines), "--out", "two", "--engine", "celery", "--wait", cwd=tmp_path
        )
        assert second.returncode == 0, second.stderr + workers.log_text()
    assert openai_server.count == 0 and ollama_server.count == 0
    assert (tmp_path / "two" / "report0.md").read_text() == (
        tmp_path / "one" / "report0.md"
    ).read_text()


def test_the_shared_budget_holds_exactly_across_two_workers(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    redis_url: str,
) -> None:
    cap = 5  # 4 reports x 3 cloud calls each want 12
    env = dict(celery_env, CLOUD_BUDGET_DAILY=str(cap), CLOUD_BUDGET_SCOPE="team-a")
    openai_server.latency = 0.1  # calls overlap across the workers
    outlines = _outlines(tmp_path / "outlines", 4)
    with running_workers(redis_url, tmp_path, count=2, concurrency=2, env=env) as workers:
        result = subprocess.run(
            [sys.executable, "-m", "reporting", "batch", *map(str, outlines), "--out", "out",
             "--engine", "celery", "--wait"],
            capture_output=True, text=True, cwd=tmp_path, timeout=WAIT_S, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr + workers.log_text()
    assert openai_server.count == cap
    rows = RedisState(redis_url).usage(today())
    assert [(r.scope, r.used, r.cap) for r in rows] == [("team-a", cap, cap)]
    cloud = sum(read_manifest(tmp_path / "out", p.stem)["metrics"]["cloud_calls"] for p in outlines)
    assert cloud == cap


def test_the_same_call_from_two_workers_at_once_is_made_once(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    # Two outlines with the same content make the same calls, at the same time on two workers.
    openai_server.latency = ollama_server.latency = 0.2
    outlines = _outlines(tmp_path / "outlines", 2, same=True)
    with running_workers(celery_env["REPORT_BROKER_URL"], tmp_path, count=2) as workers:
        result = _batch(
            *map(str, outlines), "--out", "out", "--engine", "celery", "--wait", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr + workers.log_text()
    bodies = [
        json.dumps(b, sort_keys=True) for b in openai_server.chat_bodies + ollama_server.chat_bodies
    ]
    assert bodies and len(bodies) == len(set(bodies))
    assert (tmp_path / "out" / "report0.md").read_text() == (
        tmp_path / "out" / "report1.md"
    ).read_text()


def test_a_worker_killed_mid_report_still_writes_it_once_without_paying_twice(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    redis_url: str,
) -> None:
    env = dict(celery_env, CLOUD_BUDGET_DAILY="100")
    openai_server.latency = ollama_server.latency = 0.3
    (outline,) = _outlines(tmp_path / "outlines", 1)
    with running_workers(redis_url, tmp_path, count=1, env=env) as workers:
        batch = subprocess.Popen(
            [sys.executable, "-m", "reporting", "batch", str(outline), "--out", "out",
             "--engine", "celery", "--wait"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while openai_server.count + ollama_server.count < 6:
            assert time.monotonic() < deadline, workers.log_text()
            time.sleep(0.05)
        (child,) = workers.children()
        os.kill(child, signal.SIGKILL)
        stdout, stderr = batch.communicate(timeout=WAIT_S)
        assert batch.returncode == 0, stderr + workers.log_text()
    assert "1 written, 0 failed, 0 invalid" in stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        "report0.docx", "report0.md", "report0.run.json",
    ]  # fmt: skip
    bodies = [
        json.dumps(b, sort_keys=True) for b in openai_server.chat_bodies + ollama_server.chat_bodies
    ]
    # Only calls in flight at the kill (at most the report's concurrency) were sent twice.
    assert len(bodies) - len(set(bodies)) <= 4
    cloud = [json.dumps(b, sort_keys=True) for b in openai_server.chat_bodies]
    (row,) = RedisState(redis_url).usage(today())
    assert row.used == len(cloud)  # each request sent charged once, none charged without a send
    manifest = read_manifest(tmp_path / "out", "report0")
    assert manifest["metrics"]["cache_hits"] >= 1  # the redelivered report reused finished calls


def test_with_redis_down_nothing_is_sent_and_the_error_is_one_line(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    (outline,) = _outlines(tmp_path / "outlines", 1)
    url = f"redis://:pw-hidden-7@127.0.0.1:{free_port()}/0"
    result = _batch(str(outline), "--engine", "celery", "--broker", url, "--wait", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "error (generation failed): redis unreachable at redis://***@127.0.0.1"
    )
    assert "no report was queued" in lines[0] and "pw-hidden-7" not in result.stderr
    assert openai_server.count == 0 and ollama_server.count == 0
    assert not (tmp_path / "reports_out").exists()


def test_the_same_report_queued_twice_runs_once(
    celery_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    (outline,) = _outlines(tmp_path / "outlines", 1)
    first = runner.invoke(app, ["batch", str(outline), "--engine", "celery"])
    second = runner.invoke(app, ["batch", str(outline), "--engine", "celery"])
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    assert "queued 1 report(s)" in first.stderr
    assert "queued 0 report(s)" in second.stderr and "1 already queued or running" in second.stderr
    assert first.stdout == second.stdout  # the same task id
    import redis

    with redis.Redis.from_url(redis_url) as client:
        assert client.llen("reports") == 1


def test_a_broker_password_appears_in_no_log_output_or_file(
    hybrid_env: pytest.MonkeyPatch,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    password = "br0ker-s3cret-55"
    with redis_server(password=password) as server:
        hybrid_env.setenv("REPORT_BROKER_URL", server.url)
        hybrid_env.setenv("CLOUD_BUDGET_DAILY", "2")
        env = dict(os.environ)
        (outline,) = _outlines(tmp_path / "outlines", 1)
        with running_workers(server.url, tmp_path, env=env) as workers:
            result = _batch(str(outline), "--engine", "celery", "--wait", cwd=tmp_path)
            assert result.returncode == 0, result.stderr + workers.log_text()
            logs = workers.log_text(tail=0)
    assert openai_server.count == 2
    texts = [result.stdout, result.stderr, logs]
    texts += [
        p.read_text(errors="replace")
        for p in (tmp_path / "reports_out").rglob("*")
        if p.is_file() and p.suffix in (".md", ".json")
    ]
    assert all(password not in text for text in texts)
    assert "redis://***@127.0.0.1" in result.stderr  # "queued 1 report(s) on …"


def test_an_invalid_outline_is_reported_at_once_and_never_queued(
    celery_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    (good,) = _outlines(tmp_path / "outlines", 1)
    bad = tmp_path / "outlines" / "bad.yaml"
    bad.write_text("title: Broken\nsections:\n  - title: One\n    words: many\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(good), str(bad), "--engine", "celery"])
    assert result.exit_code == 2, result.stderr
    assert "queued 1 report(s)" in result.stderr
    assert f"invalid: {bad}:" in result.stderr and "words" in result.stderr
    import redis

    with redis.Redis.from_url(redis_url) as client:
        assert client.llen("reports") == 1


def test_a_missing_outline_is_reported_even_without_wait(
    celery_env: dict[str, str], tmp_path: Path
) -> None:
    (good,) = _outlines(tmp_path / "outlines", 1)
    result = runner.invoke(app, ["batch", str(good), "nosuch.yaml", "--engine", "celery"])
    assert result.exit_code == 2, result.stderr
    assert "invalid: nosuch.yaml:\n  nosuch.yaml: not found" in result.stderr


def _job_id(outline: Path) -> str:
    settings = load_settings()
    out = (Path.cwd() / "reports_out").resolve()
    return task_id(outline.resolve(), outline.stem, {}, out, settings)


def test_a_report_whose_worker_keeps_dying_is_given_up_after_three_deliveries(
    celery_env: dict[str, str],
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    redis_url: str,
) -> None:
    (outline,) = _outlines(tmp_path / "outlines", 1)
    import redis

    with redis.Redis.from_url(redis_url) as client:
        client.set(f"reporting:deliveries:{_job_id(outline)}", 3)  # three deaths already
    with running_workers(redis_url, tmp_path) as workers:
        result = _batch(str(outline), "--engine", "celery", "--wait", cwd=tmp_path)
        assert result.returncode == 1, result.stderr + workers.log_text()
    assert "its worker process died 3 times while building it" in result.stderr
    assert openai_server.count == 0 and ollama_server.count == 0
    with redis.Redis.from_url(redis_url) as client:
        assert client.keys("reporting:deliveries:*") == []
        assert client.keys("reporting:queued:*") == []


def test_a_report_that_could_not_be_sent_is_not_marked_as_queued(
    celery_env: dict[str, str], tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (outline,) = _outlines(tmp_path / "outlines", 1)
    real = submit.make_app

    def failing_app(url: str, settings: Settings) -> Any:
        made = real(url, settings)
        monkeypatch.setattr(
            made, "send_task", lambda *a, **k: (_ for _ in ()).throw(OSError("gone"))
        )
        return made

    monkeypatch.setattr(submit, "make_app", failing_app)
    result = runner.invoke(app, ["batch", str(outline), "--engine", "celery"])
    assert result.exit_code == 1
    assert "queueing" in result.stderr and "OSError: gone" in result.stderr
    monkeypatch.setattr(submit, "make_app", real)
    result = runner.invoke(app, ["batch", str(outline), "--engine", "celery"])
    assert result.exit_code == 0 and "queued 1 report(s)" in result.stderr


def test_waiting_for_a_report_lost_from_the_queue_ends_with_a_failure(
    celery_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    (outline,) = _outlines(tmp_path / "outlines", 1)
    settings = load_settings()
    [job] = submit.enqueue([(outline, outline.stem, {})], Path("reports_out"), settings, redis_url)
    import redis

    with redis.Redis.from_url(redis_url) as client:  # as if Redis had lost the queue
        client.delete("reports", f"reporting:queued:{job.task_id}")
    [outcome] = submit.wait_for([job], settings, redis_url, poll_s=0.05)
    assert outcome.status == "failed"
    assert outcome.detail == "no outcome: the task is in no queue and its result has expired"
