"""What one call was given: the outline's facts, its sources, the previous text, its prompt."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage

from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.quality.figures import FigureIndex
from reporting.sources.read import Chunk
from reporting.text import stopwords

ECHO_GRAM = 4  # words in the runs compared between a text and its prompt


@dataclass(frozen=True)
class NamedText:
    """Another section's text, with the title a message names it by."""

    title: str
    text: str


@dataclass(frozen=True)
class Given:
    """Everything one call was given, as texts: what its output is checked against."""

    phase: CompilationPhase
    report_title: str
    section_title: str | None = None
    brief: str = ""
    points: tuple[str, ...] = ()
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
    # Cached indexes are built on first use; they are not part of a Given's identity.
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

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
            outline_date=outline.date.isoformat() if outline.date else None,
            chunks=tuple(chunk.text for chunk in chunks),
            previous=previous,
            prompt="\n\n".join(message_text(message) for message in messages),
            target_words=target_words,
            others=tuple(others),
            section_titles=tuple(s.title for s in outline.walk()),
            audience=outline.audience or "",
            tone=outline.tone or "",
        )

    @property
    def facts(self) -> tuple[str, ...]:
        """Every text whose figures the output may use."""
        texts = [self.report_title, *self.section_titles, self.brief, *self.points]
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
            index = self._cache["figures"] = FigureIndex.of(self.facts)
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
            aside = [*self.facts, self.audience, self.tone, *(o.text for o in self.others)]
            facts: set[str] = set()
            for text in aside:
                facts |= word_grams(text)
            grams = self._cache["instructions"] = frozenset(word_grams(self.prompt) - facts)
        return grams


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
    return {
        " ".join(run)
        for run in (words[i : i + size] for i in range(len(words) - size + 1))
        if any(word not in stop and not word.isdigit() for word in run)
    }
