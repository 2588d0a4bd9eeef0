"""The quality gate as a user meets it: the summary line, exit 3 under strict, the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback import OpenAIServer, _messages, _text_of
from passing import OUTLINE, PASSING, phase_of
from typer.testing import CliRunner

from reporting.cli import app

runner = CliRunner()


def user_texts(body: dict[str, Any]) -> list[str]:
    return [_text_of(m.get("content")) for m in _messages(body) if m.get("role") == "user"]


def garbage_then_repaired(body: dict[str, Any]) -> str:
    """A first reply that fails its checks; a reply that passes once the problems are named."""
    users = user_texts(body)
    if users[-1].startswith("Your text has these problems"):
        return PASSING[phase_of(users[0])]
    return "Section 1: Overview. Rewrite this draft as polished prose. Revenue rose 250%."


def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: OpenAIServer, gate: str) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("MAX_CLOUD_CALLS", "20")
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")  # never called: hybrid mode is off
    monkeypatch.setenv("QUALITY_GATE", gate)
    outline = tmp_path / "review.yaml"
    outline.write_text(OUTLINE, encoding="utf-8")
    return runner.invoke(app, ["build", str(outline), "--out", str(tmp_path / "out")])


def manifest(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "review.run.json").read_text(encoding="utf-8"))


def test_repair_makes_every_text_pass_and_the_summary_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    openai_server.reply = garbage_then_repaired
    result = build(tmp_path, monkeypatch, openai_server, "repair")
    assert result.exit_code == 0, result.output
    assert "checks: 1 of 1 sections pass every check; 4 repairs, 0 escalations" in result.stdout
    assert openai_server.count == 8  # four steps, each repaired once
    quality = manifest(tmp_path)["quality"]
    assert quality["passed"] and quality["repairs"] == 4 and quality["extra_requests"] == 4
    assert quality["unsupported_figures"] == [] and quality["echoes"] == 0
    markdown = (tmp_path / "out" / "review.md").read_text(encoding="utf-8")
    assert "250%" not in markdown and "Rewrite this draft" not in markdown


def test_strict_writes_the_files_and_exits_3_when_a_text_still_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    # Every reply fails, the repairs too.
    openai_server.reply = lambda body: "Revenue rose 250% in the quarter [1].\n\nThat is all."
    result = build(tmp_path, monkeypatch, openai_server, "strict")
    assert result.exit_code == 3, result.output
    assert "QUALITY_GATE=strict" in result.stderr and "review.run.json" in result.stderr
    for name in ("review.md", "review.docx", "review.run.json"):
        assert (tmp_path / "out" / name).is_file()
    quality = manifest(tmp_path)["quality"]
    assert quality["gate"] == "strict" and not quality["passed"]
    assert {item["phase"] for item in quality["failing"]} == {"REFINE", "ABSTRACT"}
    figure = quality["unsupported_figures"][0]
    assert "250%" in figure["message"] and figure["sentence"].startswith("Revenue rose 250%")


def test_report_gate_records_and_never_calls_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    openai_server.reply = garbage_then_repaired
    result = build(tmp_path, monkeypatch, openai_server, "report")
    assert result.exit_code == 0, result.output
    assert "checks: 0 of 1 sections pass every check; 0 repairs" in result.stdout
    assert openai_server.count == 4
    calls = manifest(tmp_path)["calls"]
    assert all(call["checks"] is not None and call["repairs"] == 0 for call in calls)
    assert {name for call in calls for name, c in call["checks"].items() if not c["passed"]} >= {
        "facts",
        "leaks",
    }


def test_off_checks_nothing_and_prints_no_checks_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    openai_server.reply = garbage_then_repaired
    result = build(tmp_path, monkeypatch, openai_server, "off")
    assert result.exit_code == 0, result.output
    assert "checks:" not in result.stdout
    assert all(call["checks"] is None for call in manifest(tmp_path)["calls"])
    assert manifest(tmp_path)["quality"]["checked_calls"] == 0


def test_a_bad_gate_value_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    result = build(tmp_path, monkeypatch, openai_server, "lenient")
    assert result.exit_code == 2
    assert "quality_gate" in result.output.lower()
    assert openai_server.count == 0


def test_plan_says_what_the_gate_may_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outline = tmp_path / "review.yaml"
    outline.write_text(OUTLINE, encoding="utf-8")
    env = {"VRA_HYBRID_MODE": "true", "SECONDARY_PROVIDER": "embedded", "QUALITY_GATE": "repair"}
    result = runner.invoke(app, ["plan", str(outline)], env=env)
    assert result.exit_code == 0, result.output
    assert "quality gate: repair; a step whose text fails a check gets up to 1 repair" in (
        " ".join(result.stdout.split())
    )
    env["QUALITY_GATE"] = "report"
    result = runner.invoke(app, ["plan", str(outline)], env=env)
    assert "quality gate: report (no repair or escalation call)" in result.stdout


def test_batch_shows_each_reports_checks_and_exits_3_under_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    openai_server.reply = lambda body: "Revenue rose 250% in the quarter.\n\nThat is all."
    for key, value in {
        "OPENAI_API_KEY": "sk-test-key-1234",
        "OPENAI_BASE_URL": openai_server.url,
        "SECONDARY_PROVIDER": "embedded",
        "QUALITY_GATE": "strict",
    }.items():
        monkeypatch.setenv(key, value)
    folder = tmp_path / "outlines"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.yaml").write_text(OUTLINE, encoding="utf-8")
    result = runner.invoke(app, ["batch", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "checks" in result.stdout and result.stdout.count("0/1") == 2
    assert "2 written, 0 failed, 0 invalid" in result.stdout
    assert "QUALITY_GATE=strict: 2 report(s)" in result.stderr
