"""Provider SDK errors (openai, ollama, httpx) become our ProviderError tree here, and only here."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
import ollama
import openai

from reporting.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    ReportingError,
)
from reporting.text import one_line

try:  # openai 3.x sends through httpx2; its errors are mapped too when they leak
    import httpx2

    _TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException, httpx2.TimeoutException)
    _TRANSPORT: tuple[type[BaseException], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:  # pragma: no cover - depends on the installed openai
    _TIMEOUTS = (httpx.TimeoutException,)
    _TRANSPORT = (httpx.TransportError,)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `retry-after-ms`."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _openai_message(exc: openai.APIStatusError) -> str:
    """The `error.message` of an OpenAI error body, else the exception text."""
    body: Any = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(exc.message)


def from_status(
    status: int, message: str, model: str, retry_after: float | None = None
) -> ProviderError:
    """The ProviderError for an HTTP status, with a message that says the fix when we know it."""
    detail = one_line(message)
    if status == 429:
        return ProviderRateLimited(f"HTTP 429 rate limited: {detail}", retry_after=retry_after)
    if status in (408, 504):
        return ProviderTimeout(f"HTTP {status} timeout: {detail}")
    if status >= 500 or status == 409:
        return ProviderServerError(f"HTTP {status} server error: {detail}")
    if status == 404:
        return ProviderRejected(f"HTTP 404: model {model!r} not found: {detail}")
    if status in (401, 403):
        return ProviderRejected(
            f"HTTP {status}: the provider refused the credentials ({detail}); check the API key"
        )
    return ProviderRejected(f"HTTP {status}: {detail}")


def to_provider_error(exc: BaseException, model: str) -> ReportingError:
    """Translate any exception raised by a chat model call into our error tree."""
    if isinstance(exc, ReportingError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout("request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return ProviderUnreachable(f"connection failed: {one_line(str(cause)) or 'no reply'}")
    if isinstance(exc, openai.APIStatusError):
        headers = dict(exc.response.headers) if exc.response is not None else None
        return from_status(exc.status_code, _openai_message(exc), model, parse_retry_after(headers))
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return ProviderBadResponse(f"unreadable response: {one_line(str(exc))}")
    if isinstance(exc, ollama.ResponseError):
        if exc.status_code < 0:
            return ProviderBadResponse(f"bad response: {one_line(exc.error)}")
        return from_status(exc.status_code, exc.error, model)
    if isinstance(exc, httpx.HTTPStatusError):
        headers = dict(exc.response.headers)
        return from_status(
            exc.response.status_code, exc.response.text, model, parse_retry_after(headers)
        )
    if isinstance(exc, (*_TIMEOUTS, TimeoutError)):
        return ProviderTimeout("request timed out")
    if isinstance(exc, (*_TRANSPORT, ConnectionError)):
        return ProviderUnreachable(f"connection failed: {one_line(str(exc)) or type(exc).__name__}")
    if isinstance(exc, TypeError | KeyError | IndexError | ValueError | AttributeError):
        # The SDK choked on a reply of the wrong shape (JSON, but not a chat reply).
        return ProviderBadResponse(f"unusable reply ({type(exc).__name__}: {one_line(str(exc))})")
    return ProviderError(f"{type(exc).__name__}: {one_line(str(exc))}")
