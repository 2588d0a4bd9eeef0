"""The loopback servers speak well enough for the real OpenAI and Ollama clients.

Exceptions observed with the pinned clients (openai 3.x over httpx2, langchain-openai 1.7,
ollama 0.6 over httpx, langchain-ollama 1.1):

* ``ChatOpenAI`` re-raises ``openai`` errors as langchain-openai subclasses that also derive
  from ``langchain_core.exceptions.Model*Error`` (e.g. ``OpenAIRateLimitError`` is both an
  ``openai.RateLimitError`` and a ``ModelRateLimitError``), so ``pytest.raises(openai.X)``
  holds. 5xx -> ``InternalServerError``; 429 -> ``RateLimitError``; 404 -> ``NotFoundError``;
  401 -> ``AuthenticationError``; read timeout -> ``APITimeoutError``; reset, hang-up and
  refused -> ``APIConnectionError``; a 200 with a non-JSON body -> bare
  ``json.JSONDecodeError`` (not an ``openai`` error).
* ``ChatOllama`` streams by default, so errors come from ``ollama``'s streaming path: any
  HTTP error status -> ``ollama.ResponseError`` with ``.status_code``; a refused connection
  -> ``httpx.ConnectError`` (sync and async; only the non-streaming calls such as
  ``Client.list()`` translate it into the builtin ``ConnectionError``); read timeout ->
  ``httpx.ReadTimeout``; reset -> ``httpx.ReadError``; hang-up -> ``httpx.RemoteProtocolError``;
  a non-JSON body -> ``json.JSONDecodeError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

import httpx
import ollama
import openai
import pytest
from langchain_core.exceptions import ModelRateLimitError
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from loopback import (
    Fault,
    OllamaServer,
    OpenAIServer,
    always,
    default_reply,
    first_n,
    refused_url,
    word_count,
)
from pydantic import SecretStr


def chat_openai(srv: OpenAIServer, timeout: float = 5, **kwargs: Any) -> ChatOpenAI:
    """A ChatOpenAI client aimed at ``srv`` with retries off."""
    return ChatOpenAI(
        model="gpt-4o",
        base_url=srv.url,
        api_key=SecretStr("sk-test"),
        max_retries=0,
        timeout=timeout,
        **kwargs,
    )


def chat_ollama(url: str, timeout: float = 5, **kwargs: Any) -> ChatOllama:
    """A ChatOllama client aimed at ``url``."""
    return ChatOllama(model="llama3:8b", base_url=url, client_kwargs={"timeout": timeout}, **kwargs)


# --------------------------------------------------------------------------- example


def test_example_usage() -> None:
    """The documented shape: start, point a client at ``url``, inspect the log."""
    with OpenAIServer(reply=lambda body: "scripted answer") as srv:
        message = chat_openai(srv).invoke("hi")
        assert message.content == "scripted answer"
        assert srv.count == 1
    assert not srv.running


# --------------------------------------------------------------------------- OpenAI


def test_openai_invoke_returns_scripted_reply_and_usage() -> None:
    """Non-streaming chat completion, usage and request log."""
    with OpenAIServer(reply=lambda body: "three word reply") as srv:
        message = chat_openai(srv).invoke("hello there loopback")
        assert message.content == "three word reply"
        assert message.usage_metadata is not None
        assert message.usage_metadata["input_tokens"] == 3
        assert message.usage_metadata["output_tokens"] == 3
        assert message.usage_metadata["total_tokens"] == 6
        assert message.response_metadata["finish_reason"] == "stop"
        assert message.response_metadata["model_name"] == "gpt-4o"
        assert srv.count == 1
        assert srv.models_seen == ["gpt-4o"]
        (request,) = srv.requests
        assert request["method"] == "POST"
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["authorization"] == "Bearer sk-test"
        assert request["json"]["messages"] == [{"role": "user", "content": "hello there loopback"}]


def test_openai_default_reply_is_deterministic() -> None:
    """Without ``reply`` the text is derived from the last user message."""
    with OpenAIServer() as srv:
        message = chat_openai(srv).invoke("Summarise the quarterly figures please")
    assert message.content == default_reply(
        {"messages": [{"role": "user", "content": "Summarise the quarterly figures please"}]}
    )
    assert str(message.content).startswith("Reply to: Summarise the quarterly figures please.")


async def test_openai_ainvoke() -> None:
    """The async client works too."""
    with OpenAIServer(reply=lambda body: "async answer") as srv:
        message = await chat_openai(srv).ainvoke("hi")
        assert message.content == "async answer"
        assert srv.count == 1


def test_openai_streaming_with_usage() -> None:
    """SSE chunks reassemble into the reply and the usage chunk is understood."""
    with OpenAIServer(reply=lambda body: "streamed reply of five words") as srv:
        llm = chat_openai(srv, streaming=True, stream_usage=True)
        message = llm.invoke("hi")
        assert message.content == "streamed reply of five words"
        assert message.usage_metadata is not None
        assert message.usage_metadata["output_tokens"] == 5
        assert srv.chat_bodies[0]["stream"] is True
        pieces = [chunk.content for chunk in llm.stream("hi")]
        assert "".join(str(p) for p in pieces) == "streamed reply of five words"
        assert len([p for p in pieces if p]) == 5


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.http(500), openai.InternalServerError),
        (Fault.http(502), openai.InternalServerError),
        (Fault.http(503), openai.InternalServerError),
        (Fault.http(404), openai.NotFoundError),
        (Fault.http(401), openai.AuthenticationError),
        (Fault.http(400), openai.BadRequestError),
        (Fault.reset(), openai.APIConnectionError),
        (Fault.hangup(), openai.APIConnectionError),
    ],
    ids=["500", "502", "503", "404", "401", "400", "reset", "hangup"],
)
def test_openai_faults_raise_client_errors(fault: Fault, expected: type[Exception]) -> None:
    """Each fault surfaces as the matching ``openai`` exception."""
    with OpenAIServer(faults=[fault]) as srv:
        with pytest.raises(expected) as info:
            chat_openai(srv).invoke("hi")
        assert srv.count == 1
    if isinstance(info.value, openai.APIStatusError):
        assert info.value.status_code == fault.status
        assert isinstance(info.value.body, dict)
        assert set(info.value.body) >= {"message", "type", "code"}


def test_openai_rate_limit_carries_retry_after() -> None:
    """429 -> RateLimitError (also langchain's ModelRateLimitError) with Retry-After."""
    with (
        OpenAIServer(faults=always(Fault.rate_limit(retry_after=7))) as srv,
        pytest.raises(openai.RateLimitError) as info,
    ):
        chat_openai(srv).invoke("hi")
    assert isinstance(info.value, ModelRateLimitError)
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.code == "rate_limit_exceeded"


def test_openai_timeout() -> None:
    """A slow reply beyond the client timeout -> APITimeoutError, quickly."""
    with OpenAIServer(faults=[Fault.slow(3)]) as srv:
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            chat_openai(srv, timeout=0.5).invoke("hi")
        assert time.perf_counter() - started < 2
        stop_started = time.perf_counter()
    assert time.perf_counter() - stop_started < 1  # stop() interrupted the sleeping handler


def test_openai_refused_connection() -> None:
    """Nothing listening -> APIConnectionError."""
    llm = ChatOpenAI(
        model="gpt-4o", base_url=refused_url("/v1"), api_key=SecretStr("sk-test"), max_retries=0
    )
    with pytest.raises(openai.APIConnectionError):
        llm.invoke("hi")


def test_openai_garbage_body_is_a_json_error() -> None:
    """A 200 with a non-JSON body escapes as a bare JSONDecodeError."""
    with OpenAIServer(faults=[Fault.garbage()]) as srv, pytest.raises(json.JSONDecodeError):
        chat_openai(srv).invoke("hi")


def test_openai_empty_and_truncated_replies() -> None:
    """``content`` and ``finish_reason`` overrides reach the message."""
    with OpenAIServer(faults=[Fault.empty(), Fault.truncated("cut")]) as srv:
        llm = chat_openai(srv)
        empty = llm.invoke("hi")
        assert empty.content == ""
        assert empty.usage_metadata is not None
        assert empty.usage_metadata["output_tokens"] == 0
        truncated = llm.invoke("hi")
        assert truncated.content == "cut"
        assert truncated.response_metadata["finish_reason"] == "length"


def test_openai_retry_after_faults_then_success() -> None:
    """A fault list is consumed one per request; the client's own retry then succeeds."""
    with OpenAIServer(faults=[Fault.rate_limit(retry_after=0.01), None]) as srv:
        llm = ChatOpenAI(
            model="gpt-4o", base_url=srv.url, api_key=SecretStr("sk-test"), max_retries=1, timeout=5
        )
        assert llm.invoke("hi").content
        assert srv.count == 2


def test_openai_models_strict_models_and_api_key() -> None:
    """``/v1/models`` lists the models; unknown models and bad keys are refused."""
    with OpenAIServer(models=["gpt-4o", "gpt-4o-mini"], strict_models=True, api_key="sk-ok") as srv:
        with openai.OpenAI(base_url=srv.url, api_key="sk-ok", max_retries=0) as client:
            assert [m.id for m in client.models.list()] == ["gpt-4o", "gpt-4o-mini"]
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            ChatOpenAI(
                model="gpt-9", base_url=srv.url, api_key=SecretStr("sk-ok"), max_retries=0
            ).invoke("hi")
        with pytest.raises(openai.AuthenticationError):
            ChatOpenAI(
                model="gpt-4o", base_url=srv.url, api_key=SecretStr("sk-bad"), max_retries=0
            ).invoke("hi")


# --------------------------------------------------------------------------- Ollama


def test_ollama_invoke_streams_ndjson_with_usage() -> None:
    """ChatOllama streams by default; NDJSON lines reassemble, usage comes from the last."""
    with OllamaServer(reply=lambda body: "local model says hi") as srv:
        message = chat_ollama(srv.url).invoke("hello there")
        assert message.content == "local model says hi"
        assert message.usage_metadata is not None
        assert message.usage_metadata["input_tokens"] == 2
        assert message.usage_metadata["output_tokens"] == 4
        assert message.response_metadata["done_reason"] == "stop"
        assert srv.count == 1
        assert srv.models_seen == ["llama3:8b"]
        assert srv.requests[0]["path"] == "/api/chat"
        assert srv.chat_bodies[0]["stream"] is True


async def test_ollama_ainvoke() -> None:
    """The async client works too."""
    with OllamaServer(reply=lambda body: "async local") as srv:
        message = await chat_ollama(srv.url).ainvoke("hi")
        assert message.content == "async local"
        assert message.usage_metadata is not None
        assert srv.count == 1


def test_ollama_non_streaming_tags_version() -> None:
    """``stream: false``, ``/api/tags`` and ``/api/version`` via the ``ollama`` client."""
    with OllamaServer(reply=lambda body: "one shot", models=["llama3:8b", "qwen2.5:7b"]) as srv:
        with ollama.Client(host=srv.url, timeout=5) as client:
            response = client.chat(
                model="llama3:8b", messages=[{"role": "user", "content": "hi"}], stream=False
            )
            assert response.message.content == "one shot"
            assert response.done_reason == "stop"
            assert (response.prompt_eval_count, response.eval_count) == (1, 2)
            assert [m.model for m in client.list().models] == ["llama3:8b", "qwen2.5:7b"]
        version = httpx.get(f"{srv.url}/api/version", timeout=5).json()
        assert version == {"version": OllamaServer.version}


def test_ollama_validate_model_on_init_uses_tags() -> None:
    """``validate_model_on_init`` reads ``/api/tags``."""
    with OllamaServer(models=["llama3:8b"]) as srv:
        chat_ollama(srv.url, validate_model_on_init=True)
        with pytest.raises(ValueError, match="not found in Ollama"):
            ChatOllama(model="missing:1b", base_url=srv.url, validate_model_on_init=True)
        assert [r["path"] for r in srv.requests] == ["/api/tags", "/api/tags"]


@pytest.mark.parametrize("status", [500, 503, 429, 404])
def test_ollama_http_error_is_response_error(status: int) -> None:
    """Any error status -> ollama.ResponseError carrying the status and message."""
    with (
        OllamaServer(faults=[Fault.http(status, "boom")]) as srv,
        pytest.raises(ollama.ResponseError) as info,
    ):
        chat_ollama(srv.url).invoke("hi")
    assert info.value.status_code == status
    assert info.value.error == "boom"


def test_ollama_unknown_model_under_strict_models() -> None:
    """``strict_models`` answers 404 like a real Ollama without the model pulled."""
    with (
        OllamaServer(strict_models=True) as srv,
        pytest.raises(ollama.ResponseError, match="not found") as info,
    ):
        ChatOllama(model="missing:1b", base_url=srv.url).invoke("hi")
    assert info.value.status_code == 404


def test_ollama_refused_connection() -> None:
    """Nothing listening -> httpx.ConnectError from the streaming path."""
    with pytest.raises(httpx.ConnectError):
        chat_ollama(refused_url()).invoke("hi")
    with ollama.Client(host=refused_url()) as client, pytest.raises(ConnectionError):
        client.list()  # non-streaming calls translate it to the builtin


async def test_ollama_refused_connection_async() -> None:
    """The async path raises httpx.ConnectError as well."""
    with pytest.raises(httpx.ConnectError):
        await chat_ollama(refused_url()).ainvoke("hi")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.slow(3), httpx.ReadTimeout),
        (Fault.reset(), httpx.ReadError),
        (Fault.hangup(), httpx.RemoteProtocolError),
        (Fault.garbage(), json.JSONDecodeError),
    ],
    ids=["slow", "reset", "hangup", "garbage"],
)
def test_ollama_transport_faults(fault: Fault, expected: type[Exception]) -> None:
    """Transport-level faults surface as raw httpx (or json) exceptions."""
    with OllamaServer(faults=[fault]) as srv:
        started = time.perf_counter()
        with pytest.raises(expected):
            chat_ollama(srv.url, timeout=0.5).invoke("hi")
        assert time.perf_counter() - started < 2
    assert isinstance(httpx.ReadTimeout("x"), httpx.TimeoutException)


