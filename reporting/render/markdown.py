"""The report's Markdown, rendered from templates/report.md.j2."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reporting.assets import templates_dir
from reporting.sources.citations import Reference

# CommonMark's specials plus pandoc's: {attributes}, $math$, ^super^, ~sub~ and &entities;.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#|{}$^~&])")


def md_inline(text: str) -> str:
    """Escape Markdown syntax in a one-line user string (a title, an author)."""
    return _INLINE_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_cell(text: str) -> str:
    """A text inside one table cell: pipes escaped, line breaks as <br>."""
    lines = [line.strip() for line in text.strip().replace("|", "\\|").splitlines()]
    return re.sub(r"(<br>){3,}", "<br><br>", "<br>".join(lines))


@cache
def environment() -> Environment:
    """The Jinja environment of the Markdown templates, with the escaping filters."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_inline"] = md_inline
    env.filters["md_cell"] = md_cell
    return env


@dataclass(frozen=True)
class RenderedSection:
    """A section as the template sees it."""

    id: str
    title: str
    depth: int
    body: str


@dataclass(frozen=True)
class ProvenanceEntry:
    """One line of the provenance appendix: a section, who wrote it, what it drew on."""

    id: str
    title: str
    writers: str
    sources: str


def byline(author: str | None, date: dt.date) -> str:
    """`Author · 23 November 2026`, or just the date."""
    day = f"{date.day} {date:%B %Y}"
    return f"{author} · {day}" if author else day


def render_markdown(
    title: str,
    author: str | None,
    date: dt.date,
    abstract: str,
    sections: list[RenderedSection],
    references: list[Reference] | None = None,
    provenance: list[ProvenanceEntry] | None = None,
) -> str:
    """The whole report as Markdown: title, byline, abstract, sections, references, provenance."""
    text = (
        environment()
        .get_template("report.md.j2")
        .render(
            title=title,
            byline=byline(author, date),
            abstract=abstract,
            sections=sections,
            references=references or [],
            provenance=provenance or [],
        )
    )
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
