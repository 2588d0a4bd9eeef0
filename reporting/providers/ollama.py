"""The `ollama` provider kind (also called `local`): ChatOllama against an Ollama server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reporting.providers.base import PREFLIGHT_TIMEOUT, ProviderCheck

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from langchain_core.language_models import BaseChatModel

    from reporting.settings import Settings


def ollama_base_url(host: str | None) -> str:
    """OLLAMA_HOST as the ollama client reads it: scheme and port optional."""
    host = (host or "").strip() or "127.0.0.1:11434"
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    hostname = parts.hostname or "127.0.0.1"
    if hostname == "0.0.0.0":  # a listen address; clients connect to loopback
        hostname = "127.0.0.1"
    return f"{parts.scheme}://{hostname}:{port}{parts.path.rstrip('/')}"


def _ollama_tag(name: str) -> str:
    """A model name with Ollama's implied `:latest` tag."""
    return name if ":" in name else f"{name}:latest"


class OllamaProvider:
    """A model served by Ollama, free and local; `local` is its historical name."""

    names = ("local", "ollama")
    cloud = False
    # Kept from the first routing matrix (the README's table: the abstract goes to the PRIMARY
    # "unless PRIMARY_PROVIDER is local"); the embedded kind never had the rule. Routing reads
    # the attribute instead of naming a kind.
    abstract_on_primary = False

    def default_model(self, settings: Settings) -> str:
        """llama3:8b, the model the README tells Ollama users to pull."""
        return "llama3:8b"

    def chat_model(
        self, model: str, settings: Settings, resources: AsyncExitStack | None = None
    ) -> BaseChatModel:
        """A ChatOllama with a request timeout (it has none by default)."""
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=model,
            base_url=settings.ollama_host,
            temperature=settings.temperature,
            client_kwargs={"timeout": settings.request_timeout},
        )

    def call_options(self, max_tokens: int, temperature: float, attempt: int) -> dict[str, Any]:
        """Per-call generation parameters in Ollama's `options` terms."""
        return {"options": {"num_predict": max_tokens, "temperature": temperature}}

    def check(
        self, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
    ) -> ProviderCheck:
        """Server answering `/api/tags`, model pulled."""
        import httpx

        base = ollama_base_url(settings.ollama_host)
        try:
            response = httpx.get(f"{base}/api/tags", timeout=timeout)
            response.raise_for_status()
            tags = {_ollama_tag(str(m.get("name", ""))) for m in response.json().get("models", [])}
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return ProviderCheck(
                "local",
                model,
                False,
                f"Ollama is not reachable at {base} ({type(exc).__name__})",
                "start it with `ollama serve`, or set OLLAMA_HOST",
            )
        if _ollama_tag(model) not in tags:
            return ProviderCheck(
                "local",
                model,
                False,
                f"model {model!r} is not pulled in Ollama",
                f"run `ollama pull {model}`",
            )
        return ProviderCheck("local", model, True, f"ready at {base}")

    def max_concurrency(self, configured: int) -> int:
        """The configured limit: the server queues what it cannot run at once."""
        return configured

    def missing_setting(self, settings: Settings) -> str | None:
        """None: OLLAMA_HOST has a default, so there is always a server to try."""
        return None

    def demonstration_model(self, settings: Settings) -> str | None:
        """None: the user pulled the model."""
        return None