def test_ollama_empty_and_length_replies() -> None:
    """``content``/``finish_reason`` overrides map to content and ``done_reason``."""
    with OllamaServer(faults=[Fault.empty(), Fault.truncated()]) as srv:
        llm = chat_ollama(srv.url)
        assert llm.invoke("hi").content == ""
        assert llm.invoke("hi").response_metadata["done_reason"] == "length"


# --------------------------------------------------------------------------- concurrency


async def test_max_concurrent_openai_async() -> None:
    """Concurrent async requests overlap on the server; the peak is measured."""
    with OpenAIServer(latency=0.3) as srv:
        llm = chat_openai(srv)
        started = time.perf_counter()
        replies = await asyncio.gather(*(llm.ainvoke(f"question {i}") for i in range(4)))
        elapsed = time.perf_counter() - started
        assert [str(r.content)[:20] for r in replies] == [
            f"Reply to: question {i}" for i in range(4)
        ]
        assert srv.count == 4
        assert srv.max_concurrent == 4
        assert srv.in_flight == 0
        assert elapsed < 1.0


def test_max_concurrent_ollama_batch_threads() -> None:
    """``batch`` with ``max_concurrency=2`` never has more than two requests in flight."""
    with OllamaServer(latency=0.2) as srv:
        replies = chat_ollama(srv.url).batch(
            [f"q{i}" for i in range(4)], config={"max_concurrency": 2}
        )
        assert len(replies) == 4
        assert srv.count == 4
        assert srv.max_concurrent == 2


