"""Deterministic checks of one call's text against what the call was given; no model call.

Each check returns a `CheckResult` whose findings say precisely what is wrong, in words that can
be sent back to the model as a repair instruction. `run_checks` runs them all.

Length tolerances (words against the target): EXPAND and REFINE ±25% (the issue's default);
ABSTRACT ±40% of its target, since a summary's exact length matters less than a section's; a
DRAFT is a plan, not the section: it passes from `DRAFT_MIN_WORDS` words up to 125% of the
section's target.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from reporting.phases import CompilationPhase
from reporting.quality.figures import Figure, FigureIndex, given_figures, text_figures
from reporting.quality.given import Given, NamedText, word_grams
from reporting.sources.citations import check_citations as keep_given_citations
from reporting.text import one_line, sentence_key, stopwords

FACTS = "facts"
CITED_FIGURES = "cited_figures"
CITATIONS = "citations"
ECHO = "echo"
LEAKS = "leaks"
FORM = "form"
LENGTH = "length"
DUPLICATION = "duplication"

TOLERANCE = {
    CompilationPhase.EXPAND: 0.25,
    CompilationPhase.REFINE: 0.25,
    CompilationPhase.ABSTRACT: 0.40,
}
DRAFT_MIN_WORDS = 20  # four one-line bullet points
DRAFT_MAX_SHARE = 1.25  # a plan longer than the section it plans is not a plan
ECHO_MIN_GRAMS = 2  # instruction word runs a sentence must share to be an echo
DUPLICATE_MIN_WORDS = 6  # shorter sentences repeat by chance ("Costs rose.")
PARAGRAPH_MIN_WORDS = 12
PARAGRAPH_COPY_SHARE = 0.8  # share of a paragraph's word runs found in one other paragraph
MIN_PROSE_SHARE = 0.25  # EXPAND and REFINE: below this share of words in paragraphs, a list
MIN_LIST_SHARE = 2 / 3  # DRAFT: at least this share of words in list items
QUOTE_CHARS = 160


@dataclass(frozen=True)
class Finding:
    """One problem: the check that found it, what to fix, and the sentence it is about."""

    check: str
    message: str
    sentence: str = ""
    figures: tuple[str, ...] = ()  # the unsupported figures, as the text writes them


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: it passed when it has no findings."""

    name: str
    findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether the text passed this check."""
        return not self.findings


# --- reading a text once ---------------------------------------------------------------------

_BREAK = re.compile(
    r"(?<=[.!?])[\"'\u201d\u2019)\]*_]*[ \t]+(?=\S)"  # after a sentence's end
    r"|[ \t]*\n[ \t]*\n\s*"  # a blank line
    r"|[ \t]*\n(?=[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]|[ \t]*#|[ \t]*(?:\*\*|__))"  # an item, a heading
)
_LIST_LINE = re.compile(r"^[ \t]*(?:[-*+]|\(?\d{1,3}[.)])[ \t]+")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+\S|(?:\*\*|__)[^*_\n]+(?:\*\*|__):?[ \t]*$)")
_MARKS = re.compile(r"^[ \t>]*(?:[-*+][ \t]+|\(?\d{1,3}[.)][ \t]+|#{1,6}[ \t]+)?|[*_`]+")
_CITATION_GROUP = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\](?!\()")
_WORD = re.compile(r"\w")
_WORD_TOKEN = re.compile(r"\S*\w\S*")
_LINE_MARKS = re.compile(r"^[ \t>]*(?:[-*+]|\(?\d{1,3}[.)]|#{1,6})[ \t]+", re.M)


@dataclass(frozen=True)
class Sentence:
    """A sentence (or list item) of the text: where it stands, how it reads, what it cites."""

    start: int
    end: int
    text: str  # without Markdown marks, on one line
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Block:
    """A block between blank lines: its kind, its words, and its list items."""

    kind: str  # "prose", "list", "heading", "code"
    text: str
    words: int
    items: tuple[str, ...]


class Reading:
    """A text read once for every check: sentences, figures, blocks and words, each on demand."""

    def __init__(self, text: str) -> None:
        """Read nothing yet: each part is made when a check first asks for it."""
        self.text = text

    @cached_property
    def sentences(self) -> tuple[Sentence, ...]:
        """The sentences and list items, in order."""
        return _sentences(self.text)

    @cached_property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure, in order."""
        return text_figures(self.text)

    @cached_property
    def blocks(self) -> tuple[Block, ...]:
        """The blocks between blank lines."""
        return _blocks(self.text)

    @cached_property
    def words(self) -> int:
        """Words without Markdown marks and citations."""
        return count_words(self.text)

    @cached_property
    def _starts(self) -> list[int]:
        """Where each sentence starts, for bisection."""
        return [sentence.start for sentence in self.sentences]

    def sentence_at(self, offset: int) -> Sentence | None:
        """The sentence holding this offset of the text."""
        index = bisect_right(self._starts, offset) - 1
        if index >= 0 and offset < self.sentences[index].end:
            return self.sentences[index]
        return None

    def figures_in(self, sentence: Sentence) -> list[Figure]:
        """The figures that stand in this sentence."""
        starts = [figure.start for figure in self.figures]
        first = bisect_left(starts, sentence.start)
        last = bisect_left(starts, sentence.end)
        return list(self.figures[first:last])


