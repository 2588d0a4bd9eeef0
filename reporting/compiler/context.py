"""What every call of a build shares besides its step: settings, models, limits, cache, clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from reporting.compiler.cache import PhaseCache
from reporting.compiler.concurrency import ProviderLimits
from reporting.compiler.models import ChatModels
from reporting.compiler.shared_cache import TieredCache
from reporting.outline.model import Outline
from reporting.routing.plan import Plan, Step
from reporting.settings import Settings

if TYPE_CHECKING:
    from reporting.compiler.runner import StepResult

Sleep = Callable[[float], Awaitable[None]]


class Observer(Protocol):
    """Told of the plan, then of every step as it starts, is written, or fails."""

    def planned(self, outline: Outline, plan: Plan) -> None:
        """The plan is made; no call has been sent."""

    def step(self, event: str, step: Step, result: StepResult | None) -> None:
        """`start` (queued, no result yet), `sent` (a request went out), `done` or `failed`."""


@dataclass
class CallContext:
    """Made once per build (or once per batch, so its reports share models, limits and cache)."""

    settings: Settings
    models: ChatModels
    limits: ProviderLimits
    cache: PhaseCache | TieredCache | None = None
    sleep: Sleep = asyncio.sleep
    observer: Observer | None = None
    refresh: frozenset[str] = field(default_factory=frozenset)  # section ids not read from cache

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        models: ChatModels | None = None,
        limits: ProviderLimits | None = None,
        cache: PhaseCache | TieredCache | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> CallContext:
        """A context with fresh models and limits unless given ones to share; for no report yet."""
        return cls(
            settings,
            models or ChatModels(settings),
            limits or ProviderLimits(settings),
            cache,
            sleep,
        )

    def with_report(
        self, observer: Observer | None = None, refresh: frozenset[str] = frozenset()
    ) -> CallContext:
        """The same shared parts, with one report's observer and refreshed sections."""
        return CallContext(
            self.settings, self.models, self.limits, self.cache, self.sleep, observer, refresh
        )