def test_sequential_requests_have_peak_one() -> None:
    """Back-to-back requests never overlap."""
    with OpenAIServer(latency=0.01) as srv:
        llm = chat_openai(srv)
        for _ in range(3):
            llm.invoke("hi")
        assert (srv.count, srv.max_concurrent) == (3, 1)


# --------------------------------------------------------------------------- the servers


def test_fault_callable_gets_request_number_and_body() -> None:
    """A callable policy sees the 1-based request number and the decoded body."""
    seen: list[tuple[int, str]] = []

    def policy(n: int, body: dict[str, Any]) -> Fault | None:
        seen.append((n, body["model"]))
        return Fault.http(503) if n == 2 else None

    with OpenAIServer(faults=policy) as srv:
        llm = chat_openai(srv)
        llm.invoke("one")
        with pytest.raises(openai.InternalServerError):
            llm.invoke("two")
        llm.invoke("three")
    assert seen == [(1, "gpt-4o"), (2, "gpt-4o"), (3, "gpt-4o")]


def test_first_n_and_reassigning_faults() -> None:
    """``first_n`` faults a prefix; assigning ``faults`` later restarts the script."""
    policy = first_n(2, Fault.http(500))
    assert [policy(n, {}) is None for n in (1, 2, 3)] == [False, False, True]
    with OllamaServer(faults=[Fault.http(500)]) as srv:
        llm = chat_ollama(srv.url)
        with pytest.raises(ollama.ResponseError):
            llm.invoke("hi")
        llm.invoke("hi")
        srv.faults = [Fault.http(502)]
        with pytest.raises(ollama.ResponseError):
            llm.invoke("hi")
        assert srv.count == 3