def plain(text: str) -> str:
    """A sentence without Markdown marks, on one line (its citations kept)."""
    return " ".join(_MARKS.sub("", text).split())


def bare(text: str) -> str:
    """A sentence as compared with others': no citations, loosely (`sentence_key`)."""
    return sentence_key(_CITATION_GROUP.sub(" ", text))


def count_words(text: str) -> int:
    """Words of a text without Markdown marks and citations: tokens with a letter or digit."""
    return len(_WORD_TOKEN.findall(_LINE_MARKS.sub("", _CITATION_GROUP.sub(" ", text))))


def _cited(text: str) -> tuple[int, ...]:
    """The source numbers a sentence cites, in order, once each."""
    numbers: list[int] = []
    if "[" not in text:
        return ()
    for group in _CITATION_GROUP.findall(text):
        for part in group.split(","):
            if int(part) not in numbers:
                numbers.append(int(part))
    return tuple(numbers)


def _sentences(text: str) -> tuple[Sentence, ...]:
    """The sentences and list items of a text, with their spans."""
    found: list[Sentence] = []
    start = 0
    for gap in [*_BREAK.finditer(text), None]:
        end = gap.start() if gap else len(text)
        raw = text[start:end]
        if _WORD.search(raw):
            found.append(Sentence(start, end, plain(raw), _cited(raw)))
        if gap:
            start = gap.end()
    return tuple(found)


def _blocks(text: str) -> tuple[Block, ...]:
    """The text's blocks between blank lines, each classified by its lines."""
    blocks: list[Block] = []
    fenced = False
    for part in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in part.split("\n") if line.strip()]
        if not lines:
            continue
        if fenced or lines[0].lstrip().startswith(("```", "~~~")):
            fences = sum(line.lstrip().startswith(("```", "~~~")) for line in lines)
            fenced = fenced != (fences % 2 == 1)
            blocks.append(Block("code", part, 0, ()))
            continue
        items = tuple(plain(line) for line in lines if _LIST_LINE.match(line))
        words = count_words(part)
        if items and len(items) >= (len(lines) + 1) // 2:
            kind = "list"
        elif all(_HEADING_LINE.match(line) for line in lines):
            kind = "heading"
        else:
            kind = "prose"
        blocks.append(Block(kind, part, words, items))
    return tuple(blocks)


@lru_cache(maxsize=32)
def read(text: str) -> Reading:
    """Read a text once; every check of the same text shares the reading."""
    return Reading(text)


# --- messages ----------------------------------------------------------------------------------


