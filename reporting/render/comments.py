"""Word comments on sentences of a DOCX, for a reviewer: each anchored exactly on its sentence.

A sentence is given as the Markdown has it; pandoc has since split it into runs at emphasis,
curled its quotes and turned `--` into a dash. It is found by comparing words only: lower case,
letters and digits, citations (`[3]`, `[1, 2]`) and Markdown marks left out, every other
character a word break. The runs at its ends are split so the comment covers the sentence, its
closing punctuation and citations included, and nothing else.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph
from docx.text.run import Run

__all__ = ["AUTHOR", "INITIALS", "Placement", "ReviewComment", "add_comments"]

AUTHOR = "reporting"
INITIALS = "R"

_CITATION = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
_DROPPED = frozenset("*_`\\")  # Markdown's emphasis, code and escape marks: not in a DOCX
# What a run may hold for it to be cut in two by setting its text (w:rPr is kept by that).
_PLAIN_RUN_PARTS = frozenset(qn(f"w:{tag}") for tag in ("rPr", "t", "tab", "br", "cr"))


@dataclass(frozen=True)
class ReviewComment:
    """A comment to place: its sentence as in the Markdown, its text, the heading it is under."""

    sentence: str
    message: str
    heading: str | None = None  # the heading's text; None (or not found): the whole document


@dataclass(frozen=True)
class Placement:
    """Which comments were anchored in the document and which sentences were not found."""

    added: tuple[ReviewComment, ...] = ()
    unplaced: tuple[ReviewComment, ...] = ()


@dataclass(frozen=True)
class _Key:
    """A text as compared: its words, and for each character of them where it stands."""

    text: str
    at: tuple[int, ...]


@dataclass(frozen=True)
class _Piece:
    """A run of a paragraph and where its text stands in the paragraph's text."""

    run: Run
    text: str
    start: int


def add_comments(
    document: DocumentObject, comments: Sequence[ReviewComment], *, when: datetime
) -> Placement:
    """Anchor each comment on its sentence; those whose sentence is not found are returned."""
    added: list[ReviewComment] = []
    unplaced: list[ReviewComment] = []
    moment = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    index = _Index(document)  # cutting runs changes no paragraph's text: read once
    for comment in comments:
        anchor = index.find(comment)
        if anchor is None:
            unplaced.append(comment)
            continue
        paragraph, start, end = anchor
        first, last = _isolate(paragraph, start, end)
        made = document.add_comment([first, last], comment.message, AUTHOR, INITIALS)
        made._comment_elm.date = moment  # the build's time, not the clock's: same input, same file
        added.append(comment)
    return Placement(tuple(added), tuple(unplaced))


class _Index:
    """The document's paragraphs in reading order, each with its text, its words and its kind."""

    def __init__(self, document: DocumentObject) -> None:
        """Read every paragraph once."""
        self.paragraphs = list(_paragraphs(document))
        self.texts = [_text(paragraph) for paragraph in self.paragraphs]
        self.keys = [_key(text) for text in self.texts]
        self.headings = [_is_heading(paragraph) for paragraph in self.paragraphs]

    def scope(self, heading: str | None) -> range:
        """The paragraphs from a heading to the next one; all of them if it has no such heading."""
        everything = range(len(self.paragraphs))
        if heading is None:
            return everything
        wanted = _key(heading).text
        for at in everything:
            if self.headings[at] and self.keys[at].text == wanted:
                end = next((n for n in range(at + 1, len(everything)) if self.headings[n]), None)
                return range(at + 1, len(everything) if end is None else end)
        return everything

    def find(self, comment: ReviewComment) -> tuple[Paragraph, int, int] | None:
        """The paragraph holding the comment's sentence and the sentence's span in its text."""
        needle = _key(comment.sentence).text
        if not needle:
            return None
        for at in self.scope(comment.heading):
            key, text = self.keys[at], self.texts[at]
            found = _whole_words(key.text, needle)
            if found is not None:
                start, end = key.at[found], key.at[found + len(needle) - 1] + 1
                return self.paragraphs[at], _widen_start(text, start), _widen_end(text, end)
        return None


