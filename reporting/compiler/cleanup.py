"""Model-text cleanup: every reply becomes prose under the compiler's own headings.

Two passes: `clean_section_text` on each reply as it arrives (before it is cached or counted as
empty), then `tidy_step_text` on each step's text (repeated sentences, stray list markers,
citations of sources the step was not given), which records what it removed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reporting.logs import hybrid
from reporting.sources.citations import check_citations
from reporting.text import MARKDOWN, code_lines, map_prose_sentences, sentence_key, strip_controls

if TYPE_CHECKING:
    from reporting.compiler.runner import StepResult

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_PREAMBLE = re.compile(
    # "Sure! Here is…", "Certainly." — an interjection cut off by punctuation, then chatter;
    r"^\s*(?:(?:sure|certainly|of course|absolutely|okay|ok|great)[!.,]\s*(?:$|.*\bhere\b|.*:\s*$)"
    # "Here is the revised section:", "Below is…:", "I have rewritten it as follows:".
    r"|as requested\b"
    r"|(?:here(?:'s| is| are)|below is|i(?:'ve| have) (?:written|drafted|revised"
    r"|polished|rewritten))\b.*:\s*$)",
    re.IGNORECASE,
)
# A paragraph that talks about the editing instead of the subject ("I made several changes…").
_META_PARAGRAPH = re.compile(
    r"^\s*(?:i(?:'ve| have)? (?:also |just |then )?(?:made|revised|rewritten|rewrote"
    r"|reorganized|reorganised|improved"
    r"|removed|changed|edited|polished|tightened|added|kept)\b"
    r"|(?:this|the) (?:revised|rewritten|polished|edited|improved) (?:version|draft|text|section)\b"
    r"|(?:note|changes made|explanation of changes)\s*:"
    r"|.{0,80}\b(?:rewrit(?:e|ing) this draft|reply with the rewritten text)\b)",
    re.IGNORECASE,
)
_WRAPPING_FENCE = re.compile(r"^\s*```(?:markdown|md|text)?\s*\n(.*?)\n```\s*$", re.DOTALL)
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Chat-template tokens and template syntax that must never reach a reader.
_TEMPLATE_MARKER = re.compile(r"<\|[a-z_]+\|>|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_MARKER_LINE = re.compile(r"^\s*(?:<{3,}|>{3,}|\[(?:insert|todo|tbd)[^\]]*\])\s*$", re.I | re.M)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]*_]*(?=\s|$)")


def strip_think(text: str) -> str:
    """Remove `<think>…</think>` blocks that reasoning models emit."""
    return _THINK.sub("", text)


def strip_preamble(text: str) -> str:
    """Drop a leading chat-style preamble line such as "Sure, here is the section:"."""
    first, _, rest = text.lstrip().partition("\n")
    if _PREAMBLE.match(first) and len(first) < 160:
        return rest
    return text


def strip_template_markers(text: str) -> str:
    """Remove chat-template tokens, `{{ … }}`/`{% … %}` leftovers and `<<<`-style lines."""
    return _MARKER_LINE.sub("", _TEMPLATE_MARKER.sub("", text))


def trim_to_sentence(text: str) -> str:
    """Cut a text that stopped mid-sentence back to its last full sentence."""
    body = text.rstrip()
    if not body or _SENTENCE_END.search(body[-3:]):
        return body
    ends = list(_SENTENCE_END.finditer(body))
    return body[: ends[-1].end()] if ends else body


def abstract_paragraphs(text: str, limit: int = 3) -> str:
    """The abstract as one to three prose paragraphs: no list, no table, no code."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line) for line in paragraph.split("\n")]
        lines = [
            line for line in lines if line.strip() and not line.lstrip().startswith(("|", "```"))
        ]
        if lines:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs[:limit])


def drop_meta_paragraphs(text: str) -> str:
    """Remove paragraphs in which the model comments on its own editing."""
    paragraphs = re.split(r"\n\s*\n", text)
    kept = [p for p in paragraphs if not _META_PARAGRAPH.match(p)]
    return "\n\n".join(kept) if kept else text


_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+]|[0-9]{1,3}[.)])[ \t]*$")