def quote(text: str) -> str:
    """A sentence as a message quotes it: in quotes, on one line, cut when long."""
    return f'"{one_line(text, QUOTE_CHARS)}"'


def join_words(parts: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    unique = list(dict.fromkeys(parts))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


def _content(text: str) -> set[str]:
    """Content words of a text: lower case, no stop words; identifiers (q3, p99) count too."""
    stop = stopwords()
    words = re.findall(r"[a-z0-9]*[a-z][a-z0-9]*", text.casefold())
    return {w for w in words if w not in stop and (len(w) >= 3 or not w.isalpha())}


@dataclass(frozen=True)
class _FactSentence:
    """A sentence of what was given, for a message to quote against a wrong figure."""

    text: str
    words: frozenset[str]
    figures: tuple[Figure, ...]


def _fact_sentences(given: Given) -> tuple[_FactSentence, ...]:
    """The given facts' sentences that hold figures, the outline's points first (cached)."""
    cached = given._cache.get("fact_sentences")
    if isinstance(cached, tuple):
        return cached
    found: list[_FactSentence] = []
    for fact in (*given.points, given.brief, *given.chunks):
        found += _sentences_with_figures(fact, structure=True)
    # The previous text was read as a written text when it was checked: its figures are reused.
    # A sentence holding a figure it kept unsupported is no fact to quote to a repair.
    found += [
        said
        for said in _sentences_with_figures(given.previous or "", structure=False)
        if not any(figure.text in given.untrusted for figure in said.figures)
    ]
    result = tuple(found)
    given._cache["fact_sentences"] = result
    return result


@lru_cache(maxsize=512)
def _sentences_with_figures(fact: str, *, structure: bool) -> tuple[_FactSentence, ...]:
    """One given text's sentences that hold figures (cached: a source is given to every phase)."""
    figures = given_figures(fact) if structure else text_figures(fact)
    figures = tuple(f for f in figures if f.kind != "identifier")
    if not figures:
        return ()
    found: list[_FactSentence] = []
    for sentence in _sentences(fact):
        inside = tuple(f for f in figures if sentence.start <= f.start < sentence.end)
        if inside:
            found.append(_FactSentence(sentence.text, frozenset(_content(sentence.text)), inside))
    return tuple(found)


def _closest_fact(
    sentence: Sentence, wrong: Sequence[Figure], given: Given
) -> _FactSentence | None:
    """The given sentence that says most nearly what this one says, with figures of its kinds."""
    words = _content(sentence.text)
    kinds = {"number", "year"} if {f.kind for f in wrong} <= {"number", "year"} else None
    best: tuple[int, _FactSentence] | None = None
    for fact in _fact_sentences(given):
        shared = len(words & fact.words)
        if shared < 2 or (best and shared <= best[0]):
            continue
        if kinds is None and not any(f.kind in {w.kind for w in wrong} for f in fact.figures):
            continue
        if kinds is not None and not any(f.kind in kinds for f in fact.figures):
            continue
        best = (shared, fact)
    return best[1] if best else None


# --- the checks --------------------------------------------------------------------------------


def check_facts(text: str, given: Given) -> CheckResult:
    """Every figure of the text is in what the call was given; each other one, with its sentence."""
    reading = read(text)
    index = given.figures
    by_sentence: dict[Sentence | None, list[Figure]] = {}
    for figure in reading.figures:
        if not index.supports(figure):
            by_sentence.setdefault(reading.sentence_at(figure.start), []).append(figure)
    findings = []
    for sentence, wrong in by_sentence.items():
        said = sentence.text if sentence else ""
        gives = f"The text gives {join_words([f.shown for f in wrong])} ({quote(said)})"
        fact = _closest_fact(sentence, wrong, given) if sentence else None
        if fact is not None:
            facts = [f.shown for f in fact.figures if f.kind != "identifier"]
            message = f"{gives}; the facts say {join_words(facts)} ({quote(fact.text)})."
        else:
            message = f"{gives}, which nothing the call was given says; leave it out."
        findings.append(Finding(FACTS, message, said, tuple(f.text for f in wrong)))
    return CheckResult(FACTS, tuple(findings))


def check_cited_figures(text: str, given: Given) -> CheckResult:
    """A figure in a sentence that cites [n] is in source n, not merely somewhere in the input."""
    reading = read(text)
    findings = []
    for sentence in reading.sentences:
        cited = [n for n in sentence.cited if 1 <= n <= len(given.chunks)]
        if not cited:
            continue
        figures = [f for f in reading.figures_in(sentence) if f.kind != "identifier"]
        indexes = [given.chunk_figures(n) for n in cited]
        wrong = [f for f in figures if not any(index.supports(f) for index in indexes)]
        if not wrong:
            continue
        sources = join_words([f"[{n}]" for n in cited])
        said = [f.shown for f in _like(wrong, indexes)]
        says = f"; {sources} says {join_words(said)}" if said else ""
        message = (
            f"{quote(sentence.text)} gives {join_words([f.shown for f in wrong])}, which source "
            f"{sources} does not have{says}. Cite only what the source says."
        )
        findings.append(
            Finding(CITED_FIGURES, message, sentence.text, tuple(f.text for f in wrong))
        )
    return CheckResult(CITED_FIGURES, tuple(findings))


def _like(wrong: Sequence[Figure], indexes: Sequence[FigureIndex]) -> list[Figure]:
    """The cited sources' figures of the same kinds as the wrong ones, a few of them."""
    kinds = {f.kind for f in wrong} | ({"number", "year"} & {f.kind for f in wrong})
    found = [f for index in indexes for f in index.figures if f.kind in kinds]
    return found[:5]


def check_citations(text: str, given: Given) -> CheckResult:
    """Every citation [n] names a source the call was given (the compiler removes the others)."""
    given_count = len(given.chunks)
    if not any(not 1 <= n <= given_count for s in read(text).sentences for n in s.cited):
        return CheckResult(CITATIONS)
    # The compiler's own count decides: a "[7]" in code or a link is no citation.
    _, _, removed = keep_given_citations(text, given_count)
    if not removed:
        return CheckResult(CITATIONS)
    findings = []
    have = f"sources [1] to [{len(given.chunks)}]" if given.chunks else "no sources"
    for sentence in read(text).sentences:
        bad = [n for n in sentence.cited if not 1 <= n <= len(given.chunks)]
        if bad:
            cites = join_words([f"[{n}]" for n in bad])
            message = f"{quote(sentence.text)} cites {cites}, but the call was given {have}."
            findings.append(Finding(CITATIONS, message, sentence.text))
    if not findings:  # a citation the sentence reading did not see, e.g. in a table
        findings.append(Finding(CITATIONS, f"{removed} citations name no source given ({have})."))
    return CheckResult(CITATIONS, tuple(findings))


_ECHO_WORDS = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")  # as `word_grams` splits words


def check_echo(text: str, given: Given) -> CheckResult:
    """The text repeats the prompt's own instructions (the facts the prompt holds aside)."""
    instructions = given.instruction_grams
    # The usual case, decided by looking for the few instruction runs in the text's words.
    words = f" {' '.join(_ECHO_WORDS.findall(text.casefold()))} "
    if sum(f" {gram} " in words for gram in instructions) < ECHO_MIN_GRAMS:
        return CheckResult(ECHO)
    findings = []
    for sentence in read(text).sentences:
        shared = word_grams(sentence.text) & instructions
        if len(shared) >= ECHO_MIN_GRAMS:
            message = f"Do not repeat the instructions: {quote(sentence.text)}."
            findings.append(Finding(ECHO, message, sentence.text))
    return CheckResult(ECHO, tuple(findings))


# The prompt's scaffolding, wherever in a paragraph it stands: each pattern with the lower-case
# words without which it cannot match, so that most texts are searched by none of them.
_LEAK_PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("source:",), r"\[\s*\d{1,3}\s*\]\s*\(source:[^)\n]*\)?|\(source:\s*[^)\n]*\)"),
    (("numbered sources",), r"\bnumbered sources:"),
    (
        ("here",),
        r"\bhere(?:'s| is| are)\s+(?:a|an|the|my|your)\s+(?:\w+\s+){0,3}?"
        r"(?:version|draft|rewrite|text|plan|abstract|summary)\b",
    ),
    (("rewrite",), r"\brewrite\s+(?:this|the)\s+(?:draft|text|section|plan)\b"),
    (
        ("reply with", "follow this plan", "no additional edits"),
        r"\breply with\b|\bfollow this plan\b|\bwith no additional edits\b",
    ),
    (
        ("bullet", "sentences", "paragraphs"),
        r"\b(?:must|should)?\s*(?:write|use|give)\s+(?:\d+|[a-z]+)\s+to\s+(?:\d+|[a-z]+)\s+"
        r"(?:bullet points|bullets|sentences|paragraphs)\b",
    ),
    (("must",), r"\bit must (?:write|use these facts|say)\b|\bthe section must say\b"),
    ((" words",), r"\b(?:prose|text|abstract) of (?:about )?\d+ words\b"),
    (
        ("cite only", "square brackets", "list of sources"),
        r"\bcite only the\b|\bin square brackets\b|\bno list of sources\b",
    ),
    (("every fact", "extra words"), r"\bkeep every fact\b|\bno extra words are needed\b"),
    (
        ("technical writer", "about the task", "you are given", "write headings"),
        r"\byou are a technical writer\b|\bnever talk about the task\b"
        r"|\buse only the facts you are given\b|\bnever write headings\b",
    ),
    (("<|", "<<<", "{{", "{%"), r"<\|[a-z_]+\|>|<<<\s*(?:END|TEXT)|\{\{|\{%"),
)
_LEAKS = tuple((hints, re.compile(pattern, re.IGNORECASE)) for hints, pattern in _LEAK_PATTERNS)