def _key(text: str) -> _Key:
    """The words of a text, lower case, single-spaced, with the offset of each character."""
    cited = [False] * len(text)
    for match in _CITATION.finditer(text):
        cited[match.start() : match.end()] = [True] * (match.end() - match.start())
    chars: list[str] = []
    at: list[int] = []
    for index, char in enumerate(text):
        if cited[index] or char in _DROPPED:
            continue
        if char.isalnum():
            for folded in char.casefold():
                chars.append(folded)
                at.append(index)
        elif chars and chars[-1] != " ":
            chars.append(" ")
            at.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        at.pop()
    return _Key("".join(chars), tuple(at))


def _whole_words(haystack: str, needle: str) -> int | None:
    """Where `needle` first stands in `haystack` as whole words, or None."""
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        if (start == 0 or haystack[start - 1] == " ") and (
            end == len(haystack) or haystack[end] == " "
        ):
            return start
        start = haystack.find(needle, start + 1)
    return None


def _widen_start(text: str, start: int) -> int:
    """Back over an opening quote or bracket that belongs to the sentence."""
    while start > 0 and not text[start - 1].isspace() and not text[start - 1].isalnum():
        start -= 1
    return start


def _widen_end(text: str, end: int) -> int:
    """On over the sentence's closing punctuation and the citations that follow it."""
    while end < len(text) and not text[end].isalnum():
        if not text[end].isspace():
            end += 1
            continue
        citation = _CITATION.match(text, len(text) - len(text[end:].lstrip()))
        if citation is None:
            break
        end = citation.end()
    return end


def _is_heading(paragraph: Paragraph) -> bool:
    """Whether a paragraph is the title or a heading (by its style's id: no style lookup)."""
    style = paragraph._p.style or ""
    return style == "Title" or style.startswith("Heading")


def _paragraphs(container: DocumentObject | Table) -> Iterator[Paragraph]:
    """Every paragraph in reading order, those in table cells (at any depth) included."""
    if isinstance(container, Table):
        seen: set[object] = set()  # the cells' elements, kept so each keeps its identity
        for row in container.rows:
            for cell in row.cells:
                if cell._tc in seen:  # a merged cell is listed once per grid column
                    continue
                seen.add(cell._tc)
                for item in cell.iter_inner_content():
                    if isinstance(item, Paragraph):
                        yield item
                    else:
                        yield from _paragraphs(item)
        return
    for item in container.iter_inner_content():
        if isinstance(item, Paragraph):
            yield item
        else:
            yield from _paragraphs(item)


def _pieces(paragraph: Paragraph) -> list[_Piece]:
    """The paragraph's runs (in links too) and where each one's text stands."""
    pieces: list[_Piece] = []
    offset = 0
    for item in paragraph.iter_inner_content():
        for run in item.runs if isinstance(item, Hyperlink) else [item]:
            text = run.text
            pieces.append(_Piece(run, text, offset))
            offset += len(text)
    return pieces


def _text(paragraph: Paragraph) -> str:
    """The paragraph's text as its runs hold it."""
    return "".join(piece.text for piece in _pieces(paragraph))


def _isolate(paragraph: Paragraph, start: int, end: int) -> tuple[Run, Run]:
    """The first and last run of the span, cutting the runs at its ends where they can be."""
    pieces = [piece for piece in _pieces(paragraph) if piece.text]
    first = next(piece for piece in pieces if piece.start + len(piece.text) > start)
    last = next(piece for piece in reversed(pieces) if piece.start < end)
    last_run = last.run
    if end < last.start + len(last.text) and _splittable(last.run):
        _split(last.run, end - last.start, paragraph)
    first_run = first.run
    if start > first.start and _splittable(first.run):
        first_run = _split(first.run, start - first.start, paragraph)
        if first is last:
            last_run = first_run
    return first_run, last_run


def _splittable(run: Run) -> bool:
    """Whether a run holds only text, tabs and breaks (so it can be cut without loss)."""
    return all(child.tag in _PLAIN_RUN_PARTS for child in run._r)


def _split(run: Run, at: int, paragraph: Paragraph) -> Run:
    """Cut a run in two at a character offset; the original keeps the head, the tail is new."""
    text = run.text
    tail = copy.deepcopy(run._r)
    run._r.addnext(tail)
    run.text = text[:at]
    second = Run(tail, paragraph)
    second.text = text[at:]
    return second
