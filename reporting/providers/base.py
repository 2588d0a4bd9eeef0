"""What a provider kind offers: the one protocol every kind implements, and its preflight verdict.

A kind knows nothing of phases, roles or routing: it makes chat models, says which per-call
options bound their output, checks that it is usable, and states a few facts the rest of the
build asks about (cloud or not, how many calls at once, where the abstract goes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from langchain_core.language_models import BaseChatModel

    from reporting.settings import Settings

PREFLIGHT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProviderCheck:
    """The verdict on one provider: usable or not, what was found, and the fix."""

    name: str
    model: str
    ok: bool
    status: str
    fix: str = ""


class Provider(Protocol):
    """One provider kind; adding a kind is one module implementing this and one registry line."""

    @property
    def names(self) -> tuple[str, ...]:
        """The lower-case names a user may write in PRIMARY_PROVIDER/SECONDARY_PROVIDER."""
        ...

    @property
    def cloud(self) -> bool:
        """Whether its calls cost money and count against MAX_CLOUD_CALLS."""
        ...

    @property
    def abstract_on_primary(self) -> bool:
        """Whether the abstract stays on the primary when this kind is the primary."""
        ...

    def default_model(self, settings: Settings) -> str:
        """The model used when PRIMARY_MODEL/SECONDARY_MODEL is not set: what really runs."""
        ...

    def chat_model(
        self, model: str, settings: Settings, resources: AsyncExitStack | None = None
    ) -> BaseChatModel:
        """A chat model; what it opens that the build must close goes on `resources`."""
        ...

    def call_options(self, max_tokens: int, temperature: float, attempt: int) -> dict[str, Any]:
        """Keyword arguments for `ainvoke` that bound one call's output (attempt is 1-based)."""
        ...

    def check(
        self, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
    ) -> ProviderCheck:
        """Whether it is usable right now, without generating anything."""
        ...

    def max_concurrency(self, configured: int) -> int:
        """Calls it may have in flight, given the limit the settings set for its role."""
        ...

    def missing_setting(self, settings: Settings) -> str | None:
        """The setting it needs and the settings lack (OPENAI_API_KEY), None when it has all."""
        ...

    def demonstration_model(self, settings: Settings) -> str | None:
        """The name of the demonstration model it runs with these settings, None for a real one."""
        ...
