"""The chat models of one build, made through the provider registry on first use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from langchain_core.language_models import BaseChatModel

from reporting.providers.registry import provider
from reporting.settings import Settings

ModelFactory = Callable[[str, str, Settings], BaseChatModel]
"""Makes the chat model of (provider name, model, settings); tests pass fakes through it."""


class ChatModels:
    """Chat models of one build, made on first use and reused for every later call."""

    def __init__(self, settings: Settings, factory: ModelFactory | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self._models: dict[tuple[str, str], BaseChatModel] = {}
        # What the providers opened for this build (OpenAI: its own connection pool).
        self._resources = AsyncExitStack()

    def get(self, name: str, model: str) -> BaseChatModel:
        """The chat model for a provider name and model."""
        key = (name, model)
        if key not in self._models:
            if self.factory is not None:
                self._models[key] = self.factory(name, model, self.settings)
            else:
                kind = provider(name)
                self._models[key] = kind.chat_model(model, self.settings, self._resources)
        return self._models[key]

    async def aclose(self) -> None:
        """Close what the providers opened for this build."""
        await self._resources.aclose()