def check_leaks(text: str, given: Given) -> CheckResult:
    """The prompt's scaffolding in the text: source labels, remarks, instructions, markers."""
    reading = read(text)
    leaks: dict[Sentence | None, list[str]] = {}
    lower = text.casefold()
    for hints, pattern in _LEAKS:
        if not any(hint in lower for hint in hints):
            continue
        for match in pattern.finditer(text):
            leaks.setdefault(reading.sentence_at(match.start()), []).append(match.group(0).strip())
    findings = []
    for sentence, found in leaks.items():
        said = sentence.text if sentence else ""
        words = join_words([quote(leak) for leak in found])
        message = (
            f"Remove the prompt's words {words} (in {quote(said)}); they are not the report's."
        )
        findings.append(Finding(LEAKS, message, said))
    return CheckResult(LEAKS, tuple(findings))


_SECTION_LABEL = re.compile(
    r"\bSection\s+\d+(?:\.\d+)*\s*(?::|,\s*[A-Z][^:\n]{0,80}:|\s+[-\u2013\u2014]\s)", re.IGNORECASE
)
_NUMBERED_TITLE = re.compile(r"^(?:section\s+)?\d+(?:\.\d+)*[.):]?\s+|[:.]$", re.IGNORECASE)


def _is_title(item: str, titles: set[str]) -> bool:
    """Whether a list item is only a section's title, numbered or not."""
    return sentence_key(_NUMBERED_TITLE.sub("", item).strip()) in titles


