"""The real CLI, ChatOpenAI and ChatOllama against loopback servers that count requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PLANTED_KEY, read_manifest, report_files
from docx import Document
from loopback import Fault, OllamaServer, OpenAIServer, always, refused_url
from typer.testing import CliRunner

from reporting.cli import app
from reporting.outline.loader import load_outline
from reporting.routing.plan import make_plan
from reporting.routing.roles import Role
from reporting.settings import load_settings

runner = CliRunner()


def _build(outline: Path, out: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["build", str(outline), "--out", str(out)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("hybrid_env")
def test_hybrid_build_sends_each_server_exactly_its_matrix_calls(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    plan = make_plan(load_outline(outline_file), load_settings())
    code, stdout, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    primary_steps = [s for s in plan.steps if s.role is Role.PRIMARY]
    assert openai_server.count == len(primary_steps) == plan.cloud_calls
    assert ollama_server.count == len(plan.steps) - len(primary_steps)
    assert set(openai_server.models_seen) == {"gpt-4o"}
    assert set(ollama_server.models_seen) == {"llama3:8b"}
    manifest = read_manifest(tmp_path / "out")
    assert manifest["metrics"]["cloud_calls"] == openai_server.count
    assert [c["provider"] for c in manifest["calls"]] == [s.provider.name for s in plan.steps]
    assert "[Hybrid] Phase=REFINE | Section=1 | Provider=OPENAI | Model=gpt-4o" in stderr
    assert "Traceback" not in stderr
    assert "wrote" in stdout


@pytest.mark.usefixtures("hybrid_env")
def test_outputs_have_the_outline_headings_in_order(outline_file: Path, tmp_path: Path) -> None:
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    outline = load_outline(outline_file)
    expected = [f"{s.id} {s.title}" for s in outline.walk()]
    markdown = (tmp_path / "out" / "fleet.md").read_text(encoding="utf-8")
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("##")]
    assert headings == expected
    document = Document(str(tmp_path / "out" / "fleet.docx"))
    docx_headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert docx_headings == expected
    levels = [p.style.name for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert levels[:4] == ["Heading 1", "Heading 1", "Heading 2", "Heading 2"]
    assert document.core_properties.title == outline.title
    assert document.core_properties.author == outline.author


def test_cost_limit_caps_the_cloud_server_and_keeps_the_abstract_primary(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", "3")
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count <= 3
    manifest = read_manifest(tmp_path / "out")
    abstract = manifest["calls"][-1]
    assert (abstract["phase"], abstract["role"], abstract["provider"]) == (
        "ABSTRACT",
        "primary",
        "openai",
    )
    assert "Event=FALLBACK | Reason=COST_LIMIT" in stderr


def test_cost_limit_holds_with_retries_against_a_failing_cloud(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", "4")
    hybrid_env.setenv("MAX_RETRIES", "3")
    openai_server.faults = always(Fault.http(503))
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count <= 4
    assert read_manifest(tmp_path / "out")["metrics"]["cloud_calls"] == openai_server.count


def test_primary_that_always_fails_still_yields_the_report(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    openai_server.faults = always(Fault.http(500))
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    manifest = read_manifest(tmp_path / "out")
    assert all(call["role"] == "secondary" for call in manifest["calls"])
    assert "Event=FALLBACK | Reason=ERROR | From=PRIMARY | To=SECONDARY | Error=HTTP 500" in stderr
    assert "Event=CIRCUIT_OPEN" in stderr
    assert manifest["metrics"]["cloud_calls"] == openai_server.count
    assert ollama_server.count == len(manifest["calls"])


def test_both_providers_failing_exits_1_and_writes_nothing(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    openai_server.faults = always(Fault.http(500))
    ollama_server.faults = always(Fault.http(500))
    out = tmp_path / "out"
    code, _, stderr = _build(outline_file, out)
    assert code == 1
    assert "Event=FALLBACK_FAILED" in stderr
    assert "Event=FAILED" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error (generation failed): ")
    assert "Traceback" not in stderr
    assert report_files(out) == []


def test_unreachable_secondary_is_a_config_error_naming_the_fix(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("OLLAMA_HOST", refused_url())
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 2
    assert "secondary provider local (llama3:8b) is unavailable" in stderr
    assert "ollama serve" in stderr
    assert openai_server.count == 0


def test_missing_model_on_ollama_names_the_pull(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path
) -> None:
    hybrid_env.setenv("SECONDARY_MODEL", "qwen3:32b")
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 2
    assert "ollama pull qwen3:32b" in stderr


def test_primary_without_key_is_planned_around_from_the_start(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.delenv("OPENAI_API_KEY")
    code, stdout, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count == 0
    # No primary was configured: its steps are planned on the secondary, none falls back.
    assert "Event=FALLBACK" not in stderr
    assert stderr.count("Event=NO_PRIMARY | Provider=OPENAI | Missing=OPENAI_API_KEY") == 1
    manifest = read_manifest(tmp_path / "out")
    assert ollama_server.count == len(manifest["calls"])
    planned = [c for c in manifest["calls"] if c["reason"] == "NO_PRIMARY"]
    assert len(planned) == 15  # every step the matrix gives the primary, the abstract included
    assert all(c["fallback"] is None and c["role"] == "secondary" for c in planned)
    metrics = manifest["metrics"]
    assert metrics["fallbacks"] == {}
    assert metrics["baseline_usd"] == metrics["saving_usd"] == 0  # never a cloud option
    assert "no cloud primary (OPENAI_API_KEY unset)" in stdout
    assert "fallbacks" not in stdout
    assert manifest["demonstration_model"] is None  # Ollama wrote it: no demonstration note
    assert "demonstration model" not in stdout + stderr
    assert "demonstration" not in (tmp_path / "out" / "fleet.md").read_text(encoding="utf-8")


def test_secondary_dying_mid_report_exits_1_and_writes_nothing(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("MAX_RETRIES", "0")
    ollama_server.faults = lambda n, body: Fault.reset() if n > 4 else None
    out = tmp_path / "out"
    code, _, stderr = _build(outline_file, out)
    assert code == 1
    assert "connection failed" in stderr
    assert report_files(out) == []


def test_rate_limit_with_retry_after_is_retried(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("RETRY_BACKOFF_MAX", "1")
    hybrid_env.setenv("MAX_CLOUD_CALLS", "20")  # leave spare calls for the retry
    openai_server.faults = [Fault.rate_limit(retry_after=0.05)]
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    manifest = read_manifest(tmp_path / "out")
    assert manifest["metrics"]["retries"] == 1
    assert "Event=RETRY | Provider=OPENAI | Attempt=2 | Wait=0.1s | Error=HTTP 429" in stderr
    assert all(call["fallback"] is None for call in manifest["calls"])
    assert openai_server.count == manifest["metrics"]["cloud_calls"]


def test_slow_primary_times_out_and_falls_back(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("REQUEST_TIMEOUT", "2")  # generous for the healthy secondary under load
    hybrid_env.setenv("MAX_RETRIES", "0")
    openai_server.faults = [Fault.slow(8)]
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert "Error=request timed out" in stderr
    assert read_manifest(tmp_path / "out")["metrics"]["fallbacks"] == {"ERROR": 1}


def test_model_unknown_at_call_time_is_not_retried(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("PRIMARY_MAX_CONCURRENCY", "1")
    openai_server.faults = always(Fault.http(404, "The model `gpt-4o` does not exist"))
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count == 3  # one request per step until the breaker opens
    assert "HTTP 404: model 'gpt-4o' not found" in stderr
    assert "Event=RETRY" not in stderr


def test_model_not_offered_is_caught_by_preflight(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("PRIMARY_MODEL", "gpt-nonexistent")
    code, _, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    assert openai_server.count == 0
    assert "model 'gpt-nonexistent' is not offered" in stderr
    assert "Reason=UNAVAILABLE | Provider=OPENAI" in stderr


@pytest.mark.usefixtures("hybrid_env")
def test_no_secret_in_any_output(outline_file: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _build(outline_file, tmp_path / "out")
    assert code == 0, stderr
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():  # the cache included
            assert PLANTED_KEY.encode() not in path.read_bytes(), path

    assert PLANTED_KEY not in stdout + stderr


def test_broken_outline_exits_2_naming_file_and_place(
    hybrid_env: pytest.MonkeyPatch, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: T\nsections:\n  - title: A\n  - brief: no title\n    wrods: 5\n")
    code, _, stderr = _build(bad, tmp_path / "out")
    assert code == 2
    assert f"{bad}: sections[2].title: field required" in stderr
    assert f"{bad}: sections[2].wrods: unknown key (did you mean 'words'?)" in stderr
    assert openai_server.count == 0
    assert "Traceback" not in stderr
