"""Provider kinds as a registry of factories returning LangChain chat models.

Providers know nothing of phases or routing: they turn a provider name and a model into a
chat model, and say which per-call options bound its output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from reporting.settings import PROVIDER_NAMES, ProviderKind, Settings

ModelFactory = Callable[[str, str, Settings], BaseChatModel]


def make_chat_model(name: str, model: str, settings: Settings) -> BaseChatModel:
    """Build the chat model of one provider kind."""
    kind = PROVIDER_NAMES[name]
    if kind is ProviderKind.OPENAI:
        from reporting.providers.openai_chat import make_openai_model

        return make_openai_model(model, settings)
    if kind is ProviderKind.OLLAMA:
        from reporting.providers.ollama_chat import make_ollama_model

        return make_ollama_model(model, settings)
    from reporting.providers.embedded import make_embedded_model

    return make_embedded_model(model, settings)


def call_options(
    name: str, max_tokens: int, temperature: float, attempt: int = 1
) -> dict[str, Any]:
    """Keyword arguments for `ainvoke` that bound the output length of one call."""
    kind = PROVIDER_NAMES[name]
    if kind is ProviderKind.OLLAMA:
        from reporting.providers.ollama_chat import ollama_call_options

        return ollama_call_options(max_tokens, temperature)
    if kind is ProviderKind.OPENAI:
        from reporting.providers.openai_chat import openai_call_options

        return openai_call_options(max_tokens, temperature)
    # The embedded model is deterministic per seed: a retry must sample differently.
    return {"max_tokens": max_tokens, "temperature": temperature, "seed": attempt - 1}


class ChatModels:
    """Chat models of one build, made on first use and reused for every later call."""

    def __init__(self, settings: Settings, factory: ModelFactory | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self._models: dict[tuple[str, str], BaseChatModel] = {}
        self._clients: list[Any] = []

    def get(self, name: str, model: str) -> BaseChatModel:
        """The chat model for a provider name and model."""
        key = (name, model)
        if key not in self._models:
            if self.factory is not None:
                self._models[key] = self.factory(name, model, self.settings)
            elif PROVIDER_NAMES[name] is ProviderKind.OPENAI:
                self._models[key] = self._openai(model)
            else:
                self._models[key] = make_chat_model(name, model, self.settings)
        return self._models[key]

    def _openai(self, model: str) -> BaseChatModel:
        """ChatOpenAI with a connection pool of this object's own, closed by `aclose`."""
        import openai

        from reporting.providers.openai_chat import make_openai_model

        client = openai.DefaultAsyncHttpxClient(timeout=self.settings.request_timeout)
        chat = make_openai_model(model, self.settings, client)
        self._clients.append(client)
        return chat

    async def aclose(self) -> None:
        """Close the connection pools this object opened."""
        for client in self._clients:
            await client.aclose()
        self._clients.clear()


__all__ = ["ChatModels", "call_options", "make_chat_model"]
