"""The out-of-the-box state as it is: no primary is no fallback; the demonstration model says so."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from conftest import read_manifest
from docx import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from loopback import Fault, OllamaServer, OpenAIServer, always
from rich.console import Console
from typer.testing import CliRunner

from reporting.build import build_report
from reporting.cli import app
from reporting.cli.progress import LiveProgress
from reporting.providers.embedded import EmbeddedProvider
from reporting.settings import Settings, load_settings

runner = CliRunner()
NOTE = "Draft written by the SmolLM2-135M demonstration model."
TERMINAL_NOTE = (
    "note: the text was written by the SmolLM2-135M demonstration model; "
    "configure Ollama or OpenAI for real reports (README)"
)
OUTLINE = """\
title: Storage Cluster Upgrade
author: Platform Reliability Group
date: 2026-10-01
sections:
  - title: Introduction
    brief: Why the storage cluster was upgraded.
    words: 40
  - title: Results
    brief: What the upgrade changed.
    words: 40
"""


def _replies() -> Iterator[AIMessage]:
    for number in itertools.count(1):
        usage = {"input_tokens": 10, "output_tokens": 8, "total_tokens": 18}
        yield AIMessage(
            f"The cluster now has new disks, said paragraph {number}.", usage_metadata=usage
        )  # type: ignore[arg-type]


@pytest.fixture
def embedded_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded kind answers from memory: real preflight, routing and notes; no llama.cpp."""

    def chat_model(
        self: EmbeddedProvider,
        model: str,
        settings: Settings,
        resources: AsyncExitStack | None = None,
    ) -> BaseChatModel:
        return GenericFakeChatModel(messages=_replies())

    monkeypatch.setattr(EmbeddedProvider, "chat_model", chat_model)


@pytest.fixture
def outline(tmp_path: Path) -> Path:
    """A two-section outline with a byline."""
    path = tmp_path / "upgrade.yaml"
    path.write_text(OUTLINE, encoding="utf-8")
    return path


