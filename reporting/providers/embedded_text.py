"""Cleaning of a small model's completion: echoed instructions, chatter, invented headings."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
_INTERJECTION = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|absolutely|great|alright|yes)[\s,.!:]*$", re.I
)
_PRESENTING = re.compile(
    r"^(?:(?:sure|certainly|of course|okay|ok|absolutely|great)[\s,.!]+)?"
    r"(?:here(?:'s|\u2019s| is| are)|below is|as requested|i have written|i've written)\b",
    re.I,
)
_PRESENTED_THING = re.compile(
    r"\b(?:section|introduction|body|paragraph|text|draft|summary|version|report|content|"
    r"overview|response|answer|prose|words?)\b|:$",
    re.I,
)
_MD_HEADING = re.compile(r"^#{1,6}(?:\s|$)")
_EMPHASIS_LINE = re.compile(r"^(\*\*|__)[^*_]{1,80}\1:?$")
_PLACEHOLDER_LINE = re.compile(r"^\[[^\]]{0,80}\]$")
_NUMBERED_PART = re.compile(r"^(?:section|chapter|part)\s+\d+(?:\.\d+)*\b", re.I)
_TITLE_LABEL = re.compile(r"^title\s*:", re.I)
_LABEL_PREFIX = re.compile(
    r"^(?:(?:section|chapter|part)\s+\d+(?:\.\d+)*\s*[-\u2013\u2014:.]?\s*)?"
    r"(?P<label>[A-Za-z][\w'\u2019&/ -]{0,48}?)\s*:\s+(?=\S)"
)
_LABEL_VALUE = re.compile(r"(?:^|[.!?] +|\n) *([A-Z][\w ]{0,30}):[ \t]+([^.!?\n:]+)", re.M)
_LABEL_START = re.compile(r"^[A-Z][\w'\u2019 -]{0,30}:\s")
_LIST_OR_TABLE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\|)")
_ENUMERATION = re.compile(r"^\s*(?:[-*+]|\d+(?:\.\d+)*[.)]?)\s+")
_WORD_COUNT = re.compile(r"\b\d+\s*(?:-\s*)?words?\b", re.I)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s|$)")
_SEGMENT_END = re.compile(r"[.!?:][\"'\u201d\u2019)\]]*(?=\s|$)")
_PROSE_END = re.compile(r"[.!?,;][\"'\u201d\u2019)\]*_]*$")
_QUOTED = re.compile(r"[\"'\u2018\u201c]([^\"'\u2018\u2019\u201c\u201d\n]{2,60})[\"'\u2019\u201d]")
_SPECIAL_TOKEN = re.compile(r"<\|[a-z_]+\|>")
_GENERIC_LABELS = frozenset(
    {
        "abstract", "acknowledgements", "acknowledgments", "answer", "appendix", "audience",
        "background", "body", "brief", "conclusion", "conclusions", "content", "context",
        "cover", "description", "details", "draft", "executive summary", "foreword", "intro",
        "introduction", "key points", "overview", "paragraph", "preface", "purpose",
        "references", "report", "response", "scope", "section", "section body", "summary",
        "text", "title", "word count",
    }
)  # fmt: skip
_GENERIC_LABEL_WORDS = frozenset(word for label in _GENERIC_LABELS for word in label.split())
_IMPERATIVES = frozenset(
    {
        "write", "expand", "refine", "rewrite", "revise", "draft", "summarise", "summarize",
        "cover", "keep", "use", "include", "mention", "explain", "describe", "avoid", "do",
        "never", "make", "add", "return", "output", "continue",
    }
)  # fmt: skip


@dataclass(frozen=True)
class _Prompt:
    """What the cleaner needs to know about the prompt."""

    norm: str  # the whole prompt, normalised and padded with spaces
    titles: frozenset[str]  # quoted strings: section titles
    names: frozenset[str]  # titles, short `Label: value` values and short lines
    labels: frozenset[str]  # the prompt's own `Label:` words (Report, Audience, Brief…)


def _norm(text: str) -> str:
    """Lower-case words only, single-spaced, for containment checks."""
    return " ".join(_WORD.findall(text.lower()))


def _read_prompt(prompt: str) -> _Prompt:
    """Index the prompt's text, quoted titles and short names."""
    titles = {_norm(m) for m in _QUOTED.findall(prompt) if 0 < len(m.split()) <= 8}
    names = set(titles)
    labelled = _LABEL_VALUE.findall(prompt)
    names.update(_norm(value) for _, value in labelled)
    names.update(
        _norm(_ENUMERATION.sub("", line))
        for line in prompt.splitlines()
        if _PROSE_END.search(line.strip()) is None  # titles and contents entries, not prose
    )
    return _Prompt(
        norm=f" {_norm(prompt)} ",
        titles=frozenset(titles),
        names=frozenset(name for name in names if 0 < len(name.split()) <= 8),
        labels=frozenset(_norm(label) for label, _ in labelled),
    )


