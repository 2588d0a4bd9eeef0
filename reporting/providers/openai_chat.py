"""The `openai` provider kind: ChatOpenAI, for OpenAI and any OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from reporting.errors import ConfigError
from reporting.settings import Settings


def make_openai_model(
    model: str, settings: Settings, http_async_client: Any | None = None
) -> BaseChatModel:
    """A ChatOpenAI that never retries by itself: retries happen in one place, the compiler.

    `http_async_client` lets a build own its connection pool: langchain-openai otherwise
    shares one per process, whose pooled connections die with the event loop that made them.
    """
    if settings.openai_api_key is None:
        raise ConfigError(
            "OPENAI_API_KEY is not set: add it to .env or pick another PRIMARY_PROVIDER"
        )
    return ChatOpenAI(
        model=model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.request_timeout,
        max_retries=0,
        temperature=settings.temperature,
        http_async_client=http_async_client,
        # No custom transport: httpx keeps honouring HTTP(S)_PROXY/NO_PROXY, and
        # langchain-openai does not warn on every build that it would shadow them.
        http_socket_options=(),
    )


def openai_call_options(max_tokens: int, temperature: float) -> dict[str, Any]:
    """Per-call generation parameters in ChatOpenAI's terms."""
    return {"max_tokens": max_tokens, "temperature": temperature}
