"""Numbered source context for prompts, citation checking, and report-wide renumbering."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reporting.sources.read import Chunk
from reporting.text import INLINE_CODE, code_lines, map_prose_sentences, stopwords, unix_newlines

# A citation group: [1], [1, 3], [1,3] or a range [1-3]; written as a link, "[1](http://x)",
# it is still a citation and loses the link. (A reference definition "[1]: url" at a line's
# start is told apart in `_rewrite`.) At most three ASCII digits: "[2023]" is a year.
_ITEM = r"[0-9]{1,3}(?:\s*[-\u2013]\s*[0-9]{1,3})?"
_GROUP = re.compile(rf"\[(?P<nums>\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*)\](?P<link>\([^()\s]*\))?")
# Footnotes are not how a report cites: "[^1]" marks and their "[^1]: ..." lines go.
_FOOTNOTE_LINE = re.compile(r"(?m)^[ \t]*\[\^[^\]\s]{1,40}\]:.*(?:\n|$)")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]{1,40}\]")
MAX_RANGE = 20  # "[1-999]" cites nothing checkable: every number of it counts as invented
# An inline code span, left alone, or a citation group.
_CODE_OR_GROUP = re.compile(rf"(?P<code>{INLINE_CODE.pattern})|{_GROUP.pattern}")
_GONE = "\x00"  # marks a removed citation until the spacing around it is tidied
_GONE_RUN = r"(?:[ \t]*\x00)+"
_GONE_LINE = re.compile(rf"(?m)^{_GONE_RUN}[ \t]*\n")
_GONE_AT_LINE_START = re.compile(rf"(?m)^{_GONE_RUN}[ \t]*")
# Spaces after a removed citation at a line's end stay: two of them are a hard break.
_GONE_BEFORE_TIGHT = re.compile(rf"(?m){_GONE_RUN}(?:[ \t]*(?=[.,;:!?)\]}}])|(?=[ \t]*$))")
_GONE_BETWEEN = re.compile(rf"{_GONE_RUN}[ \t]*")
REFERENCE_WORDS = 12  # words of a chunk quoted in the references list


def format_context(hits: Sequence[Chunk | tuple[Chunk, float]]) -> str:
    """Number chunks [1], [2], … with their source names, as context for a prompt."""
    blocks: list[str] = []
    for number, hit in enumerate(hits, start=1):
        chunk = hit[0] if isinstance(hit, tuple) else hit
        blocks.append(f"[{number}] (source: {chunk.source})\n{chunk.text.strip()}")
    return "\n\n".join(blocks)


def _numbers(group: str) -> list[int]:
    """The integers in a citation group's inside: ' 1, 3' -> [1, 3], '2-4' -> [2, 3, 4].

    A range backwards or longer than MAX_RANGE gives 0, which no source has.
    """
    numbers: list[int] = []
    for part in group.split(","):
        ends = [int(n) for n in re.split(r"[-\u2013]", part)]
        if len(ends) == 1:
            numbers.append(ends[0])
        elif ends[0] <= ends[1] and ends[1] - ends[0] < MAX_RANGE:
            numbers.extend(range(ends[0], ends[1] + 1))
        else:
            numbers.append(0)
    return numbers


def _tidy(text: str) -> str:
    """Drop removed-citation marks without leaving doubled spaces or spaces before punctuation."""
    text = _GONE_LINE.sub("", text)  # a line that held only "[9]" goes, not just its text
    text = _GONE_AT_LINE_START.sub("", text)  # "[9] Text" -> "Text"
    text = _GONE_BEFORE_TIGHT.sub("", text)  # "word [9]." -> "word."
    return _GONE_BETWEEN.sub(" ", text)  # "word [9] next" -> "word next"


def _rewrite(
    text: str, given: int, renumber: dict[int, int] | None = None
) -> tuple[str, list[int], int]:
    """Keep citations 1..given (mapped through renumber if given), drop the rest (and NULs)."""
    cited: list[int] = []
    removed = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal removed
        line, at = match.string, match.start()
        if match.group("code") or (line.startswith(":", match.end()) and not line[:at].strip()):
            return match.group(0)  # code, or a reference definition "[1]: url"
        numbers = _numbers(match.group("nums"))
        kept: list[int] = []
        for number in numbers:
            if 1 <= number <= given:
                if number not in kept:
                    kept.append(number)
                if number not in cited:
                    cited.append(number)
            else:
                removed += 1
        if not kept:
            return _GONE
        shown = sorted(renumber[n] for n in kept) if renumber else kept
        return "[" + ", ".join(str(n) for n in shown) + "]"

    def footnotes(line: str) -> str:
        nonlocal removed
        line, count = _FOOTNOTE.subn(_GONE, line)
        removed += count
        return line

    # Code is left alone: `a[1]` in a code span or block is an index, not a citation.
    text = unix_newlines(text).replace(_GONE, "")
    code = code_lines(text)
    lines = [
        line if number in code else _CODE_OR_GROUP.sub(replace, footnotes(line))
        for number, line in enumerate(_FOOTNOTE_LINE.sub("", text).split("\n"))
    ]
    clean = _tidy("\n".join(lines))
    if renumber is None:
        return clean, cited, removed
    return clean, [renumber[n] for n in cited], removed


def check_citations(text: str, given: int) -> tuple[str, list[int], int]:
    """Keep citations [n] with 1 <= n <= given; return (text, cited in order, removed count)."""
    # Handles [1], [1, 3] and [2][3]; invented numbers (0 or > given) are removed.
    return _rewrite(text, given)


# Attribution: an uncited sentence gets [n] when most of its content words come from chunk n.
ATTRIBUTION_SHARE = 0.6  # share of the sentence's content words found in the chunk
ATTRIBUTION_MIN_WORDS = 4  # shorter sentences say too little to attribute
_CONTENT_WORD = re.compile(r"\w{3,}")
_NUMBER = re.compile(r"[0-9]+(?:[.,:][0-9]+)*")
_TRAILING_PUNCT = re.compile(r"([.!?][\"'\u201d\u2019)]*)$")


def _content_words(text: str) -> set[str]:
    """Lower-case words of three or more characters that are not English stop words."""
    return {word for word in _CONTENT_WORD.findall(text.lower()) if word not in stopwords()}


def best_support(sentence: str, chunks: Sequence[Chunk]) -> tuple[int, float] | None:
    """The chunk number (1-based) holding the largest share of a sentence's content words."""
    words = _content_words(sentence)
    if len(words) < ATTRIBUTION_MIN_WORDS or not chunks:
        return None
    shares = [len(words & _content_words(chunk.text)) / len(words) for chunk in chunks]
    best = max(range(len(shares)), key=lambda i: (shares[i], -i))
    return best + 1, shares[best]


