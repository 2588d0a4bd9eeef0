"""`report budget show`: today's use of the shared cloud budget per scope, from a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pg_server import free_port
from typer.testing import CliRunner

from reporting.cli import app
from reporting.compiler.shared_budget import RedisState, SharedBudget, today

runner = CliRunner()


def _charge(url: str, scope: str, cap: int, times: int) -> None:
    budget = SharedBudget(RedisState(url), cap, scope)
    for _ in range(times):
        budget.charge()


def test_show_prints_each_scope_used_cap_and_day(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    _charge(redis_url, "default", 40, 3)
    _charge(redis_url, "team-a", 5, 1)
    monkeypatch.setenv("REPORT_STATE_URL", redis_url)
    result = runner.invoke(app, ["budget", "show"])
    assert result.exit_code == 0, result.stderr
    day = today()
    assert result.stdout.splitlines() == [f"default  3/40  {day}", f"team-a   1/5  {day}"]
    result = runner.invoke(app, ["budget", "show", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"scope": "default", "used": 3, "cap": 40, "day": day},
        {"scope": "team-a", "used": 1, "cap": 5, "day": day},
    ]


def test_show_with_nothing_charged_says_so(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    monkeypatch.setenv("REPORT_BROKER_URL", redis_url)  # the broker's Redis, by default
    result = runner.invoke(app, ["budget", "show"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("no cloud calls charged today")


def test_show_without_a_state_url_exits_2() -> None:
    result = runner.invoke(app, ["budget", "show"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error (invalid input): no shared state: set REPORT_STATE_URL or REPORT_BROKER_URL"
    )


def test_show_with_redis_unreachable_exits_1_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORT_STATE_URL", f"redis://:pw-hidden-42@127.0.0.1:{free_port()}/0")
    result = runner.invoke(app, ["budget", "show"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: redis unreachable at redis://***@")
    assert "pw-hidden-42" not in result.stderr


def test_plan_shows_what_the_shared_budget_has_left_without_charging_it(
    hybrid_env: pytest.MonkeyPatch, redis_url: str, outline_file: Path
) -> None:
    _charge(redis_url, "default", 5, 3)
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "5")
    hybrid_env.setenv("REPORT_STATE_URL", redis_url)
    result = runner.invoke(app, ["plan", str(outline_file)])
    assert result.exit_code == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("shared budget")]
    assert line.startswith(
        "shared budget (CLOUD_BUDGET_DAILY=5, scope default): 3 used today, 2 left; fewer than the"
    )
    assert line.endswith("planned: the rest would go to the secondary")
    result = runner.invoke(app, ["plan", str(outline_file), "--json"])
    assert json.loads(result.stdout)["shared_budget"] == {
        "scope": "default", "cap": 5, "used": 3, "day": today(),
    }  # fmt: skip
    assert SharedBudget(RedisState(redis_url), 5, "default").use().used == 3  # nothing charged


def test_plan_with_redis_down_says_no_cloud_call_would_be_sent(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path
) -> None:
    hybrid_env.setenv("CLOUD_BUDGET_DAILY", "5")
    hybrid_env.setenv("REPORT_STATE_URL", f"redis://127.0.0.1:{free_port()}/0")
    result = runner.invoke(app, ["plan", str(outline_file)])
    assert result.exit_code == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("shared budget")]
    assert "redis unreachable at redis://127.0.0.1" in line
    assert line.endswith("; no cloud call would be sent")
