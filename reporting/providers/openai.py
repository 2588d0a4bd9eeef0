"""The `openai` provider kind: ChatOpenAI, for OpenAI and any OpenAI-compatible server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reporting.errors import ConfigError
from reporting.providers.base import PREFLIGHT_TIMEOUT, ProviderCheck

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from langchain_core.language_models import BaseChatModel

    from reporting.settings import Settings

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider:
    """OpenAI's API or a compatible server; the one cloud kind, so MAX_CLOUD_CALLS caps it."""

    names = ("openai",)
    cloud = True
    abstract_on_primary = True

    def default_model(self, settings: Settings) -> str:
        """gpt-4o."""
        return "gpt-4o"

    def chat_model(
        self, model: str, settings: Settings, resources: AsyncExitStack | None = None
    ) -> BaseChatModel:
        """A ChatOpenAI that never retries by itself: retries happen in one place, the compiler.

        With `resources` the build owns the connection pool, closed when the stack is:
        langchain-openai otherwise shares one per process, whose pooled connections die with
        the event loop that made them.
        """
        import openai
        from langchain_openai import ChatOpenAI

        if settings.openai_api_key is None:
            raise ConfigError(
                "OPENAI_API_KEY is not set: add it to .env or pick another PRIMARY_PROVIDER"
            )
        client = None
        if resources is not None:
            client = openai.DefaultAsyncHttpxClient(timeout=settings.request_timeout)
            resources.push_async_callback(client.aclose)
        return ChatOpenAI(
            model=model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.request_timeout,
            max_retries=0,
            temperature=settings.temperature,
            http_async_client=client,
            # No custom transport: httpx keeps honouring HTTP(S)_PROXY/NO_PROXY, and
            # langchain-openai does not warn on every build that it would shadow them.
            http_socket_options=(),
        )

    def call_options(self, max_tokens: int, temperature: float, attempt: int) -> dict[str, Any]:
        """Per-call generation parameters in ChatOpenAI's terms."""
        return {"max_tokens": max_tokens, "temperature": temperature}

    def check(
        self, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
    ) -> ProviderCheck:
        """Key set, server answering `/models` with the key, model listed there."""
        import httpx

        if settings.openai_api_key is None:
            return _unusable(
                model,
                "OPENAI_API_KEY is not set",
                "add OPENAI_API_KEY to .env, or use another provider",
            )
        base = (settings.openai_base_url or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        key = settings.openai_api_key.get_secret_value()
        try:
            response = httpx.get(
                f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=timeout
            )
        except httpx.HTTPError as exc:
            return _unusable(
                model,
                f"{base} is not reachable ({type(exc).__name__})",
                "check OPENAI_BASE_URL and the network",
            )
        if response.status_code in (401, 403):
            return _unusable(
                model,
                f"the API key was refused (HTTP {response.status_code})",
                "check OPENAI_API_KEY",
            )
        if response.status_code >= 400:
            return _unusable(
                model,
                f"{base}/models answered HTTP {response.status_code}",
                "check OPENAI_BASE_URL",
            )
        try:
            listed = {str(item.get("id")) for item in response.json().get("data", [])}
        except (ValueError, AttributeError):
            listed = set()
        if listed and model not in listed:
            return _unusable(
                model,
                f"model {model!r} is not offered at {base}",
                "set the model to one of: " + ", ".join(sorted(listed)[:8]),
            )
        return ProviderCheck("openai", model, True, f"ready at {base}")

    def max_concurrency(self, configured: int) -> int:
        """The configured limit: the server takes parallel requests."""
        return configured

    def missing_setting(self, settings: Settings) -> str | None:
        """OPENAI_API_KEY when it is not set: without it there is no cloud model to call."""
        return "OPENAI_API_KEY" if settings.openai_api_key is None else None

    def demonstration_model(self, settings: Settings) -> str | None:
        """None: whatever the server runs was chosen by the user."""
        return None


def _unusable(model: str, status: str, fix: str) -> ProviderCheck:
    """A failed verdict on the openai provider."""
    return ProviderCheck("openai", model, False, status, fix)
