"""Plain-text helpers every stage shares: one-line messages, sentences, numbers, stop words."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cache

from markdown_it import MarkdownIt

MARKDOWN = MarkdownIt("commonmark").enable("table")

_DECIMALS = 2
_CENT = Decimal(1).scaleb(-_DECIMALS)


def format_number(value: int | float | Decimal) -> str:
    """A number as the report writes it: `1,234,567`, `-1,234.5`, `0.25` (at most 2 decimals).

    Integers get thousands separators; floats and Decimals are rounded to two decimals (floats
    as Python rounds them, Decimals half up) without trailing zeros. A value that rounds to
    zero is `0`, never `-0`. Not a number, infinities: `NaN`, `∞`, `-∞`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        text = f"{value:,.{_DECIMALS}f}"
    else:
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "∞" if value > 0 else "-∞"
        exact = Context(prec=max(28, value.adjusted() + _DECIMALS + 2))  # no overflow
        text = f"{value.quantize(_CENT, rounding=ROUND_HALF_UP, context=exact):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and cut a long message (a server's, a parser's) to one short line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_SENTENCE_GAP = re.compile(r"(?<=[.!?])(\s+)")
# An inline code span: a run of backticks, text, the same run ("`a`", "``a`b``").
INLINE_CODE = re.compile(r"(?P<ticks>`+)(?:(?!(?P=ticks)).)+?(?P=ticks)")
_NOT_WORD = re.compile(r"[^\w\s]+")


def sentence_key(sentence: str) -> str:
    """A sentence compared loosely: lower case, no punctuation, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", sentence.casefold()).split())


def unix_newlines(text: str) -> str:
    """Every line break as "\\n": markdown-it also breaks lines at a lone "\\r"."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def code_lines(text: str) -> set[int]:
    """Numbers of the lines inside code blocks and fences (``` or ~~~, indented), at any depth."""
    lines: set[int] = set()
    for token in MARKDOWN.parse(unix_newlines(text)):
        if token.type in ("code_block", "fence") and token.map:
            lines.update(range(*token.map))
    return lines


def _rewrite_paragraph(paragraph: str, rewrite: Callable[[str], str | None]) -> str:
    """A paragraph with each sentence rewritten; the whitespace between them is kept."""
    # Code spans are set aside first, so a "." inside one never splits a sentence and no
    # rewrite reaches into code; a sentence's own line breaks stay inside it.
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x01{len(spans) - 1}\x01"

    hidden = INLINE_CODE.sub(hide, paragraph)
    parts = _SENTENCE_GAP.split(hidden)  # sentence, gap, sentence, gap, …
    out: list[str] = []
    for index in range(0, len(parts), 2):
        new = rewrite(parts[index])
        if new:
            if out and index > 0:
                out.append(parts[index - 1])  # the gap before a kept sentence
            out.append(new)
    return re.sub("\x01([0-9]+)\x01", lambda m: spans[int(m.group(1))], "".join(out))


def map_prose_sentences(text: str, rewrite: Callable[[str], str | None]) -> str:
    """Pass every sentence of the top-level paragraphs through rewrite (None drops it).

    Lists, tables, quotes, headings and code are left exactly as they are, and so are line
    breaks, indentation and hard breaks inside a paragraph.
    """
    text = unix_newlines(text)
    lines = text.split("\n")
    paragraphs = [
        token.map
        for token in MARKDOWN.parse(text)
        if token.type == "paragraph_open" and token.level == 0 and token.map
    ]
    # Rewritten in reading order (a rewrite may remember earlier sentences), then put back
    # from the end, so the line numbers of earlier paragraphs still hold.
    rewritten = []
    for start, end in paragraphs:
        block = "\n".join(lines[start:end])
        lead = block[: len(block) - len(block.lstrip())]
        rewritten.append((start, end, lead, _rewrite_paragraph(block.strip(), rewrite)))
    for start, end, lead, new in reversed(rewritten):
        if new:
            lines[start:end] = (lead + new).split("\n")
            continue
        # A paragraph with nothing left goes, with the blank line that separated it.
        del lines[start:end]
        if (
            start < len(lines)
            and not lines[start].strip()
            and (start == 0 or not lines[start - 1].strip())
        ):
            del lines[start]
        elif start > 0 and start == len(lines) and not lines[start - 1].strip():
            del lines[start - 1]
    return "\n".join(lines)


@cache
def stopwords() -> frozenset[str]:
    """English stop words (bm25s' list): left out of search terms and of content words."""
    # Imported late: bm25s pulls in NumPy.
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`: how long something took, as a person reads it."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


# Terminal escape sequences (ESC [ ... final byte, and ESC with one more character), then every
# C0 and C1 control character but tab and newline, and DEL.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """The text without terminal escapes or control characters (tab and newline kept).

    Neither a model's reply nor an outline may colour a terminal, ring its bell or put a NUL
    in a heading: none of them means anything in a document.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))


def strip_controls_deep(value: object) -> object:
    """`strip_controls` on every string of nested lists and dicts (keys too)."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, list):
        return [strip_controls_deep(item) for item in value]
    if isinstance(value, dict):
        return {strip_controls_deep(k): strip_controls_deep(v) for k, v in value.items()}
    return value
