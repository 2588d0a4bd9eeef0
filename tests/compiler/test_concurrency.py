"""Sections side by side: same output whatever the completion order, limits, batch, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_OUTLINE, read_manifest, report_files
from fakes import EVERYONE
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import ParrotFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from loopback import Fault, OllamaServer, OpenAIServer, always
from typer.testing import CliRunner

import reporting.batch
from reporting.build import Inputs, build_report
from reporting.cli import app
from reporting.compiler.models import ChatModels
from reporting.settings import Settings, load_settings

runner = CliRunner()


class SlowParrot(ParrotFakeChatModel):
    """langchain-core's parrot (replies with the prompt) after a random delay."""

    rng: Any

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        await asyncio.sleep(self.rng.random() * 0.02)
        echoed = self._generate(*args, **kwargs).generations[0].message
        return ChatResult(generations=[ChatGeneration(message=AIMessage(echoed.content))])


def _parrots(seed: int) -> Any:
    rng = random.Random(seed)

    def factory(name: str, model: str, settings: Settings) -> BaseChatModel:
        return SlowParrot(rng=rng)

    return factory


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_output_is_identical_whatever_the_completion_order(
    outline_file: Path, tmp_path: Path, seed: int
) -> None:
    settings = load_settings(vra_hybrid_mode=True, openai_api_key="sk-test-0000")
    texts = []
    for run, order_seed in enumerate((seed, seed + 100)):
        models = ChatModels(settings, _parrots(order_seed))
        out = tmp_path / f"out{run}"
        result = build_report(
            outline_file, out, settings, models=models, available=EVERYONE, use_cache=False
        )
        texts.append(result.markdown.read_text(encoding="utf-8"))
        calls = result.record["calls"]
        assert [(c["section"], c["phase"]) for c in calls] == [
            (s.section_id, s.phase.name) for s in result.report.plan.steps
        ]
    assert texts[0] == texts[1]


def _write_outlines(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"report{index}.yaml"
        path.write_text(EXAMPLE_OUTLINE.replace("Annual Report", f"Report {index}"))
        paths.append(path)
    return paths


def test_provider_limits_are_never_exceeded_in_a_batch(
    hybrid_env: pytest.MonkeyPatch,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("PRIMARY_MAX_CONCURRENCY", "3")
    hybrid_env.setenv("SECONDARY_MAX_CONCURRENCY", "2")
    openai_server.latency = ollama_server.latency = 0.05
    _write_outlines(tmp_path / "outlines", 3)
    result = runner.invoke(
        app,
        ["batch", str(tmp_path / "outlines"), "--out", str(tmp_path / "out"), "--jobs", "3"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert openai_server.max_concurrent == 3  # reached, never exceeded, across the reports
    assert ollama_server.max_concurrent == 2
    assert "3 written, 0 failed, 0 invalid" in result.stdout
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.run.json")]
    assert sum(m["metrics"]["cloud_calls"] for m in manifests) == openai_server.count


def test_guardrail_is_exact_under_concurrency_with_a_failing_primary(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", "6")
    hybrid_env.setenv("MAX_RETRIES", "4")
    openai_server.latency = 0.02
    openai_server.faults = always(Fault.http(502))
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert openai_server.count <= 6
    manifest = read_manifest(tmp_path / "out")
    assert manifest["metrics"]["cloud_calls"] == openai_server.count


def test_batch_isolates_an_invalid_outline(hybrid_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "outlines"
    _write_outlines(folder, 2)
    (folder / "broken.yaml").write_text("title: Broken\nsections:\n  - brief: no title\n")
    result = runner.invoke(
        app, ["batch", str(folder), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "broken.yaml: sections[1].title: field required" in result.stderr
    assert "2 written, 0 failed, 1 invalid" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").glob("*.md")) == [
        "report0.md",
        "report1.md",
    ]


def test_batch_isolates_a_failing_report(
    hybrid_env: pytest.MonkeyPatch,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("MAX_RETRIES", "0")

    def doomed(n: int, body: dict[str, Any]) -> Fault | None:
        return Fault.http(500) if "Report 1" in json.dumps(body) else None

    openai_server.faults = ollama_server.faults = doomed
    _write_outlines(tmp_path / "outlines", 2)
    result = runner.invoke(
        app,
        ["batch", str(tmp_path / "outlines"), "--out", str(tmp_path / "o")],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "1 written, 1 failed, 0 invalid" in result.stdout
    assert [p.name for p in (tmp_path / "o").glob("*.md")] == ["report0.md"]


def test_batch_isolates_an_internal_error(hybrid_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = reporting.batch.abuild_report

    async def buggy(inputs: Inputs, *args: Any, **kwargs: Any) -> Any:
        if inputs.outline_path.name == "report1.yaml":
            raise ValueError("a bug met in report 1")
        return await real(inputs, *args, **kwargs)

    hybrid_env.setattr(reporting.batch, "abuild_report", buggy)
    _write_outlines(tmp_path / "outlines", 2)
    result = runner.invoke(
        app,
        ["batch", str(tmp_path / "outlines"), "--out", str(tmp_path / "o")],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "1 written, 1 failed, 0 invalid" in result.stdout
    assert "internal error: ValueError: a bug met in report 1" in result.stderr
    assert [p.name for p in (tmp_path / "o").glob("*.md")] == ["report0.md"]


def test_batch_output_off_a_terminal_is_plain(
    hybrid_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write_outlines(tmp_path / "outlines", 1)
    result = runner.invoke(
        app,
        ["batch", str(tmp_path / "outlines"), "--out", str(tmp_path / "o")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output


@pytest.mark.parametrize(
    ("sent", "code", "said"),
    [
        (signal.SIGINT, 130, "interrupted"),
        # What cron, systemd and CI send to stop a job: handled as Ctrl-C is.
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_stops_cleanly_with_exit_130(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    sent: signal.Signals,
    code: int,
    said: str,
) -> None:
    openai_server.latency = 30  # every primary call hangs until cancelled
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "reporting", "build", str(outline_file), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while openai_server.count == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert openai_server.count > 0
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == code, stderr
    assert f"{said}: a report's files are written together or not at all" in stderr
    assert "Traceback" not in stderr
    assert report_files(out) == []
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_ctrl_c_stops_a_hanging_preflight_at_once(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path
) -> None:
    # A cloud server that takes the connection and never answers: preflight waits for it.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    hybrid_env.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/v1")
    out = tmp_path / "out"
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "reporting", "build", str(outline_file), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        connected, _ = silent.accept()  # the preflight's request has reached the silent server
        process.send_signal(signal.SIGINT)
        # Exit comes before the preflight's own 5 s timeout could have ended the wait.
        try:
            _, stderr = process.communicate(timeout=4)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail("Ctrl-C did not stop the build while its preflight waited")
        connected.close()
    finally:
        silent.close()
    assert process.returncode == 130
    assert "interrupted" in stderr
    assert "PREFLIGHT" not in stderr  # no verdict was reached, or logged after the interrupt
    assert report_files(out) == []