def check_form(text: str, given: Given) -> CheckResult:
    """DRAFT a bullet list; EXPAND and REFINE prose; ABSTRACT 1-3 paragraphs, no labels."""
    reading = read(text)
    if not reading.words:
        return CheckResult(FORM, (Finding(FORM, "The text is empty; write the text asked for."),))
    blocks = reading.blocks
    findings: list[Finding] = []
    titles = {sentence_key(title) for title in given.section_titles}
    items = [item for block in blocks for item in block.items]
    titled = [item for item in items if _is_title(item, titles)]
    if len(titled) >= 2 and len(titled) * 2 >= len(items):
        message = (
            f"The text is a list of the report's section titles ({join_words(titled[:4])}), "
            "not the text asked for; write about the subject itself."
        )
        findings.append(Finding(FORM, message))
    prose = sum(b.words for b in blocks if b.kind == "prose")
    listed = sum(b.words for b in blocks if b.kind == "list")
    phase = given.phase
    if phase is CompilationPhase.DRAFT:
        if len(items) < 2 or listed < MIN_LIST_SHARE * reading.words:
            message = (
                "The plan is not a bullet list; write it as bullet points, one full sentence each."
            )
            findings.append(Finding(FORM, message))
    elif phase in (CompilationPhase.EXPAND, CompilationPhase.REFINE):
        if prose < MIN_PROSE_SHARE * reading.words:
            message = "The text is a list, not prose; write it as paragraphs of full sentences."
            findings.append(Finding(FORM, message))
    else:
        findings += _abstract_form(text, blocks)
    return CheckResult(FORM, tuple(findings))


