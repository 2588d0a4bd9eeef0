"""The provider seam: a kind defined in a test, registered, and built with through the real CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from reporting.cli import app
from reporting.errors import ConfigError
from reporting.providers.base import PREFLIGHT_TIMEOUT, ProviderCheck
from reporting.providers.registry import known_names, provider, register, unregister
from reporting.settings import Settings, load_settings

runner = CliRunner()


class FakeKind:
    """A provider kind that exists only in these tests: numbered fixed text, no network."""

    abstract_on_primary = True

    def __init__(self, name: str, *, cloud: bool = False) -> None:
        self.names = (name,)
        self.cloud = cloud
        self.calls = 0
        self.models: list[str] = []

    def _replies(self, model: str) -> Iterator[AIMessage]:
        for number in itertools.count(1):
            self.calls += 1
            text = f"The {self.names[0]} kind wrote paragraph {number} with {model}."
            usage = {"input_tokens": 10, "output_tokens": 8, "total_tokens": 18}
            yield AIMessage(text, usage_metadata=usage)

    def default_model(self, settings: Settings) -> str:
        return f"{self.names[0]}-1"

    def chat_model(
        self, model: str, settings: Settings, resources: AsyncExitStack | None = None
    ) -> BaseChatModel:
        self.models.append(model)
        return GenericFakeChatModel(messages=self._replies(model))

    def call_options(self, max_tokens: int, temperature: float, attempt: int) -> dict[str, Any]:
        return {}

    def check(
        self, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
    ) -> ProviderCheck:
        return ProviderCheck(self.names[0], model, True, "ready in memory")

    def max_concurrency(self, configured: int) -> int:
        return configured

    def missing_setting(self, settings: Settings) -> str | None:
        return None

    def demonstration_model(self, settings: Settings) -> str | None:
        return None


@pytest.fixture
def fake_kind() -> Iterator[FakeKind]:
    """A local fake kind named `fake`, registered for one test."""
    kind = FakeKind("fake")
    register(kind)
    yield kind
    unregister(kind)


@pytest.fixture
def cloud_kind() -> Iterator[FakeKind]:
    """A fake kind named `fakecloud` whose calls are cloud calls, registered for one test."""
    kind = FakeKind("fakecloud", cloud=True)
    register(kind)
    yield kind
    unregister(kind)


def build(outline: Path, out: Path) -> dict[str, Any]:
    """Build through the CLI and return the manifest."""
    result = runner.invoke(app, ["build", str(outline), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest: dict[str, Any] = json.loads((out / "fleet.run.json").read_text(encoding="utf-8"))
    return manifest


def test_a_registered_kind_builds_a_report_through_the_cli(
    fake_kind: FakeKind, monkeypatch: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    monkeypatch.setenv("PRIMARY_PROVIDER", "fake")
    monkeypatch.setenv("PRIMARY_MODEL", "fake-large")
    monkeypatch.setenv("SECONDARY_PROVIDER", "FAKE")  # names are case-insensitive
    monkeypatch.setenv("SECONDARY_MODEL", "fake-small")
    manifest = build(outline_file, tmp_path / "out")
    markdown = (tmp_path / "out" / "fleet.md").read_text(encoding="utf-8")
    assert "The fake kind wrote paragraph" in markdown
    assert {call["provider"] for call in manifest["calls"]} == {"fake"}
    assert {call["model"] for call in manifest["calls"]} == {"fake-large", "fake-small"}
    assert {call["role"] for call in manifest["calls"]} == {"primary", "secondary"}
    assert sorted(fake_kind.models) == ["fake-large", "fake-small"]  # one model each, reused
    assert fake_kind.calls == len(manifest["calls"])
    assert manifest["metrics"]["cloud_calls"] == 0
    assert not any(call["cloud"] for call in manifest["calls"])


def test_a_cloud_kind_counts_against_max_cloud_calls(
    fake_kind: FakeKind,
    cloud_kind: FakeKind,
    monkeypatch: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PRIMARY_PROVIDER", "fakecloud")
    monkeypatch.setenv("SECONDARY_PROVIDER", "fake")
    monkeypatch.setenv("MAX_CLOUD_CALLS", "2")
    manifest = build(outline_file, tmp_path / "out")
    cloud = [call for call in manifest["calls"] if call["provider"] == "fakecloud"]
    assert len(cloud) == cloud_kind.calls == manifest["metrics"]["cloud_calls"] == 2
    assert all(call["cloud"] for call in cloud)
    local = [call for call in manifest["calls"] if call["provider"] == "fake"]
    assert local and not any(call["cloud"] for call in local)
    assert {call["reason"] for call in local} == {"COST_LIMIT"}
    assert fake_kind.calls == len(local)


def test_doctor_shows_the_kind_a_provider_declares(
    fake_kind: FakeKind, cloud_kind: FakeKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIMARY_PROVIDER", "fakecloud")
    monkeypatch.setenv("SECONDARY_PROVIDER", "fake")
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("primary: fakecloud ") and lines[0].endswith("(cloud)")
    assert any(line.startswith("secondary: fake ") and line.endswith("(local)") for line in lines)


def test_an_unknown_name_lists_the_registered_ones(
    fake_kind: FakeKind, monkeypatch: pytest.MonkeyPatch, outline_file: Path
) -> None:
    monkeypatch.setenv("SECONDARY_PROVIDER", "nope")
    result = runner.invoke(app, ["build", str(outline_file)], catch_exceptions=False)
    assert result.exit_code == 2
    expected = "unknown provider 'nope'; use one of: embedded, fake, local, ollama, openai"
    assert f"SECONDARY_PROVIDER: {expected}" in result.stderr
    with pytest.raises(ConfigError, match=f"PRIMARY_PROVIDER: {expected}"):
        load_settings(primary_provider="nope", secondary_provider="fake")
    with pytest.raises(ConfigError, match=expected):
        provider("nope")


def test_unregistering_forgets_every_name() -> None:
    kind = FakeKind("transient")
    register(kind)
    assert provider("transient") is kind
    unregister(kind)
    assert "transient" not in known_names()
    assert known_names() == ["embedded", "local", "ollama", "openai"]


def test_a_name_cannot_be_registered_twice_or_in_capitals(fake_kind: FakeKind) -> None:
    with pytest.raises(ValueError, match="already registered: fake"):
        register(FakeKind("fake"))
    with pytest.raises(ValueError, match="lower-case"):
        register(FakeKind("Shouty"))
    assert provider("fake") is fake_kind
    assert "shouty" not in known_names()


def test_the_built_in_kinds_state_their_facts() -> None:
    assert provider("local") is provider("ollama")
    assert [provider(name).cloud for name in ("openai", "local", "embedded")] == [
        True,
        False,
        False,
    ]
    # The abstract leaves the primary only when the primary is Ollama.
    assert not provider("ollama").abstract_on_primary
    assert provider("openai").abstract_on_primary and provider("embedded").abstract_on_primary
    assert provider("embedded").max_concurrency(8) == 1
    assert provider("openai").max_concurrency(8) == 8
    assert provider("embedded").call_options(100, 0.2, 3)["seed"] == 2


def test_importing_the_registry_loads_no_model_library() -> None:
    code = (
        "import sys, reporting.providers.registry, reporting.settings\n"
        "heavy = ('langchain_core', 'langchain_openai', 'langchain_ollama', 'llama_cpp',\n"
        "         'openai', 'httpx')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
