"""The shared cloud budget (CLOUD_BUDGET_DAILY) against a real redis-server on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import read_manifest, report_files
from freezegun import freeze_time
from loopback import Fault, OllamaServer, OpenAIServer, always
from pg_server import free_port
from typer.testing import CliRunner

import reporting
from reporting.cli import app
from reporting.compiler.budget import CloudBudget
from reporting.compiler.shared_budget import (
    Charge,
    RedisState,
    SharedBudget,
    SharedBudgetExceeded,
    day_key,
    today,
)
from reporting.errors import CostLimitExceededError
from reporting.outline.loader import load_outline
from reporting.routing.plan import make_plan
from reporting.settings import load_settings

runner = CliRunner()
PASSWORD = "r3dis-s3cret-91"


def _budget(url: str, cap: int, scope: str = "default") -> SharedBudget:
    return SharedBudget(RedisState(url), cap, scope)


def _build(outline: Path, out: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["build", str(outline), "--out", str(out)], catch_exceptions=False)
    return result.exit_code, result.stderr


def test_charges_from_many_threads_never_pass_the_cap(redis_url: str) -> None:
    budget = _budget(redis_url, 50)
    allowed: list[Charge] = []
    denied: list[SharedBudgetExceeded] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            try:
                charge = budget.charge()
            except SharedBudgetExceeded as exc:
                with lock:
                    denied.append(exc)
            else:
                with lock:
                    allowed.append(charge)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 50 and len(denied) == 8 * 20 - 50
    assert len({charge.id for charge in allowed}) == 50
    assert budget.use().used == 50
    assert denied[0].budget == "shared:default used 50/50 today"


def test_a_refund_counts_once_and_an_unknown_one_not_at_all(redis_url: str) -> None:
    budget = _budget(redis_url, 5)
    first, second = budget.charge(), budget.charge()
    assert budget.use().used == 2
    assert budget.refund(first) is True
    assert budget.refund(first) is False  # the same refund again: nothing
    assert budget.use().used == 1
    unknown = Charge("never-charged", first.key, True, 0, 5)
    assert budget.refund(unknown) is False
    assert budget.use().used == 1
    assert budget.refund(second) is True and budget.use().used == 0


def test_each_utc_day_and_scope_has_its_own_count(redis_url: str) -> None:
    with freeze_time("2026-12-02 23:59:59"):
        spent = _budget(redis_url, 1, "team-a")
        spent.charge()
        with pytest.raises(SharedBudgetExceeded, match="CLOUD_BUDGET_DAILY=1 reached"):
            spent.charge()
        _budget(redis_url, 1, "team-b").charge()  # another scope: its own budget
    with freeze_time("2026-12-03 00:00:01"):
        assert today() == "2026-12-03"
        assert spent.charge().used == 1  # a new day starts at 0
    state = RedisState(redis_url)
    assert 0 < state.client.ttl(day_key("team-a", "2026-12-02")) <= 3 * 24 * 3600


def test_unreachable_redis_refuses_the_charge_without_showing_the_password() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    budget = SharedBudget(RedisState(url, [PASSWORD]), 10, "default")
    with pytest.raises(SharedBudgetExceeded) as caught:
        budget.charge()
    assert caught.value.why is not None
    assert caught.value.why.startswith("redis unreachable at redis://***@127.0.0.1:")
    assert PASSWORD not in str(caught.value)


def test_the_settings_hide_the_state_urls_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_BROKER_URL", f"redis://:{PASSWORD}@broker:6379/0")
    settings = load_settings(cloud_budget_daily=5)
    assert settings.state_url == f"redis://:{PASSWORD}@broker:6379/0"  # the broker's, by default
    assert PASSWORD in settings.secrets
    snapshot = settings.snapshot()
    assert snapshot["report_broker_url"] == "redis://***@broker:6379/0"
    assert PASSWORD not in str(snapshot)
    assert load_settings(cloud_budget_daily=5, report_state_url="redis://s:6379/1").state_url == (
        "redis://s:6379/1"
    )


def test_a_build_without_a_shared_budget_never_imports_redis() -> None:
    code = (
        "import sys, reporting.cli, reporting.compiler.runner, reporting.compiler.execute;"
        "assert 'redis' not in sys.modules, 'redis imported';"
        "assert 'reporting.compiler.shared_budget' in sys.modules;"
        "print(reporting.__file__)"
    )
    root = str(Path(reporting.__file__).parents[1])  # this checkout, whatever the venv installed
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == reporting.__file__


def test_a_build_sends_only_the_shared_budget_to_the_cloud_and_the_next_one_none(
    hybrid_env: pytest.MonkeyPatch,
    redis_url: str,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "3")
    hybrid_env.setenv("REPORT_STATE_URL", redis_url)
    hybrid_env.setenv("SHARED_CACHE_DAYS", "0")  # the second build must not find the first's calls
    assert make_plan(load_outline(outline_file), load_settings()).cloud_calls > 3
    code, stderr = _build(outline_file, tmp_path / "one")
    assert code == 0, stderr
    assert openai_server.count == 3
    metrics = read_manifest(tmp_path / "one")["metrics"]
    assert metrics["cloud_calls"] == 3
    shared = metrics["shared_budget"]
    assert (shared["scope"], shared["cap"], shared["charged"], shared["used_today"]) == (
        "default", 3, 3, 3,
    )  # fmt: skip
    assert shared["refused"] == metrics["planned_cloud_calls"] - 3
    assert "Event=FALLBACK | Reason=COST_LIMIT" in stderr
    assert "Budget=shared:default used 3/3 today" in stderr
    local = ollama_server.count
    code, stderr = _build(outline_file, tmp_path / "two")  # another folder: no cache hit
    assert code == 0, stderr
    assert openai_server.count == 3  # the second build sent no cloud request
    assert ollama_server.count > local
    manifest = read_manifest(tmp_path / "two")
    assert manifest["metrics"]["cloud_calls"] == 0
    assert manifest["metrics"]["fallbacks"]["COST_LIMIT"] > 0
    assert manifest["metrics"]["shared_budget"]["charged"] == 0
    assert manifest["metrics"]["shared_budget"]["refused"] > 0
    assert _budget(redis_url, 3).use().used == 3


def test_unreachable_redis_sends_nothing_to_the_cloud_and_builds_on_the_secondary(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    # Decided: fail closed but keep building. Every cloud step goes to the secondary with
    # COST_LIMIT, as when the budget is spent, and the report is written (exit 0).
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "100")
    hybrid_env.setenv("REPORT_STATE_URL", f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")
    code, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count == 0 and ollama_server.count > 0
    assert "Reason=COST_LIMIT | From=PRIMARY | To=SECONDARY | Budget=shared:default" in stderr
    assert "Why=redis unreachable at redis://***@127.0.0.1:" in stderr
    written = report_files(tmp_path / "out")
    assert [p.name for p in written if p.suffix == ".md"] == ["fleet.md"]
    for path in written:
        assert PASSWORD not in path.read_text(encoding="utf-8", errors="replace")
    assert PASSWORD not in stderr


def test_every_retry_is_charged_to_the_shared_budget(
    hybrid_env: pytest.MonkeyPatch,
    redis_url: str,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "100")
    hybrid_env.setenv("REPORT_STATE_URL", redis_url)
    hybrid_env.setenv("MAX_CLOUD_CALLS", "20")  # spare calls for retries
    hybrid_env.setenv("MAX_RETRIES", "3")
    openai_server.faults = always(Fault.http(503))
    code, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert "Event=RETRY" in stderr
    sent = openai_server.count
    assert 0 < sent <= 20
    assert read_manifest(tmp_path / "out")["metrics"]["cloud_calls"] == sent
    assert _budget(redis_url, 100).use().used == sent  # every request charged, none refunded


def test_a_call_the_reports_own_budget_refuses_is_refunded(
    hybrid_env: pytest.MonkeyPatch,
    redis_url: str,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    # The shared charge comes first; when MAX_CLOUD_CALLS then refuses, nothing was sent.
    def refuse(self: CloudBudget, *, reserved: bool) -> None:
        raise CostLimitExceededError("MAX_CLOUD_CALLS=0 reached")

    hybrid_env.setattr(CloudBudget, "spend", refuse)
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "100")
    hybrid_env.setenv("REPORT_STATE_URL", redis_url)
    code, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count == 0
    assert "Reason=COST_LIMIT" in stderr
    charged = RedisState(redis_url).client.hgetall(day_key("default", today()))
    assert charged == {"used": "0", "cap": "100"}  # charged, then every charge given back


def test_a_shared_budget_without_a_redis_url_is_a_configuration_error(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "10")
    code, stderr = _build(outline_file, tmp_path / "out")
    assert code == 2
    assert "CLOUD_BUDGET_DAILY is set but no Redis is" in stderr
    assert openai_server.count == 0
