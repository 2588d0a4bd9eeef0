"""Shared fixtures: a clean environment and working folder for every test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import OllamaServer, OpenAIServer
from redis_server import RedisServer, Unavailable, redis_server

# Imported at collection, not inside a test: llama_cpp opens /dev/null at import, and under
# `filterwarnings = error` a first import inside a test makes the interpreter warn at exit.
import reporting.providers.embedded_chat  # noqa: F401
from reporting.settings import Settings

# A key that must never appear in any output.
PLANTED_KEY = "sk-planted-4f1c9a2b7d3e8f60"

EXAMPLE_OUTLINE = """\
title: Fleet Telemetry Platform — Annual Report
author: Platform Reliability Group
audience: engineering leadership
sections:
  - title: Introduction
    brief: Why the platform was rebuilt.
    points: [ingestion grew fourfold]
    words: 80
  - title: Background
    brief: The old pipeline.
    sections:
      - title: Previous architecture
        type: implementation
        brief: Batch jobs every hour.
      - title: Data loss during peaks
        type: analysis
        brief: Why peaks lost data.
  - title: Method
    brief: How the rebuild was run.
  - title: Results
    brief: What changed.
  - title: Analysis
    brief: What the numbers mean.
  - title: Recommendations
    brief: What to do next.
  - title: Conclusion
    brief: Summary.
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No setting leaks in from the machine, and no .env from the repository is read."""
    names = {name.upper() for name in Settings.model_fields} | {"REPORT_PROVIDER"}
    for variable in list(os.environ):
        if variable.upper() in names or variable.upper().startswith(("OPENAI_", "OLLAMA_")):
            monkeypatch.delenv(variable, raising=False)
    # Tests of routing, faults and budgets count calls: the quality gate, which may add repair
    # calls, is off unless a test turns it on (tests/compiler/test_quality_gate.py and others).
    monkeypatch.setenv("QUALITY_GATE", "off")
    # Loopback traffic stays direct even if the machine sets an HTTP proxy.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A loopback server speaking OpenAI's /v1/chat/completions."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    """A loopback server speaking Ollama's /api/chat."""
    with OllamaServer() as server:
        yield server


def missing_service(reason: str) -> None:
    """A real service the tests need cannot start: a failure in CI (which installs it), else a skip.

    A developer without Debian's packages still runs the rest; CI never hides a missing server.
    """
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests/redis_server.py); see `missing_service`."""
    try:
        with redis_server() as server:
            yield server
    except Unavailable as exc:
        missing_service(f"no Redis server: {exc}")


@pytest.fixture
def redis_url(redis_session: RedisServer) -> Iterator[str]:
    """The session's Redis, emptied after each test."""
    yield redis_session.url
    import redis

    with redis.Redis.from_url(redis_session.url) as client:
        client.flushdb()


@pytest.fixture
def hybrid_env(
    monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> pytest.MonkeyPatch:
    """Environment of a hybrid build against both loopback servers, without backoff waits."""
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    monkeypatch.setenv("RETRY_BACKOFF_MAX", "0")
    monkeypatch.setenv("REQUEST_TIMEOUT", "5")
    return monkeypatch


@pytest.fixture
def outline_file(tmp_path: Path) -> Path:
    """A 7-section outline with subsections, written to a file."""
    path = tmp_path / "fleet.yaml"
    path.write_text(EXAMPLE_OUTLINE, encoding="utf-8")
    return path


def report_files(out: Path) -> list[Path]:
    """Files a build wrote to an output folder, leaving out the phase cache."""
    if not out.exists():
        return []
    return sorted(p for p in out.iterdir() if p.name != ".report_cache")


def read_manifest(out: Path, stem: str = "fleet") -> dict[str, Any]:
    """The run manifest a build wrote to an output folder."""
    data: dict[str, Any] = json.loads((out / f"{stem}.run.json").read_text(encoding="utf-8"))
    return data
