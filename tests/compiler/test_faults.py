"""Every transport and protocol fault against the real ChatOpenAI/ChatOllama through loopback."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import report_files
from loopback import (
    Fault,
    FaultFn,
    OllamaServer,
    OpenAIServer,
    always,
    default_reply,
    last_user_text,
    refused_url,
)
from typer.testing import CliRunner

from reporting.cli import app
from reporting.compiler.cache import PhaseCache

runner = CliRunner()

# Prompt fragments that single out one step of the conftest outline.
DRAFT_INTRO = 'Write a plan for its section "Introduction"'
REFINE_INTRO = 'Here is a draft of the section "Introduction"'
# Room for retries: the conftest outline's hybrid plan reserves 15 cloud calls.
ROOMY_BUDGET = "40"

Body = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a CLI build returned and left behind."""

    code: int
    stdout: str
    stderr: str
    out: Path
    seconds: float

    @property
    def manifest(self) -> dict[str, Any]:
        """The run manifest."""
        data: dict[str, Any] = json.loads((self.out / "fleet.run.json").read_text(encoding="utf-8"))
        return data

    @property
    def markdown(self) -> str:
        """The Markdown report."""
        return (self.out / "fleet.md").read_text(encoding="utf-8")

    @property
    def last_stderr_line(self) -> str:
        """The last non-blank stderr line (the one-line cause of a failure)."""
        return self.stderr.strip().splitlines()[-1]

    def call(self, section: str | None, phase: str) -> dict[str, Any]:
        """The manifest record of one step."""
        found: list[dict[str, Any]] = [
            c for c in self.manifest["calls"] if c["section"] == section and c["phase"] == phase
        ]
        assert len(found) == 1, found
        return found[0]

    def cache_entries(self) -> int:
        """Entries of the phase cache the build used."""
        cache = PhaseCache(self.out / ".report_cache")
        try:
            entries = cache.stats().entries
        finally:
            cache.close()
        return entries


def _build(outline: Path, tmp_path: Path) -> Outcome:
    out = tmp_path / "out"
    started = time.monotonic()
    result = runner.invoke(app, ["build", str(outline), "--out", str(out)], catch_exceptions=False)
    seconds = time.monotonic() - started
    return Outcome(result.exit_code, result.stdout, result.stderr, out, seconds)


def _asks(fragment: str) -> Callable[[Body], bool]:
    """A predicate on chat bodies: the last user message contains ``fragment``."""
    return lambda body: fragment in last_user_text(body)


def scoped(fault: Fault, matches: Callable[[Body], bool], times: int | None = None) -> FaultFn:
    """A policy applying ``fault`` to the first ``times`` requests that match (all if None)."""
    lock = threading.Lock()
    seen = [0]

    def policy(_n: int, body: Body) -> Fault | None:
        if not matches(body):
            return None
        with lock:
            seen[0] += 1
            hit = times is None or seen[0] <= times
        return fault if hit else None

    return policy


def _requests_for(server: OpenAIServer | OllamaServer, fragment: str) -> int:
    """Chat requests a server received for the step whose prompt contains ``fragment``."""
    return sum(1 for body in server.chat_bodies if fragment in last_user_text(body))