def attribute(text: str, chunks: Sequence[Chunk]) -> tuple[str, int]:
    """Cite [n] after prose sentences without a citation that mostly restate chunk n."""
    # Small models copy facts from their sources but rarely cite them. A sentence whose
    # content words are mostly one given chunk's is supported by it, checkably; others stay
    # uncited. Nothing is cited that the call was not given.
    added = 0

    def cite(sentence: str) -> str:
        nonlocal added
        if _GROUP.search(sentence):
            return sentence
        support = best_support(sentence, chunks)
        if support is None or support[1] < ATTRIBUTION_SHARE:
            return sentence
        # Shared words are not enough when the numbers differ: "paused at 7:14" is not
        # supported by "paused at 07:39", however many words the two share.
        if not set(_NUMBER.findall(sentence)) <= set(_NUMBER.findall(chunks[support[0] - 1].text)):
            return sentence
        added += 1
        number = support[0]
        if _TRAILING_PUNCT.search(sentence):
            return _TRAILING_PUNCT.sub(rf" [{number}]\1", sentence, count=1)
        return f"{sentence} [{number}]"

    return map_prose_sentences(text, cite), added


def first_words(text: str, words: int = REFERENCE_WORDS) -> str:
    """The first words of a text on one line, with an ellipsis if it was cut."""
    # Markup-only words ("#", "-", ">") of a Markdown source say nothing to a reader.
    parts = [word for word in text.split() if any(char.isalnum() for char in word)]
    quoted = " ".join(parts[:words]).replace('"', "'")
    return quoted + ("…" if len(parts) > words else "")


@dataclass(frozen=True)
class Reference:
    """One entry of the References list: its number, source file, opening words and chunk."""

    number: int
    source: str
    quote: str
    chunk_id: str
    page: int | None = None  # the PDF page the quoted chunk starts on


class CitationRegistry:
    """Renumbers section-local citations into one numbering for the whole report."""

    # Call `register` for sections in outline order: global numbers are given in order of
    # first citation, and a chunk cited by two sections keeps one number.

    def __init__(self) -> None:
        """Start with no sections and no references."""
        self._numbers: dict[str, int] = {}  # chunk id -> global number
        self._chunks: list[Chunk] = []  # index = global number - 1
        self.by_section: dict[str, list[int]] = {}  # section id -> global numbers it cites
        self.removed: dict[str, int] = {}  # section id -> invented citations removed

    def register(self, section_id: str, text: str, chunks_given: Sequence[Chunk]) -> str:
        """Check a section's citations against the chunks it was given and renumber them."""
        if section_id in self.by_section:
            raise ValueError(f"section {section_id!r} was already registered")
        _, local_order, removed = check_citations(text, len(chunks_given))
        mapping: dict[int, int] = {}
        for local in local_order:
            chunk = chunks_given[local - 1]
            if chunk.id not in self._numbers:
                self._chunks.append(chunk)
                self._numbers[chunk.id] = len(self._chunks)
            mapping[local] = self._numbers[chunk.id]
        self.by_section[section_id] = sorted(mapping.values())
        self.removed[section_id] = removed
        renumbered, _, _ = _rewrite(text, len(chunks_given), mapping)
        return renumbered

    @property
    def cited(self) -> list[Chunk]:
        """The cited chunks, in global-number order."""
        return list(self._chunks)

    def number_of(self, chunk_id: str) -> int | None:
        """The global number of a chunk, None if no section cites it."""
        return self._numbers.get(chunk_id)

    def references(self) -> list[Reference]:
        """The References list, in number order."""
        return [
            Reference(number, chunk.source, first_words(chunk.text), chunk.id, chunk.page)
            for number, chunk in enumerate(self._chunks, start=1)
        ]