def drop_empty_list_items(text: str) -> str:
    """Remove lines that are a bare list marker ("4.", "-"): a small model's stray numbering."""
    code = code_lines(text)
    lines = text.split("\n")
    kept = [line for n, line in enumerate(lines) if n in code or not _EMPTY_ITEM.match(line)]
    return "\n".join(kept) if len(kept) < len(lines) else text


def drop_repeated_sentences(text: str) -> tuple[str, int]:
    """Remove prose sentences that repeat an earlier one of the text; return the count removed."""
    # Small models loop ("The stall ends. The stall ends."); a reader must never see it.
    seen: set[str] = set()
    removed = 0

    def once(sentence: str) -> str | None:
        nonlocal removed
        key = sentence_key(sentence)
        if key and len(key.split()) >= 3 and key in seen:
            removed += 1
            return None
        seen.add(key)
        return sentence

    return map_prose_sentences(text, once), removed


def unwrap_fence(text: str) -> str:
    """Unwrap a reply that was entirely inside one ```markdown fence."""
    match = _WRAPPING_FENCE.match(text)
    if not match or any(_FENCE_LINE.match(line) for line in match.group(1).split("\n")):
        return text  # no wrapper, or code blocks of its own: leave it alone
    return match.group(1)


def demote_headings(text: str, section_title: str | None = None, *, drop: bool = False) -> str:
    """Turn every heading the model wrote into a bold line; drop one that repeats the title.

    The document's headings belong to the compiler, so the structure always equals the outline.
    """
    lines = text.split("\n")
    tokens = MARKDOWN.parse(text)
    replacements: list[tuple[int, int, str]] = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None:
            continue
        content = tokens[index + 1].content.strip()
        start, end = token.map
        repeats_title = section_title is not None and _same_words(content, section_title)
        replacement = "" if drop or repeats_title or not content else f"**{content}**"
        replacements.append((start, end, replacement))
    for start, end, replacement in reversed(replacements):
        # A blank line after the bold line keeps it a paragraph of its own.
        lines[start:end] = ["", replacement, ""] if replacement else []
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _same_words(a: str, b: str) -> bool:
    """Whether two headings say the same thing, ignoring numbering, case and punctuation."""

    def words(text: str) -> list[str]:
        return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if not w.isdigit()]

    return words(a) == words(b)


def balance_fences(text: str) -> str:
    """Close a code fence the model left open, so the rest of the report is not swallowed."""
    open_fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE_LINE.match(line)
        if not match:
            continue
        marker = match.group(1)
        if open_fence is None:
            open_fence = marker
        elif marker[0] == open_fence[0] and len(marker) >= len(open_fence):
            open_fence = None
    return text if open_fence is None else f"{text.rstrip()}\n{open_fence}"


def clean_section_text(
    text: str, section_title: str | None = None, *, abstract: bool = False, truncated: bool = False
) -> str:
    """Everything a model's reply goes through; the abstract becomes 1-3 prose paragraphs."""
    text = strip_controls(strip_think(text))
    text = strip_template_markers(text)
    text = unwrap_fence(text.strip())
    text = strip_preamble(text)
    text = demote_headings(text, section_title, drop=abstract)
    text = strip_preamble(text)  # a preamble may follow a heading the model put first
    text = drop_meta_paragraphs(text)
    text = balance_fences(text)
    if truncated:  # cut by the token limit: never end mid-sentence
        text = balance_fences(trim_to_sentence(text))
    if abstract:
        text = abstract_paragraphs(text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def tidy_text(text: str, given: int) -> tuple[str, int, int]:
    """A step's text without repeated sentences or citations outside 1..given; both counts."""
    text, repeats = drop_repeated_sentences(drop_empty_list_items(text))
    text, _, removed = check_citations(text, given)
    return text, repeats, removed


def tidy_step_text(result: StepResult, given: int) -> StepResult:
    """Remove repeated sentences, and citations of sources the step was not given; count both."""
    text, repeats, removed = tidy_text(result.text, given)
    result.text, result.sources_given, result.citations_removed = text, given, removed
    result.repeats_removed = repeats
    if removed:
        hybrid(
            Phase=result.step.phase.name,
            Section=result.step.section_id or "-",
            Event="CITATIONS",
            Removed=removed,
            Given=given,
        )
    return result
