"""An outline's sources, found, read and searched: the chunks each section's prompts are given."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reporting.errors import InputError, OutlineError
from reporting.outline.model import Outline, Section
from reporting.sources.read import Chunk, chunk_source, extract, resolve_sources
from reporting.sources.read import relative_source as _relative
from reporting.sources.search import SourceIndex


@dataclass(frozen=True)
class SourceFile:
    """A source file as the manifest records it: path relative to the outline, hash, chunks."""

    path: str
    sha256: str
    chunks: int

    @classmethod
    def of(cls, path: Path, relative: str, chunks: int) -> SourceFile:
        """Describe a source file that was read into `chunks` chunks."""
        return cls(relative, hashlib.sha256(path.read_bytes()).hexdigest(), chunks)


@dataclass(frozen=True)
class SectionSources:
    """The chunks one section is given, best first, numbered [1], [2], … in this order."""

    files: tuple[str, ...] = ()  # the source files in the section's scope
    chunks: tuple[Chunk, ...] = ()
    scores: tuple[float, ...] = ()  # how much of the section's query each chunk covers, [0, 1]

    @property
    def relevance(self) -> float | None:
        """The best chunk's coverage; 0 when sources match nothing, None with no sources at all."""
        if not self.files:
            return None
        return max(self.scores, default=0.0)


@dataclass(frozen=True)
class Grounding:
    """Every section's retrieved chunks, and the source files they came from."""

    sections: Mapping[str, SectionSources] = field(default_factory=dict)
    files: tuple[SourceFile, ...] = ()
    top_k: int = 0

    def for_section(self, section_id: str) -> SectionSources:
        """The chunks given to a section (none when it has no sources)."""
        return self.sections.get(section_id, SectionSources())

    def relevance(self) -> dict[str, float | None]:
        """Each section's best retrieval score, as the adaptive routing policy reads it."""
        return {section_id: s.relevance for section_id, s in self.sections.items()}


NO_SOURCES = Grounding()


def section_query(section: Section) -> str:
    """What a section is searched for: its title, brief and points."""
    return " ".join([section.title, section.brief, *section.points])


def _scopes(outline: Outline) -> Iterator[tuple[Section, list[tuple[str, str]]]]:
    """Each section with the (place, pattern) sources it may use: its own and its ancestors'."""
    top = [(f"sources[{i}]", pattern) for i, pattern in enumerate(outline.sources, start=1)]

    def visit(
        sections: list[Section], inherited: list[tuple[str, str]]
    ) -> Iterator[tuple[Section, list[tuple[str, str]]]]:
        for section in sections:
            own = [
                (f"{section.place}.sources[{i}]", p) for i, p in enumerate(section.sources, start=1)
            ]
            scope = inherited + own
            yield section, scope
            yield from visit(section.sections, scope)

    yield from visit(outline.sections, top)


def ground_outline(
    outline: Outline,
    outline_path: Path,
    *,
    top_k: int,
    allow_outside: bool = False,
    index_cache: Path | None = None,
) -> Grounding:
    """Resolve, read, chunk and index the outline's sources; retrieve top_k chunks per section."""
    # Every problem with every source entry is reported at once, each with its place.
    base = outline_path.resolve().parent
    scopes = list(_scopes(outline))
    if not any(scope for _, scope in scopes):
        return NO_SOURCES
    problems: dict[str, list[str]] = {}  # place -> problems, places in outline order
    resolved: dict[str, list[Path]] = {}  # place -> files
    for _, scope in scopes:
        for place, pattern in scope:
            if place in resolved:
                continue
            problems[place] = []
            try:
                resolved[place] = resolve_sources([pattern], base, allow_outside)
            except InputError as error:
                resolved[place] = []
                problems[place].append(str(error))
    chunks_of: dict[Path, list[Chunk]] = {}
    for place, paths in resolved.items():
        for path in paths:
            if path in chunks_of:
                continue
            try:
                chunks_of[path] = chunk_source(path, base, extract(path))
            except InputError as error:
                chunks_of[path] = []
                problems[place].append(str(error))
    if any(problems.values()):
        every = [f"{place}: {problem}" for place, found in problems.items() for problem in found]
        raise OutlineError(str(outline_path), every)

    indexes: dict[tuple[Path, ...], SourceIndex] = {}
    sections: dict[str, SectionSources] = {}
    for section, scope in scopes:
        files = tuple(sorted({path for place, _ in scope for path in resolved[place]}))
        if not files:
            continue
        if files not in indexes:
            # The same text twice (a copy, a hard link) would take two of the top_k places.
            unique = {chunk.text: chunk for path in reversed(files) for chunk in chunks_of[path]}
            chunks = [c for path in files for c in chunks_of[path] if unique[c.text] is c]
            indexes[files] = (
                SourceIndex.load_or_build(chunks, index_cache)
                if index_cache is not None
                else SourceIndex(chunks)
            )
        index, query = indexes[files], section_query(section)
        hits = index.search(query, top_k)
        sections[section.id] = SectionSources(
            files=tuple(_relative(path, base) for path in files),
            chunks=tuple(chunk for chunk, _ in hits),
            scores=tuple(index.relevance(query, chunk) for chunk, _ in hits),
        )
    listed = tuple(
        SourceFile.of(path, _relative(path, base), len(chunks_of[path]))
        for path in sorted(chunks_of)
    )
    return Grounding(sections=sections, files=listed, top_k=top_k)
