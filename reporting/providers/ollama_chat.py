"""The `ollama` provider kind (also called `local`): ChatOllama against an Ollama server."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama

from reporting.settings import Settings

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


def make_ollama_model(model: str, settings: Settings) -> BaseChatModel:
    """A ChatOllama with a request timeout (it has none by default)."""
    return ChatOllama(
        model=model,
        base_url=settings.ollama_host,
        temperature=settings.temperature,
        client_kwargs={"timeout": settings.request_timeout},
    )


def ollama_call_options(max_tokens: int, temperature: float) -> dict[str, Any]:
    """Per-call generation parameters in Ollama's `options` terms."""
    return {"options": {"num_predict": max_tokens, "temperature": temperature}}
