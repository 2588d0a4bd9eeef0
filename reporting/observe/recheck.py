"""`report check`: a built report read back from its Markdown and checked again, no model call.

The report may have been edited by a person since it was built. Its Markdown is split at the
compiler's own headings (markdown-it tokens, matched to the outline's sections in order); each
section's body is checked as a REFINE text, against the sections before it for duplication, and
the abstract as the ABSTRACT over every section. Citations in the file are numbered across the
report, so each section is given the sources in that numbering: the manifest's references name
the chunk behind every [n], found again in the outline's sources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it.token import Token

from reporting.compiler.execute import abstract_inputs
from reporting.compiler.prompts import section_messages
from reporting.errors import InputError
from reporting.observe.manifest import checks_record
from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.quality.checks import CheckResult, check_across_sections, run_checks, with_check
from reporting.quality.given import Given, NamedText, outline_dates
from reporting.render.outputs import safe_stem
from reporting.sources.grounding import Grounding
from reporting.sources.read import Chunk
from reporting.text import MARKDOWN

ABSTRACT_MARK = "**Abstract.**"  # how the report's template opens the abstract


@dataclass(frozen=True)
class ReportFiles:
    """A built report's Markdown and its run manifest."""

    markdown: Path
    manifest: Path

    @classmethod
    def of(cls, outline_path: Path, out_dir: Path, stem: str | None = None) -> ReportFiles:
        """The files `report build OUTLINE --out OUT_DIR` writes (`stem`: with its params)."""
        stem = safe_stem(stem or outline_path.stem)
        return cls(out_dir / f"{stem}.md", out_dir / f"{stem}.run.json")

    def require(self) -> None:
        """Both files exist, or an input error naming the one missing."""
        for path in (self.markdown, self.manifest):
            if not path.is_file():
                raise InputError(f"{path}: no such file; build the report first (report build)")


DATA_MARKER = "<!-- data: tables and charts from the section's query -->"


@dataclass(frozen=True)
class ReportText:
    """A report's texts as its Markdown holds them: the abstract and each section's body."""

    abstract: str
    bodies: Mapping[str, str]  # section id -> body, citations numbered across the report


@dataclass(frozen=True)
class CheckedText:
    """One final text of the report and what the checks found in it."""

    section: Section | None  # None: the abstract
    checks: tuple[CheckResult, ...]

    @property
    def phase(self) -> CompilationPhase:
        """The phase the text is checked as: REFINE for a section, ABSTRACT for the abstract."""
        return CompilationPhase.ABSTRACT if self.section is None else CompilationPhase.REFINE

    @property
    def failed(self) -> list[str]:
        """Names of the checks the text fails."""
        return [check.name for check in self.checks if not check.passed]

    def record(self) -> dict[str, Any]:
        """The text as the manifest records a call: section, phase and `checks`."""
        return {
            "section": self.section.id if self.section else None,
            "title": self.section.title if self.section else None,
            "phase": self.phase.name,
            "passed": not self.failed,
            "checks": checks_record(self.checks),
        }


@dataclass(frozen=True)
class Recheck:
    """What `report check` found: every section's checks, the abstract's, and warnings."""

    files: ReportFiles
    sections: tuple[CheckedText, ...]
    abstract: CheckedText
    warnings: tuple[str, ...] = ()

    @property
    def sections_passing(self) -> int:
        """Sections whose body passes every check."""
        return sum(1 for section in self.sections if not section.failed)

    @property
    def passed(self) -> bool:
        """Whether every section and the abstract pass every check."""
        return not self.abstract.failed and self.sections_passing == len(self.sections)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON: totals, warnings and one manifest-like record per text."""
        return {
            "markdown": str(self.files.markdown),
            "manifest": str(self.files.manifest),
            "passed": self.passed,
            "sections": len(self.sections),
            "sections_passing": self.sections_passing,
            "abstract_passing": not self.abstract.failed,
            "warnings": list(self.warnings),
            "calls": [text.record() for text in (*self.sections, self.abstract)],
        }


def recheck(outline: Outline, grounding: Grounding, files: ReportFiles) -> Recheck:
    """Check the report's Markdown again, as it now reads, against the outline and its sources."""
    files.require()
    markdown = files.markdown.read_text(encoding="utf-8")
    manifest = _read_manifest(files.manifest)
    warnings: list[str] = []
    built_from = (manifest.get("outline") or {}).get("sha256")
    if outline.sha256 and built_from and built_from != outline.sha256:
        warnings.append("the outline has changed since the report was built")
    chunks, missing = report_chunks(manifest, grounding)
    warnings += [
        f"source [{number}] ({chunk_id}) is no longer in the outline's sources: "
        "figures cited from it cannot be confirmed"
        for number, chunk_id in missing
    ]
    text = split_report(markdown, outline, files.markdown)
    return Recheck(files, *check_texts(outline, text, chunks), warnings=tuple(warnings))


