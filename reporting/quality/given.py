"""What one call was given: the outline's facts, its sources, the previous text, its prompt."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from langchain_core.messages import BaseMessage

from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.quality.figures import DateKey, Figure, FigureIndex, text_figures
from reporting.sources.read import Chunk
from reporting.text import stopwords

ECHO_GRAM = 4  # words in the runs compared between a text and its prompt


@dataclass(frozen=True)
class NamedText:
    """Another section's text, with the title a message names it by."""

    title: str
    text: str
    untrusted: frozenset[str] = frozenset()  # figures of it the checks found in nothing given


@dataclass(frozen=True)
class Given:
    """Everything one call was given, as texts: what its output is checked against."""

    phase: CompilationPhase
    report_title: str
    section_title: str | None = None
    brief: str = ""
    points: tuple[str, ...] = ()
    data: str = ""  # the figures of the section's query result, as its prompt gave them
    outline_date: str | None = None  # ISO, as the outline has it
    chunks: tuple[str, ...] = ()  # the numbered sources: index 0 is [1]
    previous: str | None = None  # the previous phase's accepted text
    prompt: str = ""  # every message of the call, rendered
    target_words: int = 0
    # Other sections' refined texts (for the abstract: every section, which it was given).
    others: tuple[NamedText, ...] = ()
    section_titles: tuple[str, ...] = ()  # every section of the outline
    audience: str = ""
    tone: str = ""
    # Figures of the previous text that were themselves unsupported: kept in a text that never
    # passed, they must not make a later text's copy of them look given (others: their own).
    untrusted: frozenset[str] = frozenset()
    # Dates and years anywhere in the outline: the report's period, which any section may name.
    dates: tuple[Figure, ...] = ()
    # Cached indexes are built on first use; they are not part of a Given's identity.
    _cache: dict[str, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def for_call(
        cls,
        outline: Outline,
        section: Section | None,
        phase: CompilationPhase,
        previous: str | None,
        chunks: Sequence[Chunk],
        messages: Sequence[BaseMessage],
        *,
        others: Sequence[NamedText] = (),
        target_words: int | None = None,
        untrusted: frozenset[str] = frozenset(),
        dates: tuple[Figure, ...] = (),
    ) -> Given:
        """What a call of the compiler's chain was given (`section` None for the abstract)."""
        if target_words is None:
            if section is None:
                raise ValueError("the abstract's target words must be given")
            target_words = section.target_words
        return cls(
            phase=phase,
            report_title=outline.title,
            section_title=section.title if section else None,
            brief=section.brief if section else "",
            points=tuple(section.points) if section else (),
            data=section.data_facts if section else "",
            outline_date=outline.date.isoformat() if outline.date else None,
            chunks=tuple(chunk.text for chunk in chunks),
            previous=previous,
            prompt="\n\n".join(message_text(message) for message in messages),
            target_words=target_words,
            others=tuple(others),
            section_titles=tuple(s.title for s in outline.walk()),
            audience=outline.audience or "",
            tone=outline.tone or "",
            untrusted=untrusted,
            dates=dates,
        )

    @property
    def facts(self) -> tuple[str, ...]:
        """Every text whose figures the output may use."""
        texts = [self.report_title, *self.section_titles, self.brief, *self.points, self.data]
        texts += [self.outline_date or "", *self.chunks, self.previous or ""]
        if self.section_title:
            texts.append(self.section_title)
        if self.phase is CompilationPhase.ABSTRACT:
            texts += [other.text for other in self.others]
        return tuple(text for text in texts if text)

    @property
    def figures(self) -> FigureIndex:
        """The figures of every fact, indexed (built once per Given)."""
        index = self._cache.get("figures")
        if not isinstance(index, FigureIndex):
            # Earlier calls' texts were read when they were checked: their figures are reused.
            # Each with the figures of it that were themselves unsupported: those support nothing.
            written = [(self.previous or "", self.untrusted)]
            if self.phase is CompilationPhase.ABSTRACT:
                written += [(other.text, other.untrusted) for other in self.others]
            facts = [text for text in self.facts if all(text is not w for w, _ in written)]
            index = self._cache["figures"] = FigureIndex.of(facts)
            for figure in self.dates:
                if figure.kind == "date":  # a date supports that date, not its year as a number
                    index.dates.add(cast(DateKey, figure.value))
                else:
                    index.add(figure)
            for text, untrusted in written:
                for figure in text_figures(text):
                    if figure.text not in untrusted:
                        index.add(figure)
        return index

    def chunk_figures(self, number: int) -> FigureIndex:
        """The figures of source [number], indexed (built once per chunk)."""
        key = f"chunk{number}"
        index = self._cache.get(key)
        if not isinstance(index, FigureIndex):
            index = self._cache[key] = FigureIndex.of([self.chunks[number - 1]])
        return index

    @property
    def instruction_grams(self) -> frozenset[str]:
        """Word runs of the prompt that are its own instructions: none of the facts has them."""
        grams = self._cache.get("instructions")
        if not isinstance(grams, frozenset):
            grams = self._cache["instructions"] = self._instructions()
        return grams

    def _instructions(self) -> frozenset[str]:
        """The prompt's word runs, the facts aside: cut out where whole, else subtracted."""
        # Cutting the facts out of the prompt is a string operation; only what is left (the
        # template's own words) and the facts the prompt holds changed (an abstract's excerpts,
        # cut at a word limit) need word runs.
        prompt = " ".join(self.prompt.split())
        aside = [*self.facts, self.audience, self.tone]
        changed: list[str] = []
        for text in sorted(
            {" ".join(t.split()) for t in aside if t.strip()}, key=len, reverse=True
        ):
            if text in prompt:
                prompt = prompt.replace(text, "\x00")
            else:
                changed.append(text)
        grams: set[str] = set()
        for part in prompt.split("\x00"):
            grams |= word_grams(part)
        if grams and changed:  # few runs are left: each looked for in the facts' words
            words = f" {' '.join(_WORDS.findall(' '.join(changed).casefold()))} "
            grams = {gram for gram in grams if f" {gram} " not in words}
        return frozenset(grams)


def outline_dates(outline: Outline) -> tuple[Figure, ...]:
    """The dates and years of the whole outline, computed once per report."""
    texts = [outline.title, *(t for s in outline.walk() for t in (s.title, s.brief, *s.points))]
    return tuple(
        figure for text in texts for figure in text_figures(text) if figure.kind in ("date", "year")
    )


def message_text(message: BaseMessage) -> str:
    """A message's text, whether its content is a string or a list of parts."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [part if isinstance(part, str) else str(part.get("text", "")) for part in content]
    return "\n".join(parts)


_WORDS = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")


def word_grams(text: str, size: int = ECHO_GRAM) -> set[str]:
    """Runs of `size` lower-case words holding at least one content word."""
    words = _WORDS.findall(text.casefold())
    stop = stopwords()
    # Running count of content words, so each run is judged without looking at its words again.
    counts = [0]
    for word in words:
        counts.append(counts[-1] + (word not in stop and not word.isdigit()))
    return {
        " ".join(words[i : i + size])
        for i in range(len(words) - size + 1)
        if counts[i + size] > counts[i]
    }