def _abstract_form(text: str, blocks: Sequence[Block]) -> list[Finding]:
    """The abstract's form: one to three paragraphs, no heading, no list, no section labels."""
    findings = []
    paragraphs = sum(1 for b in blocks if b.kind == "prose")
    if not 1 <= paragraphs <= 3:
        message = f"The abstract has {paragraphs} paragraphs; write one to three."
        findings.append(Finding(FORM, message))
    for block in blocks:
        if block.kind == "heading":
            message = f"The abstract has a heading {quote(plain(block.text))}; write no heading."
            findings.append(Finding(FORM, message, plain(block.text)))
        elif block.kind == "list":
            message = "The abstract has a list; write it as running prose."
            findings.append(Finding(FORM, message, plain(block.items[0])))
    reading = read(text)
    for match in _SECTION_LABEL.finditer(text):
        sentence = reading.sentence_at(match.start())
        said = sentence.text if sentence else ""
        message = (
            f"The abstract labels a part {quote(match.group(0).strip())}; summarise the report "
            "as running prose, without section labels."
        )
        findings.append(Finding(FORM, message, said))
    return findings


def length_bounds(phase: CompilationPhase, target: int) -> tuple[int, int]:
    """The fewest and most words a text of this phase may have for this target."""
    if phase is CompilationPhase.DRAFT:
        return DRAFT_MIN_WORDS, max(DRAFT_MIN_WORDS, round(target * DRAFT_MAX_SHARE))
    tolerance = TOLERANCE[phase]
    return round(target * (1 - tolerance)), round(target * (1 + tolerance))


def check_length(text: str, given: Given) -> CheckResult:
    """The text's words are within the phase's tolerance of the target."""
    if given.target_words <= 0:
        return CheckResult(LENGTH)
    words = read(text).words
    low, high = length_bounds(given.phase, given.target_words)
    if low <= words <= high:
        return CheckResult(LENGTH)
    if given.phase is CompilationPhase.DRAFT:
        aim = f"between {low} and {high}"
    else:
        aim = f"about {given.target_words}"
    message = f"Write {aim} words; this has {words}."
    return CheckResult(LENGTH, (Finding(LENGTH, message),))


@dataclass(frozen=True)
class _Copyable:
    """One text's sentences and paragraphs as another text may copy them."""

    sentences: frozenset[str]  # sentence keys long enough to count
    paragraphs: tuple[tuple[frozenset[str], str], ...]  # (word runs, paragraph)


