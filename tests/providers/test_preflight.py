"""Preflight verdicts for each provider state, and `report doctor`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PLANTED_KEY
from loopback import OllamaServer, OpenAIServer, refused_url
from typer.testing import CliRunner

from reporting.cli import app
from reporting.providers.ollama import ollama_base_url
from reporting.providers.registry import provider
from reporting.settings import load_settings

runner = CliRunner()


def test_openai_without_key(openai_server: OpenAIServer) -> None:
    check = provider("openai").check("gpt-4o", load_settings(openai_base_url=openai_server.url))
    assert (check.ok, check.status) == (False, "OPENAI_API_KEY is not set")
    assert "OPENAI_API_KEY" in check.fix
    assert openai_server.requests == []


def test_openai_ready(openai_server: OpenAIServer) -> None:
    settings = load_settings(openai_api_key=PLANTED_KEY, openai_base_url=openai_server.url)
    check = provider("openai").check("gpt-4o", settings)
    assert check.ok
    assert openai_server.count == 0  # listing models is not a chat call


def test_openai_server_down() -> None:
    settings = load_settings(openai_api_key=PLANTED_KEY, openai_base_url=refused_url("/v1"))
    check = provider("openai").check("gpt-4o", settings, timeout=2)
    assert not check.ok
    assert "is not reachable" in check.status
    assert "OPENAI_BASE_URL" in check.fix


def test_openai_key_refused() -> None:
    with OpenAIServer(api_key="sk-the-right-one") as server:
        settings = load_settings(openai_api_key=PLANTED_KEY, openai_base_url=server.url)
        check = provider("openai").check("gpt-4o", settings)
    assert not check.ok
    assert "refused" in check.status
    assert PLANTED_KEY not in check.status + check.fix


def test_openai_model_not_offered(openai_server: OpenAIServer) -> None:
    settings = load_settings(openai_api_key=PLANTED_KEY, openai_base_url=openai_server.url)
    check = provider("openai").check("gpt-9", settings)
    assert not check.ok
    assert "gpt-4o" in check.fix


def test_ollama_ready_and_model_missing(ollama_server: OllamaServer) -> None:
    settings = load_settings(ollama_host=ollama_server.url)
    assert provider("local").check("llama3:8b", settings).ok
    missing = provider("ollama").check("phi4:14b", settings)
    assert not missing.ok
    assert missing.fix == "run `ollama pull phi4:14b`"


def test_ollama_server_down() -> None:
    check = provider("local").check("llama3:8b", load_settings(ollama_host=refused_url()))
    assert not check.ok
    assert "ollama serve" in check.fix


@pytest.mark.parametrize(
    ("host", "url"),
    [
        (None, "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("https://ollama.example", "https://ollama.example:443"),
        ("http://10.0.0.5:11434/", "http://10.0.0.5:11434"),
    ],
)
def test_ollama_host_is_read_like_the_ollama_client(host: str | None, url: str) -> None:
    assert ollama_base_url(host) == url


def test_embedded_ready_and_missing(tmp_path: Path) -> None:
    assert provider("embedded").check("smollm2", load_settings()).ok
    missing = provider("embedded").check(
        "llama3-8b", load_settings(embedded_model_path=tmp_path / "nope.gguf")
    )
    assert not missing.ok
    assert "EMBEDDED_MODEL_PATH" in missing.fix


def test_doctor_exit_0_when_secondary_is_ready(
    monkeypatch: pytest.MonkeyPatch, ollama_server: OllamaServer
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "OPENAI_API_KEY is not set" in result.stdout
    # No key: no primary at all, not one that failed.
    assert "a build can run on the secondary alone; no primary is configured" in (
        " ".join(result.stdout.split())
    )
    assert "(NO_PRIMARY)" in result.stdout


def test_doctor_says_a_configured_primary_that_is_down_is_routed_around(
    monkeypatch: pytest.MonkeyPatch, ollama_server: OllamaServer
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", refused_url("/v1"))
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "every primary step goes to the secondary (UNAVAILABLE)" in (
        " ".join(result.stdout.split())
    )


def test_doctor_exit_2_when_secondary_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", refused_url())
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", refused_url("/v1"))
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "a build cannot run" in result.stdout
    assert PLANTED_KEY not in result.output


def test_doctor_both_ready(monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    monkeypatch.setenv("SECONDARY_PROVIDER", "embedded")
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "a build can run on both providers" in result.stdout
