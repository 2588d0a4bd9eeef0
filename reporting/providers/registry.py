"""Provider kinds by the names a user may write; adding a kind is one module and one line here.

Importing this stays cheap: each kind imports its heavy library (langchain-openai,
langchain-ollama, llama.cpp) only when it makes a model or runs a check.
"""

from __future__ import annotations

from reporting.errors import ConfigError
from reporting.providers.base import Provider
from reporting.providers.embedded import EmbeddedProvider
from reporting.providers.ollama import OllamaProvider
from reporting.providers.openai import OpenAIProvider

_KINDS: dict[str, Provider] = {}


def register(kind: Provider) -> None:
    """Make a provider kind usable under each of its names."""
    taken = [name for name in kind.names if name in _KINDS]
    if taken:
        raise ValueError(f"provider name already registered: {', '.join(taken)}")
    if any(name != name.strip().lower() or not name for name in kind.names):
        raise ValueError(f"provider names must be lower-case words: {kind.names}")
    for name in kind.names:
        _KINDS[name] = kind


def unregister(kind: Provider) -> None:
    """Forget a provider kind under every name it was registered with."""
    for name in kind.names:
        if _KINDS.get(name) is kind:
            del _KINDS[name]


def known_names() -> list[str]:
    """Every name a user may write, sorted."""
    return sorted(_KINDS)


def provider(name: str) -> Provider:
    """The kind registered under `name`; ConfigError naming the known names otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(known_names())
        raise ConfigError(f"unknown provider {name!r}; use one of: {known}") from None


register(OpenAIProvider())
register(OllamaProvider())
register(EmbeddedProvider())
