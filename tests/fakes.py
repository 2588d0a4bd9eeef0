"""Fake chat models built on langchain-core's GenericFakeChatModel, scripted per provider."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from reporting.compiler.context import CallContext, Sleep
from reporting.compiler.execute import CompiledReport, execute
from reporting.compiler.models import ChatModels
from reporting.outline.model import Outline
from reporting.routing.plan import make_plan
from reporting.routing.roles import Role
from reporting.settings import Settings
from reporting.sources.grounding import NO_SOURCES

# A script entry: text to answer, or an exception to raise, for the n-th call (1-based).
Script = Callable[[int], "str | BaseException"]


class ScriptedReplies:
    """An endless iterator of replies that may raise on chosen calls and counts every call."""

    def __init__(self, name: str, script: Script | None = None) -> None:
        self.name = name
        self.script = script
        self.calls = 0
        self._lock = threading.Lock()

    def __iter__(self) -> ScriptedReplies:
        return self

    def __next__(self) -> AIMessage:
        with self._lock:
            self.calls += 1
            number = self.calls
        outcome = self.script(number) if self.script else f"{self.name} text {number}."
        if isinstance(outcome, BaseException):
            raise outcome
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return AIMessage(outcome, usage_metadata=usage)  # type: ignore[arg-type]


@dataclass
class FakeProviders:
    """A model factory for ChatModels: one scripted fake per provider name."""

    scripts: dict[str, Script] = field(default_factory=dict)
    replies: dict[str, ScriptedReplies] = field(default_factory=dict)

    def __call__(self, name: str, model: str, settings: Settings) -> BaseChatModel:
        replies = self.replies.setdefault(name, ScriptedReplies(name, self.scripts.get(name)))
        return GenericFakeChatModel(messages=replies)

    def calls(self, name: str) -> int:
        """How many calls a provider received."""
        return self.replies[name].calls if name in self.replies else 0


# Both providers up: what a test with fake models says instead of running the preflight.
EVERYONE: Mapping[Role, bool] = {Role.PRIMARY: True, Role.SECONDARY: True}


def compile_outline(
    outline: Outline,
    settings: Settings,
    models: ChatModels,
    *,
    sleep: Sleep | None = None,
    available: Mapping[Role, bool] | None = None,
) -> CompiledReport:
    """Plan and execute an outline as a build does, without writing any file."""
    plan = make_plan(outline, settings, available)

    async def no_wait(seconds: float) -> None:
        return None

    context = CallContext.for_settings(settings, models=models, sleep=sleep or no_wait)

    async def run() -> CompiledReport:
        try:
            return await execute(plan, outline, NO_SOURCES, context)
        finally:
            await models.aclose()

    return asyncio.run(run())
