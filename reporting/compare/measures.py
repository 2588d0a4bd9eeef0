"""Simple measures of one model text: length against its target, repeated sentences, readability."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import textstat

from reporting.text import sentence_key

# Markdown that is not prose: list markers, heading hashes, quote marks at a line's start.
_LINE_MARKER = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+|>\s*)+", re.MULTILINE)
# Emphasis and code marks inside a line: **bold**, *italic*, __bold__, `code`.
_EMPHASIS = re.compile(r"\*{1,3}|_{2,3}|`+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class TextMeasures:
    """Measures of one text; all are cheap and need no model."""

    words: int
    target_words: int
    length_ratio: float  # words / target_words, rounded to 2 decimals
    repeated_sentences: int  # extra copies of sentences that occur more than once
    readability: float  # Flesch reading ease, rounded to 1 decimal; 0.0 for empty text

    def as_dict(self) -> dict[str, Any]:
        """The measures as a JSON-ready dict."""
        return asdict(self)


def _plain(text: str) -> str:
    """The text without Markdown list, heading and emphasis marks."""
    return _EMPHASIS.sub("", _LINE_MARKER.sub("", text))


def _sentences(plain: str) -> list[str]:
    """Sentences split at . ! ? followed by whitespace, and at line breaks (list items)."""
    return [part.strip() for part in _SENTENCE_BREAK.split(plain) if _WORD.search(part)]


def count_words(text: str) -> int:
    """Words of a text without its Markdown marks: tokens with at least one letter or digit."""
    return sum(1 for token in _plain(text).split() if _WORD.search(token))


def repeated_sentences(text: str) -> int:
    """Extra copies of sentences that occur more than once, compared after normalising."""
    counts = Counter(sentence_key(s) for s in _sentences(_plain(text)))
    return sum(n - 1 for sentence, n in counts.items() if sentence and n > 1)


def readability(text: str) -> float:
    """Flesch reading ease by textstat, rounded to 1 decimal; 0.0 for text without words."""
    sentences = _sentences(_plain(text))
    if not sentences:
        return 0.0
    # Each list item is a sentence even without a full stop, so a plan is not read as one
    # endless sentence.
    joined = " ".join(s if s[-1] in ".!?" else s + "." for s in sentences)
    return round(float(textstat.flesch_reading_ease(joined)), 1)


def measure_text(text: str, target_words: int) -> TextMeasures:
    """All measures of a text written for a target of `target_words` words."""
    if target_words <= 0:
        raise ValueError(f"target_words must be positive, got {target_words}")
    words = count_words(text)
    return TextMeasures(
        words=words,
        target_words=target_words,
        length_ratio=round(words / target_words, 2),
        repeated_sentences=repeated_sentences(text),
        readability=readability(text),
    )
