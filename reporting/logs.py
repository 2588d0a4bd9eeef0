"""The `[Hybrid]` log lines, and the filter that keeps secrets out of every log record."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar

logger = logging.getLogger("reporting.hybrid")

# Set by `report batch` for each report, so interleaved lines say which report they belong to.
current_report: ContextVar[str | None] = ContextVar("current_report", default=None)


def hybrid(**fields: object) -> None:
    """Log one `[Hybrid] Key=value | …` line; fields with None values are left out."""
    _log_line(fields, routine=False)


def hybrid_routine(**fields: object) -> None:
    """A `[Hybrid]` line that only says a request went out or came from the cache.

    The live table on a terminal shows the same, so the CLI leaves these lines out there.
    """
    _log_line(fields, routine=True)


def _log_line(fields: dict[str, object], *, routine: bool) -> None:
    fields = {"Report": current_report.get(), **fields}
    parts = [f"{key}={value}" for key, value in fields.items() if value is not None]
    logger.info("[Hybrid] %s", " | ".join(parts), extra={"routine": routine})


class SkipRoutine(logging.Filter):
    """Drops the routine `[Hybrid]` lines (a request sent, a cache hit) that a live table shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the routine ones."""
        return not getattr(record, "routine", False)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in a text by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message so no secret reaches any handler."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, with the secrets replaced."""
        if self.secrets:
            record.msg = redact(record.getMessage(), self.secrets)
            record.args = None
        return True
