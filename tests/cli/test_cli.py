"""The CLI as a user runs it: plan, build with the embedded model, version, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from loopback import OllamaServer, OpenAIServer
from typer.testing import CliRunner

from reporting.cli import app
from reporting.version import __version__

runner = CliRunner()

TINY = """\
title: Tiny Report
sections:
  - title: Introduction
    brief: Say hello to the reader.
    words: 20
"""


def test_plan_prints_every_step_and_sends_nothing(outline_file: Path) -> None:
    result = runner.invoke(
        app,
        ["plan", str(outline_file)],
        env={"VRA_HYBRID_MODE": "true", "SECONDARY_PROVIDER": "embedded"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "cloud calls: 0 planned of 15 allowed" in result.stdout
    assert "NO_PRIMARY" in result.stdout and "UNAVAILABLE" not in result.stdout
    # No cloud primary: no all-cloud baseline and no saving to show.
    assert "no cloud primary (OPENAI_API_KEY is not set): no all-cloud baseline, no saving" in (
        " ".join(result.stdout.split())
    )
    assert "saving $" not in result.stdout
    assert result.stdout.count("ABSTRACT") == 1


@pytest.mark.slow
def test_build_offline_with_the_embedded_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The shipped defaults: no key, no Ollama; every call runs in-process.
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")
    monkeypatch.setenv("SECONDARY_MODEL", "smollm2-135m-instruct")
    outline = tmp_path / "tiny.yaml"
    outline.write_text(TINY, encoding="utf-8")
    result = runner.invoke(
        app, ["build", str(outline), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "tiny.run.json").read_text(encoding="utf-8"))
    assert {call["provider"] for call in manifest["calls"]} == {"embedded"}
    assert manifest["metrics"]["cloud_calls"] == 0
    assert all(call["output_tokens"] > 0 for call in manifest["calls"])
    markdown = (tmp_path / "out" / "tiny.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Tiny Report\n")
    assert "## 1 Introduction" in markdown
    assert "Event=NO_PRIMARY | Provider=OPENAI" in result.stderr
    assert "Event=FALLBACK" not in result.stderr
    assert manifest["demonstration_model"] == "SmolLM2-135M"
    assert "> *Draft written by the SmolLM2-135M demonstration model.*" in markdown
    assert result.stderr.count("note: the text was written by the SmolLM2-135M") == 1


def test_version() -> None:
    result = runner.invoke(app, ["--version"], catch_exceptions=False)
    assert result.stdout.strip() == f"reporting {__version__}"


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "reporting", "plan", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"{bad}: line 2, column 1: invalid YAML" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_setting_is_exit_2(outline_file: Path) -> None:
    result = runner.invoke(
        app, ["plan", str(outline_file)], env={"MAX_CLOUD_CALLS": "many"}, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "MAX_CLOUD_CALLS: input should be a valid integer" in result.stderr.lower() or (
        "MAX_CLOUD_CALLS" in result.stderr
    )


def test_missing_outline_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", str(tmp_path / "nope.yaml")], catch_exceptions=False)
    assert result.exit_code == 2
    assert "nope.yaml: file not found" in result.stderr


@pytest.mark.slow
def test_setting_a_key_brings_the_primary_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # The shipped .env (embedded secondary) plus a key and a server: nothing else edited.
    (tmp_path / ".env").write_text(
        (Path(__file__).parents[2] / ".env.example").read_text(encoding="utf-8")
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    outline = tmp_path / "tiny.yaml"
    outline.write_text(TINY, encoding="utf-8")
    result = runner.invoke(
        app, ["build", str(outline), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "tiny.run.json").read_text(encoding="utf-8"))
    by_role = {(c["phase"], c["provider"]) for c in manifest["calls"]}
    # An intro: DRAFT and REFINE on the primary, EXPAND embedded, ABSTRACT primary.
    assert by_role == {
        ("DRAFT", "openai"),
        ("EXPAND", "embedded"),
        ("REFINE", "openai"),
        ("ABSTRACT", "openai"),
    }
    assert openai_server.count == 3


COMMANDS = ["build", "batch", "plan", "check", "compare", "stats", "doctor", "worker"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_answers_to_h_and_shows_no_bool_placeholder(command: str) -> None:
    short = runner.invoke(app, [command, "-h"], env={"COLUMNS": "120"})
    long = runner.invoke(app, [command, "--help"], env={"COLUMNS": "120"})
    assert short.exit_code == 0 and short.stdout == long.stdout
    assert "<bool>" not in short.stdout
    assert "-h" in short.stdout  # listed beside --help


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "doctor"])
def test_help_gives_examples(command: str) -> None:
    result = runner.invoke(app, [command, "-h"], env={"COLUMNS": "120"})
    assert "Examples:" in result.stdout
    assert f"report {command} " in result.stdout


def test_doctor_never_cuts_a_settings_name_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, ollama_server: OllamaServer
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    result = runner.invoke(app, ["doctor"], env={"COLUMNS": "80"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "primary: openai gpt-4o (cloud)",
        "  unavailable: OPENAI_API_KEY is not set",
        "  fix: add OPENAI_API_KEY to .env, or use another provider",
    ]
    assert "…" not in result.stdout


def test_stats_prints_tables_not_python_values(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", "2")  # some steps fall back: a count by reason
    out = tmp_path / "out"
    assert runner.invoke(app, ["build", str(outline_file), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["stats", str(out)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["calls"].endswith(" (0 from cache)")
    assert rows["fallbacks"].startswith("COST_LIMIT ")
    assert "{" not in result.stdout and "'" not in result.stdout