def test_reply_callable_failure_becomes_500() -> None:
    """A raising ``reply`` answers 500 and is recorded in ``errors``."""

    def broken(body: dict[str, Any]) -> str:
        raise RuntimeError("script bug")

    with OpenAIServer(reply=broken) as srv:
        with pytest.raises(openai.InternalServerError, match="script bug"):
            chat_openai(srv).invoke("hi")
        assert [type(e) for e in srv.errors] == [RuntimeError]


def test_stop_is_fast_while_a_handler_sleeps() -> None:
    """``stop()`` interrupts a sleeping handler and resets its connection."""
    srv = OpenAIServer(faults=[Fault.slow(30)]).start()
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            response = httpx.post(f"{srv.url}/chat/completions", json={"model": "m"}, timeout=10)
            outcome.append(response.status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 5
    while srv.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - started < 1
    thread.join(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.TransportError)
    srv.stop()  # idempotent


def test_refused_url_and_keep_alive() -> None:
    """``refused_url`` refuses; ``keep_alive`` reuses one connection for several calls."""
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.get(refused_url("/v1/models"))
    with (
        OllamaServer(keep_alive=True) as srv,
        httpx.Client(base_url=srv.url, timeout=5) as client,
    ):
        ports = set()
        for _ in range(3):
            response = client.get("/api/tags")
            assert response.status_code == 200
            assert response.headers.get("connection") != "close"
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr")[1])
        assert len(ports) == 1


def test_word_count_matches_usage_rule() -> None:
    """Token counts are whitespace word counts."""
    assert word_count("  a b\nc  ") == 3
    assert word_count("") == 0


def test_requires_start_for_url() -> None:
    """``url`` is only available while running."""
    srv = OllamaServer()
    with pytest.raises(RuntimeError):
        _ = srv.url
    with contextlib.suppress(RuntimeError), srv:
        srv.start()  # second start is an error, and the server still stops
    assert not srv.running