@lru_cache(maxsize=256)
def _copyable(text: str) -> _Copyable:
    """Index a section's text for duplication (cached: every other section asks for it)."""
    reading = read(text)
    keys = (bare(sentence.text) for sentence in reading.sentences)
    sentences = frozenset(key for key in keys if len(key.split()) >= DUPLICATE_MIN_WORDS)
    paragraphs = tuple(
        (frozenset(_paragraph_grams(block.text)), block.text)
        for block in reading.blocks
        if block.kind in ("prose", "list") and block.words >= PARAGRAPH_MIN_WORDS
    )
    return _Copyable(sentences, paragraphs)


def _paragraph_grams(text: str) -> set[str]:
    """A paragraph's runs of three words, citations aside."""
    return word_grams(_CITATION_GROUP.sub(" ", text), 3)


def check_duplication(text: str, given: Given) -> CheckResult:
    """A paragraph or sentence that already stands in another section (abstract: paragraphs)."""
    if not given.others:
        return CheckResult(DUPLICATION)
    others = [(other.title, _copyable(other.text)) for other in given.others]
    abstract = given.phase is CompilationPhase.ABSTRACT
    findings: list[Finding] = []
    copied: list[Block] = []
    for block in read(text).blocks:
        if block.kind not in ("prose", "list") or block.words < PARAGRAPH_MIN_WORDS:
            continue
        grams = _paragraph_grams(block.text)
        need = PARAGRAPH_COPY_SHARE * len(grams)
        source = next(
            (
                title
                for title, copyable in others
                for other_grams, _ in copyable.paragraphs
                if grams and len(grams & other_grams) >= need
            ),
            None,
        )
        if source is None:
            continue
        said = plain(block.text)
        if abstract:
            message = (
                f'The abstract copies a paragraph of section "{source}" {quote(said)}; '
                "summarise the report instead."
            )
        else:
            message = (
                f'This paragraph already stands in section "{source}" {quote(said)}; say it once.'
            )
        findings.append(Finding(DUPLICATION, message, said))
        copied.append(block)
    if not abstract:
        spans = [(start, start + len(b.text)) for b in copied if (start := text.find(b.text)) >= 0]
        for sentence in read(text).sentences:
            key = bare(sentence.text)
            copy_of = next((title for title, c in others if key in c.sentences), None)
            inside = any(start <= sentence.start < end for start, end in spans)
            if copy_of is not None and not inside:
                message = (
                    f'This sentence already stands in section "{copy_of}": {quote(sentence.text)}; '
                    "say it once."
                )
                findings.append(Finding(DUPLICATION, message, sentence.text))
    return CheckResult(DUPLICATION, tuple(findings))


CHECKS: tuple[Callable[[str, Given], CheckResult], ...] = (
    check_facts,
    check_cited_figures,
    check_citations,
    check_echo,
    check_leaks,
    check_form,
    check_length,
    check_duplication,
)


def unsupported_figures(checks: Sequence[CheckResult] | None) -> frozenset[str]:
    """The figures the facts check found in nothing given, which no later call may take as given.

    Only `facts`: a figure `cited_figures` finds is in the inputs, merely cited to the wrong
    source, and may support a later text.
    """
    return frozenset(
        figure
        for check in checks or ()
        if check.name == FACTS
        for finding in check.findings
        for figure in finding.figures
    )


def run_checks(text: str, given: Given) -> tuple[CheckResult, ...]:
    """Every check on one call's text, in a fixed order."""
    return tuple(check(text, given) for check in CHECKS)


def check_across_sections(report_title: str, sections: Sequence[NamedText]) -> list[CheckResult]:
    """Each section's duplication check against the sections before it, in outline order."""
    found: list[CheckResult] = []
    for index, section in enumerate(sections):
        given = Given(
            phase=CompilationPhase.REFINE,
            report_title=report_title,
            section_title=section.title,
            others=tuple(sections[:index]),
        )
        found.append(check_duplication(section.text, given))
    return found


def with_check(checks: Sequence[CheckResult], found: CheckResult) -> tuple[CheckResult, ...]:
    """The checks with the one of `found`'s name replaced by it."""
    return tuple(found if check.name == found.name else check for check in checks)
