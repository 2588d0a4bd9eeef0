"""The `[Hybrid]` log lines, and the filter that keeps secrets out of every log record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from functools import lru_cache

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
    """Replace every secret in a text by `***`, in the forms Markdown readers decode too.

    A model may echo a key as `sk\\-…` (a Markdown escape), `sk&#45;…` (an HTML entity) or
    with `<!-- -->` inside it: pandoc, browsers and Word show each as the key itself.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            if "\\" in text or "&" in text or "<!--" in text:
                text = _encoded(secret).sub("***", text)
    return text


@lru_cache(maxsize=64)
def _encoded(secret: str) -> re.Pattern[str]:
    """The secret with each character possibly escaped, as an entity, or split by a comment."""
    chars = [rf"(?:\\?{re.escape(c)}|&#0*{ord(c)};|&#[xX]0*{ord(c):x};)" for c in secret]
    return re.compile(r"(?:<!--.*?-->)*".join(chars), re.DOTALL | re.IGNORECASE)


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