def _shipped_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped .env: hybrid on, the embedded secondary, no OPENAI_API_KEY."""
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")


def _build(outline: Path, out: Path) -> tuple[str, str]:
    result = runner.invoke(app, ["build", str(outline), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.mark.usefixtures("embedded_fake")
def test_the_shipped_default_counts_no_fallback_and_says_who_wrote_it(
    outline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shipped_env(monkeypatch)
    out = tmp_path / "out"
    for attempt in ("cold", "cached"):  # a rebuild from the cache is no different
        stdout, stderr = _build(outline, out)
        manifest = read_manifest(out, "upgrade")
        summary = stdout.strip().splitlines()[-1]
        assert re.search(
            r": 7 steps \((0|7) from cache\), no cloud primary \(OPENAI_API_KEY unset\), "
            r"[\d.]+ s$",
            summary,
        ), (attempt, summary)
        assert "fallback" not in stdout
        assert "Event=FALLBACK" not in stderr
        assert stderr.count("Event=NO_PRIMARY | Provider=OPENAI | Missing=OPENAI_API_KEY") == 1
        # The terminal says once who wrote the text, after the summary.
        assert stderr.count("demonstration model") == 1
        assert stderr.rstrip().endswith(TERMINAL_NOTE)
        assert manifest["metrics"]["fallbacks"] == {}
        assert {c["reason"] for c in manifest["calls"]} == {"MATRIX", "NO_PRIMARY"}
        assert all(c["fallback"] is None for c in manifest["calls"])
        assert manifest["demonstration_model"] == "SmolLM2-135M"
        assert manifest["settings"]["demo_note"] is True
    assert manifest["metrics"]["cache_hits"] == 7
    # The document says it too, right under the byline.
    markdown = (out / "upgrade.md").read_text(encoding="utf-8")
    assert markdown.startswith(
        f"# Storage Cluster Upgrade\n\n*Platform Reliability Group · 1 October 2026*\n\n"
        f"> *{NOTE}*\n\n**Abstract.**"
    )
    # In the DOCX the note is the title block's Subtitle, on page 1 above the byline.
    paragraphs = [p for p in Document(str(out / "upgrade.docx")).paragraphs if p.text]
    shown = [(p.style.name, p.text) for p in paragraphs[1:4]]
    assert shown == [
        ("Subtitle", NOTE),
        ("Author", "Platform Reliability Group · 1 October 2026"),
        ("Abstract Title", "Abstract"),
    ]
    assert markdown.count("demonstration model") == 1


@pytest.mark.usefixtures("embedded_fake")
def test_demo_note_false_keeps_the_note_out_of_the_document_only(
    outline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shipped_env(monkeypatch)
    monkeypatch.setenv("DEMO_NOTE", "false")
    out = tmp_path / "out"
    _, stderr = _build(outline, out)
    assert "demonstration model" not in (out / "upgrade.md").read_text(encoding="utf-8")
    texts = [p.text for p in Document(str(out / "upgrade.docx")).paragraphs]
    assert not any("demonstration model" in text for text in texts)
    assert stderr.count(TERMINAL_NOTE) == 1  # the person running it is still told
    assert read_manifest(out, "upgrade")["demonstration_model"] == "SmolLM2-135M"


@pytest.mark.usefixtures("embedded_fake")
def test_another_embedded_model_is_no_demonstration(
    outline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shipped_env(monkeypatch)
    model = tmp_path / "bigger.gguf"
    model.write_bytes(b"GGUF" + bytes(60))  # preflight reads only the magic number
    monkeypatch.setenv("EMBEDDED_MODEL_PATH", str(model))
    out = tmp_path / "out"
    stdout, stderr = _build(outline, out)
    assert {c["provider"] for c in read_manifest(out, "upgrade")["calls"]} == {"embedded"}
    assert read_manifest(out, "upgrade")["demonstration_model"] is None
    assert "demonstration model" not in stdout + stderr
    assert "demonstration model" not in (out / "upgrade.md").read_text(encoding="utf-8")


@pytest.mark.usefixtures("embedded_fake", "hybrid_env")
def test_no_note_when_the_demonstration_model_wrote_nothing(
    outline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    # The embedded model is the secondary, but with hybrid mode off the primary writes all.
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")
    monkeypatch.setenv("VRA_HYBRID_MODE", "false")
    out = tmp_path / "out"
    stdout, stderr = _build(outline, out)
    assert openai_server.count == 7
    assert read_manifest(out, "upgrade")["demonstration_model"] is None
    assert "demonstration model" not in stdout + stderr
    assert "demonstration model" not in (out / "upgrade.md").read_text(encoding="utf-8")
    assert ", 0 fallbacks, " in stdout  # a configured primary keeps its count


def _marks(progress: LiveProgress) -> set[str]:
    """The final mark of every cell of the live table: ✓, ↺ or ✗."""
    return {cell.split("]", 1)[1].split()[0] for cell in progress.cells.values()}


def test_progress_shows_no_fallback_mark_without_a_primary(
    hybrid_env: pytest.MonkeyPatch, outline: Path, tmp_path: Path, ollama_server: OllamaServer
) -> None:
    hybrid_env.delenv("OPENAI_API_KEY")
    progress = LiveProgress(Console(file=io.StringIO(), width=120))
    result = build_report(outline, tmp_path / "out", load_settings(), observer=progress)
    progress.close()
    assert _marks(progress) == {"✓"}
    assert result.summary.fallbacks == 0 and result.summary.no_primary == "OPENAI_API_KEY"
    assert ollama_server.count == 7


def test_a_configured_primary_failing_still_falls_back_and_says_so(
    hybrid_env: pytest.MonkeyPatch,
    outline: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    hybrid_env.setenv("MAX_RETRIES", "0")
    openai_server.faults = always(Fault.http(500, "server error"))
    progress = LiveProgress(Console(file=io.StringIO(), width=120))
    result = build_report(outline, tmp_path / "out", load_settings(), observer=progress)
    progress.close()
    fallbacks = result.record["metrics"]["fallbacks"]
    assert fallbacks and set(fallbacks) <= {"ERROR", "CIRCUIT_OPEN"}
    assert "↺" in _marks(progress)
    assert [c["reason"] for c in result.record["calls"]].count("NO_PRIMARY") == 0
    assert result.summary.no_primary is None
    # And the terminal counts them, as before.
    openai_server.faults = always(Fault.http(500, "server error"))
    built = runner.invoke(
        app, ["build", str(outline), "--out", str(tmp_path / "cli"), "--no-cache"]
    )
    assert built.exit_code == 0, built.output
    count = sum(read_manifest(tmp_path / "cli", "upgrade")["metrics"]["fallbacks"].values())
    assert count > 0 and f", {count} fallbacks, " in built.stdout


@pytest.mark.parametrize("key", [None, "sk-test-key-1234"])
def test_plan_and_dashboard_agree_on_the_saving(
    hybrid_env: pytest.MonkeyPatch, outline: Path, tmp_path: Path, key: str | None
) -> None:
    if key is None:
        hybrid_env.delenv("OPENAI_API_KEY")
    planned = runner.invoke(app, ["plan", str(outline)], env={"COLUMNS": "200"})
    assert planned.exit_code == 0, planned.output
    plan_text = " ".join(planned.stdout.split())
    _build(outline, tmp_path / "out")
    html = tmp_path / "dash.html"
    shown = runner.invoke(app, ["stats", str(tmp_path / "out"), "--html", str(html)])
    assert shown.exit_code == 0, shown.output
    stats = json.loads(runner.invoke(app, ["stats", str(tmp_path / "out"), "--json"]).stdout)
    page = re.sub(r"\s+", " ", html.read_text(encoding="utf-8"))
    if key is None:  # never a cloud option: neither shows a saving
        assert "no cloud primary (OPENAI_API_KEY is not set): no all-cloud baseline, no saving" in (
            plan_text
        )
        assert "saving $" not in plan_text
        assert "nothing to save against" in page and "of the baseline" not in page
        assert stats["cloud_primary_runs"] == 0 and stats["fallbacks"] == {}
        assert "no run had a cloud primary" in shown.stdout + page
    else:  # a cloud primary: both show the saving against it
        assert re.search(r"all-cloud \(saving \$\d\.\d{4}\)", plan_text)
        assert "of the baseline" in page and "nothing to save against" not in page
        assert stats["cloud_primary_runs"] == 1 and stats["saving"] > 0


@pytest.mark.usefixtures("embedded_fake")
def test_batch_says_once_that_the_demonstration_model_wrote(
    outline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shipped_env(monkeypatch)
    folder = tmp_path / "outlines"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.yaml").write_text(OUTLINE, encoding="utf-8")
    result = runner.invoke(app, ["batch", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 written, 0 failed, 0 invalid" in result.stdout
    assert result.stderr.count(TERMINAL_NOTE) == 1  # two reports, one line
    for name in ("one", "two"):
        assert NOTE in (tmp_path / "out" / f"{name}.md").read_text(encoding="utf-8")