def check_texts(
    outline: Outline, text: ReportText, chunks: Sequence[Chunk]
) -> tuple[tuple[CheckedText, ...], CheckedText]:
    """Every section's body checked as REFINE, across sections, then the abstract as ABSTRACT."""
    sections = list(outline.walk())
    dates = outline_dates(outline)  # as in a build: any section may name the report's period
    results: list[tuple[CheckResult, ...]] = []
    for section in sections:
        messages = section_messages(CompilationPhase.REFINE, outline, section, None, chunks)
        given = Given.for_call(
            outline, section, CompilationPhase.REFINE, None, chunks, messages, dates=dates
        )
        results.append(run_checks(text.bodies[section.id], given))
    named = [NamedText(s.title, text.bodies[s.id]) for s in sections]
    across = check_across_sections(outline.title, named)
    checked = tuple(
        CheckedText(section, with_check(checks, found))
        for section, checks, found in zip(sections, results, across, strict=True)
    )
    _, given = abstract_inputs(outline, text.bodies, dates=dates)
    return checked, CheckedText(None, run_checks(text.abstract, given))


def report_chunks(
    manifest: Mapping[str, Any], grounding: Grounding
) -> tuple[list[Chunk], list[tuple[int, str]]]:
    """The chunk behind each reference [n] at index n-1, and the references no longer found."""
    known = {chunk.id: chunk for sources in grounding.sections.values() for chunk in sources.chunks}
    references = (manifest.get("sources") or {}).get("references") or []
    numbered = {int(ref["number"]): str(ref["chunk"]) for ref in references}
    chunks: list[Chunk] = []
    missing: list[tuple[int, str]] = []
    for number in range(1, max(numbered, default=0) + 1):
        chunk_id = numbered.get(number, "")
        chunk = known.get(chunk_id)
        if chunk is None:
            # Still a source [n], so citing it is no error; it just confirms no figure.
            missing.append((number, chunk_id or "not in the manifest"))
            chunk = Chunk(chunk_id, chunk_id.partition("#")[0], "", 0)
        chunks.append(chunk)
    return chunks, missing


def _read_manifest(path: Path) -> dict[str, Any]:
    """The run manifest as JSON, or an input error naming the file."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not a readable run manifest ({error})") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a run manifest (a JSON object)")
    return record


# --- the Markdown read back -------------------------------------------------------------------


@dataclass(frozen=True)
class _Heading:
    """A top-level heading of the Markdown: its level, plain text and line range."""

    level: int
    text: str
    start: int
    end: int


def _headings(tokens: Sequence[Token]) -> list[_Heading]:
    """Every heading outside lists and quotes, in order."""
    found: list[_Heading] = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        inline = tokens[index + 1]
        plain = "".join(
            child.content for child in inline.children or () if child.type in _PLAIN_TOKENS
        )
        found.append(_Heading(int(token.tag[1:]), " ".join(plain.split()), *token.map))
    return found


_PLAIN_TOKENS = ("text", "code_inline", "softbreak", "hardbreak")


def split_report(markdown: str, outline: Outline, path: Path) -> ReportText:
    """The abstract and each section's body, found under the outline's headings in order."""
    lines = markdown.replace("\r\n", "\n").split("\n")
    tokens = MARKDOWN.parse("\n".join(lines))
    headings = _headings(tokens)

    # Sections: the heading `## 3 Results`, `### 3.1 …`, at the section's depth, in order.
    matched: dict[str, int] = {}  # section id -> index in `headings`
    missing: list[str] = []
    at = 0
    for section in outline.walk():
        level = section.depth + 1
        index = next(
            (
                i
                for i in range(at, len(headings))
                if headings[i].level == level and headings[i].text.split(" ", 1)[0] == section.id
            ),
            None,
        )
        if index is None:
            missing.append(f'"{"#" * level} {section.id} {section.title}"')
            continue
        matched[section.id] = index
        at = index + 1
    if missing:
        raise InputError(
            f"{path}: no heading for {len(missing)} section"
            f"{'s' if len(missing) > 1 else ''} of the outline, in its order: {', '.join(missing)}"
        )

    # A body runs to the next section's heading, or to a heading as high as its own
    # (References, Provenance), whichever comes first.
    starts = sorted(matched.values())
    bodies: dict[str, str] = {}
    for section_id, index in matched.items():
        heading = headings[index]
        end = next(
            (
                later.start
                for i, later in enumerate(headings[index + 1 :], start=index + 1)
                if i in starts or later.level <= heading.level
            ),
            len(lines),
        )
        body = "\n".join(lines[heading.end : end])
        # What follows the marker is the query's table and chart: the tool's, not prose to check.
        bodies[section_id] = body.split(DATA_MARKER, 1)[0].strip()

    first = headings[starts[0]].start if starts else len(lines)
    return ReportText(_abstract(tokens, lines, first, path), bodies)


def _abstract(tokens: Sequence[Token], lines: list[str], before: int, path: Path) -> str:
    """The abstract: from its paragraph (`**Abstract.** …`) to the first section's heading."""
    for index, token in enumerate(tokens):
        if token.type != "paragraph_open" or token.level != 0 or token.map is None:
            continue
        start = token.map[0]
        if start >= before:
            break
        if tokens[index + 1].content.startswith(ABSTRACT_MARK):
            text = "\n".join(lines[start:before]).strip()
            return text.removeprefix(ABSTRACT_MARK).strip()
    raise InputError(
        f"{path}: no abstract (a paragraph opening {ABSTRACT_MARK}) before the sections"
    )