def _section_body(markdown: str, heading: str) -> str:
    """The text under one `## heading`, up to the next heading."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end]).strip()


# --------------------------------------------------------------------------- primary: fallback

# (id, fault, extra env, requests the failing step sends to the primary, error in the log)
PRIMARY_FALLBACKS: list[tuple[str, Fault, dict[str, str], int, str]] = [
    ("http-500", Fault.http(500), {}, 3, "Error=HTTP 500 server error"),
    ("http-502", Fault.http(502), {}, 3, "Error=HTTP 502 server error"),
    ("http-503", Fault.http(503), {}, 3, "Error=HTTP 503 server error"),
    ("http-503-no-retries", Fault.http(503), {"MAX_RETRIES": "0"}, 1, "Error=HTTP 503"),
    ("http-503-3-retries", Fault.http(503), {"MAX_RETRIES": "3"}, 4, "Error=HTTP 503"),
    (
        "timeout",
        Fault.slow(8),
        # Generous for the healthy secondary on a loaded 2-core CI machine.
        {"REQUEST_TIMEOUT": "2", "MAX_RETRIES": "1"},
        2,
        "Error=request timed out",
    ),
    ("reset", Fault.reset(), {}, 3, "Error=connection failed"),
    ("hangup", Fault.hangup(), {}, 3, "Error=connection failed"),
    ("garbage-200", Fault.garbage(), {}, 3, "Error=unreadable response"),
    ("empty-content", Fault.empty(), {}, 3, "Error=empty response"),
    (
        "unknown-model-404",
        Fault.http(404, "The model `gpt-4o` does not exist or you do not have access to it."),
        {},
        1,
        "Error=HTTP 404: model 'gpt-4o' not found",
    ),
    ("bad-request-400", Fault.http(400), {}, 1, "Error=HTTP 400"),
    (
        "retry-after-beyond-cap",
        Fault.rate_limit(retry_after=30),
        {"RETRY_BACKOFF_MAX": "1"},
        1,
        "Error=HTTP 429 rate limited",
    ),
]


@pytest.mark.parametrize(
    ("fault", "env", "sent", "logged"),
    [pytest.param(*row[1:], id=row[0]) for row in PRIMARY_FALLBACKS],
)
def test_primary_fault_on_one_step_falls_back_to_the_secondary(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    fault: Fault,
    env: dict[str, str],
    sent: int,
    logged: str,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", ROOMY_BUDGET)
    for name, value in env.items():
        hybrid_env.setenv(name, value)
    openai_server.faults = scoped(fault, _asks(DRAFT_INTRO))
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    # Retried exactly MAX_RETRIES times when transient, never when not, then one secondary call.
    assert _requests_for(openai_server, DRAFT_INTRO) == sent
    assert _requests_for(ollama_server, DRAFT_INTRO) == 1
    call = run.call("1", "DRAFT")
    assert call["fallback"] == "ERROR"
    assert (call["role"], call["provider"], call["planned_role"]) == (
        "secondary",
        "local",
        "primary",
    )
    assert call["requests"] == {"openai": sent, "local": 1}
    assert call["failures"] == {"openai": sent}
    assert call["attempts"] == sent + 1
    assert call["errors"] and call["errors"][0].startswith("OPENAI: ")
    metrics = run.manifest["metrics"]
    assert metrics["fallbacks"] == {"ERROR": 1}
    assert metrics["retries"] == sent - 1
    assert metrics["cloud_calls"] == openai_server.count
    assert metrics["circuit_open"] is False
    fallback_line = [
        line
        for line in run.stderr.splitlines()
        if "Phase=DRAFT | Section=1 | Event=FALLBACK | Reason=ERROR" in line
    ]
    assert len(fallback_line) == 1 and logged in fallback_line[0], run.stderr
    # Every other step was written by the provider the plan named.
    others = [c for c in run.manifest["calls"] if (c["section"], c["phase"]) != ("1", "DRAFT")]
    assert all(c["fallback"] is None and c["role"] == c["planned_role"] for c in others)
    assert "## 1 Introduction" in run.markdown
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- primary: 429


@pytest.mark.parametrize(
    ("fault", "cap", "wait"),
    [
        pytest.param(Fault.rate_limit(retry_after=0.1), "1", "Wait=0.1s", id="retry-after"),
        pytest.param(Fault.http(429), "0.2", "Wait=0.2s", id="no-retry-after-backoff"),
    ],
)
def test_rate_limit_is_retried_and_succeeds_on_the_primary(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    fault: Fault,
    cap: str,
    wait: str,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", ROOMY_BUDGET)
    hybrid_env.setenv("RETRY_BACKOFF_MAX", cap)
    openai_server.faults = scoped(fault, _asks(DRAFT_INTRO), times=1)
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    assert _requests_for(openai_server, DRAFT_INTRO) == 2
    call = run.call("1", "DRAFT")
    assert (call["provider"], call["fallback"], call["attempts"]) == ("openai", None, 2)
    assert call["failures"] == {"openai": 1}
    metrics = run.manifest["metrics"]
    assert metrics["retries"] == 1
    assert metrics["fallbacks"] == {}
    assert metrics["cloud_calls"] == openai_server.count
    retry = f"Phase=DRAFT | Section=1 | Event=RETRY | Provider=OPENAI | Attempt=2 | {wait}"
    assert f"{retry} | Error=HTTP 429 rate limited" in run.stderr


@pytest.mark.parametrize(
    ("server_name", "fragment", "body"),
    [
        pytest.param("openai_server", DRAFT_INTRO, b'{"foo": 1}', id="openai-not-a-completion"),
        pytest.param(
            "openai_server",
            DRAFT_INTRO,
            b'{"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o", '
            b'"choices": []}',
            id="openai-no-choices",
        ),
        pytest.param(
            "ollama_server",
            'Write a plan for its section "Background"',
            b'{"foo": 1}',
            id="ollama-not-a-chat-response",
        ),
    ],
)
def test_reply_of_the_wrong_shape_is_retried_like_an_unreadable_one(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    server_name: str,
    fragment: str,
    body: bytes,
) -> None:
    hybrid_env.setenv("MAX_CLOUD_CALLS", ROOMY_BUDGET)
    server: OpenAIServer | OllamaServer = request.getfixturevalue(server_name)
    server.faults = scoped(Fault.garbage(body), _asks(fragment), times=1)
    run = _build(outline_file, tmp_path)
    assert _requests_for(server, fragment) == 2  # retried once, then answered
    assert run.code == 0, run.stderr
    assert run.manifest["metrics"]["fallbacks"] == {}


# --------------------------------------------------------------------------- primary: others


def test_refused_primary_is_unavailable_from_preflight_and_gets_no_request(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("OPENAI_BASE_URL", refused_url("/v1"))
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    assert "Event=PREFLIGHT | Role=PRIMARY | Provider=OPENAI" in run.stderr
    assert "Status=UNAVAILABLE" in run.stderr
    assert run.stderr.count("Event=FALLBACK | Reason=UNAVAILABLE | Provider=OPENAI") == 1
    assert openai_server.count == 0
    manifest = run.manifest
    metrics = manifest["metrics"]
    assert metrics["cloud_calls"] == 0
    assert metrics.get("requests", {}).get("openai", 0) == 0
    assert set(metrics["requests"]) == {"local"}
    rerouted = [c for c in manifest["calls"] if c["reason"] == "UNAVAILABLE"]
    assert len(rerouted) == 15  # every step the matrix gives the primary, the abstract included
    assert all(c["fallback"] == "UNAVAILABLE" and c["provider"] == "local" for c in rerouted)
    assert metrics["fallbacks"] == {"UNAVAILABLE": 15}
    assert ollama_server.count == len(manifest["calls"]) == 28


def test_primary_refusing_connections_mid_report_falls_back(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    # Preflight passes; the server then dies at its first chat request (refused from then on).
    hybrid_env.setenv("MAX_RETRIES", "1")
    hybrid_env.setenv("PRIMARY_MAX_CONCURRENCY", "1")

    def die(_n: int, _body: Body) -> Fault:
        threading.Thread(target=openai_server.stop, daemon=True).start()
        return Fault.reset()

    openai_server.faults = die
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    manifest = run.manifest
    assert all(c["role"] == "secondary" for c in manifest["calls"])
    assert manifest["metrics"]["circuit_open"] is True
    assert "Error=connection failed" in run.stderr
    assert openai_server.count == 1
    assert manifest["metrics"]["cloud_calls"] >= 1


def test_truncated_reply_is_cut_to_a_full_sentence_and_marked(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    truncated = Fault.truncated(content="First sentence. Second sentence is cut")
    openai_server.faults = scoped(truncated, _asks(REFINE_INTRO))
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    call = run.call("1", "REFINE")
    assert call["truncated"] is True
    assert (call["provider"], call["fallback"]) == ("openai", None)
    body = _section_body(run.markdown, "## 1 Introduction")
    assert body.endswith("First sentence.")
    assert "is cut" not in body
    assert sum(c["truncated"] for c in run.manifest["calls"]) == 1


def test_think_blocks_are_stripped_from_the_report(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    def thinking(body: Body) -> str:
        return f"<think>\nPRIVATE-REASONING {{ plan }}\n</think>\n{default_reply(body)}"

    openai_server.reply = thinking
    ollama_server.reply = thinking
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    markdown = run.markdown
    assert "PRIVATE-REASONING" not in markdown
    assert "<think>" not in markdown and "</think>" not in markdown
    assert "deterministic loopback answer" in markdown
    assert run.manifest["metrics"]["fallbacks"] == {}


def test_server_that_never_answers_is_bounded_by_the_request_timeout(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    hybrid_env.setenv("REQUEST_TIMEOUT", "2")
    hybrid_env.setenv("MAX_RETRIES", "0")
    openai_server.faults = always(Fault.slow(60))
    run = _build(outline_file, tmp_path)
    assert run.code == 0, run.stderr
    assert run.seconds < 30  # a bound, not a benchmark: 60 s would mean no timeout
    manifest = run.manifest
    assert all(c["role"] == "secondary" for c in manifest["calls"])
    assert manifest["metrics"]["circuit_open"] is True
    assert "Error=request timed out" in run.stderr
    assert manifest["metrics"]["cloud_calls"] == openai_server.count


# --------------------------------------------------------------------------- secondary


@pytest.mark.parametrize(
    ("fault", "env", "cause"),
    [
        pytest.param(Fault.http(500), {}, "HTTP 500 server error", id="http-500"),
        pytest.param(Fault.reset(), {"MAX_RETRIES": "0"}, "connection failed", id="reset"),
        pytest.param(
            Fault.slow(60),
            {"REQUEST_TIMEOUT": "2", "MAX_RETRIES": "0"},
            "request timed out",
            id="never-answers",
        ),
    ],
)
def test_secondary_fault_fails_the_build_and_keeps_completed_work(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    fault: Fault,
    env: dict[str, str],
    cause: str,
) -> None:
    for name, value in env.items():
        hybrid_env.setenv(name, value)
    # Room for every secondary step at once: the fault hits them all in one round.
    hybrid_env.setenv("SECONDARY_MAX_CONCURRENCY", "16")
    # The secondary answers late, so the primary's DRAFT calls complete before it fails.
    ollama_server.latency = 0.1
    ollama_server.faults = always(fault)
    run = _build(outline_file, tmp_path)
    assert run.code == 1, run.stderr
    assert run.seconds < 30  # bounded: a request that never returns is cut by REQUEST_TIMEOUT
    assert "Event=FALLBACK_FAILED" in run.stderr
    assert "Event=FAILED" not in run.stderr
    last = run.last_stderr_line
    assert re.match(r"error \(generation failed\): \S+/(DRAFT|EXPAND|REFINE) failed: ", last)
    assert cause in last
    assert "Traceback" not in run.stderr
    assert report_files(run.out) == []
    # Completed primary calls are stored: the next build resumes with them.
    assert openai_server.count > 0
    assert run.cache_entries() == openai_server.count


def test_no_request_is_sent_after_the_report_has_failed(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("MAX_RETRIES", "0")
    hybrid_env.setenv("SECONDARY_MAX_CONCURRENCY", "2")
    ollama_server.latency = 0.1
    ollama_server.faults = always(Fault.http(500))
    run = _build(outline_file, tmp_path)
    assert run.code == 1, run.stderr
    # Only the calls in flight when the first step failed (at most the limit of 2) are sent.
    assert ollama_server.count <= 2, (
        f"{ollama_server.count} requests to a failed report's secondary"
    )