def _first_segment(line: str) -> tuple[str, str]:
    """Split a line after its first sentence, or its `label:` when nothing follows on the line."""
    label = _LABEL_START.match(line)
    start = label.end() if label is not None else 0
    match = _SEGMENT_END.search(line, start)
    if match is None:
        return line, ""
    return line[: match.end()], line[match.end() :].lstrip()


def _is_label(label: str, prompt: _Prompt) -> bool:
    """Whether `label` names a document part (Introduction, Summary, a section title…)."""
    norm = _norm(label)
    if not norm:
        return False
    if norm in _GENERIC_LABELS or norm in prompt.titles:
        return True
    title_words = {word for title in prompt.titles for word in title.split()}
    return all(word in _GENERIC_LABEL_WORDS or word in title_words for word in norm.split())


def _is_echo(segment: str, prompt: _Prompt) -> bool:
    """Whether a sentence repeats an instruction, title or label value of the prompt."""
    words = _norm(segment).split()
    if not words:
        return False
    label = _LABEL_START.match(segment.strip())
    instruction = (
        words[0] in _IMPERATIVES
        or _WORD_COUNT.search(segment) is not None
        or (label is not None and _norm(label.group()) in prompt.labels)
    )
    if f" {' '.join(words)} " not in prompt.norm:
        # A reworded instruction ("Write … section 2 …") still counts when most words match.
        known = sum(f" {word} " in prompt.norm for word in words)
        return instruction and known >= 0.7 * len(words)
    return (
        instruction
        or label is not None
        or " ".join(words) in prompt.names
        or _PROSE_END.search(segment.strip().rstrip(":")) is None
    )


def _is_heading_line(line: str, next_line: str | None) -> bool:
    """Whether a whole line is a heading or title the model invented."""
    text = line.strip()
    if _MD_HEADING.match(text) or _EMPHASIS_LINE.match(text) or _PLACEHOLDER_LINE.match(text):
        return True
    if (_NUMBERED_PART.match(text) and len(text.split()) <= 8) or _TITLE_LABEL.match(text):
        return True
    if _LIST_OR_TABLE.match(text):
        return False
    if text.endswith(":"):
        return len(text.split()) <= 6 and (next_line is None or not _LIST_OR_TABLE.match(next_line))
    # A short line without a sentence ending is a title when text follows it; the last line
    # is more likely a reply cut short by max_tokens.
    return next_line is not None and len(text.split()) <= 10 and _PROSE_END.search(text) is None


def _strip_lead(line: str, next_line: str | None, prompt: _Prompt) -> str:
    """One cleaning step on the first line; returns it stripped when nothing applies."""
    text = line.strip()
    if _is_heading_line(text, next_line):
        return ""
    segment, rest = _first_segment(text)
    if _INTERJECTION.match(segment) or _is_echo(segment, prompt):
        return rest
    if _PRESENTING.match(segment) and (
        segment.endswith(":") or _PRESENTED_THING.search(segment) is not None
    ):
        return rest
    label = _LABEL_PREFIX.match(text)
    if label is not None and _is_label(label.group("label"), prompt):
        return text[label.end() :]
    return text


def _is_restart(line: str, next_line: str | None, prompt: _Prompt) -> bool:
    """Whether a later line starts a heading, a labelled part or an echo of the prompt."""
    text = line.strip()
    if not text:
        return False
    if _is_heading_line(text, next_line):
        return True
    label = _LABEL_PREFIX.match(text)
    if label is not None and _is_label(label.group("label"), prompt):
        return True
    return _is_echo(_first_segment(text)[0], prompt)


def clean_completion(text: str, prompt: str) -> str:
    """Strip a small model's restatement of the prompt and everything after a made-up heading.

    At the start it drops chatter ("Sure! Here is…"), invented headings, titles and labels
    ("Introduction:", "**Overview**", "Section 1"), and sentences that repeat an instruction,
    title or `Label: value` of `prompt` word for word. From the second line on, the text is cut
    at the first such line, where a small model starts the document over. Prose that merely
    shares words with the prompt (a previous draft, the brief's facts) is kept.
    """
    info = _read_prompt(prompt)
    lines = _SPECIAL_TOKEN.sub("", text).replace("\r\n", "\n").split("\n")
    for _ in range(20):
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            return ""
        following = next((line for line in lines[1:] if line.strip()), None)
        cleaned = _strip_lead(lines[0], following, info)
        if cleaned == lines[0].strip():
            break
        lines[0] = cleaned

    kept = [lines[0].strip()]
    for index in range(1, len(lines)):
        following = next((line for line in lines[index + 1 :] if line.strip()), None)
        if _is_restart(lines[index], following, info):
            break
        kept.append(lines[index].rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept).strip())
