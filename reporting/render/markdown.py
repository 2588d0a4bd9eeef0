"""The report's Markdown, rendered from templates/report.md.j2."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

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


# What a figure's source keeps as it is; anything else (`:`, spaces, brackets) is %-encoded, so
# a source can never become a URL scheme or end the Markdown link early.
_SRC_SAFE = "/._-~=+,@"


def md_link(src: str) -> str:
    """A relative file path as the destination of a Markdown link or image."""
    return quote(src, safe=_SRC_SAFE)


def figure_markdown(src: str, caption: str, alt: str | None) -> str:
    """A figure: `![Caption](src)`, with `{alt="..."}` when its alt text differs.

    Pandoc makes an image alone in its paragraph a figure: the bracketed text is the caption
    (in the DOCX, an Image Caption paragraph) and the `alt` attribute the image's description
    (the DOCX's alt text); without the attribute the caption is the description too.
    """
    title = md_inline(caption)
    if not title:
        raise ValueError("a figure needs a caption")
    text = f"![{title}]({md_link(src)})"
    described = " ".join((alt or "").split())
    if described and described != " ".join(caption.split()):
        text += '{alt="' + described.replace("\\", "\\\\").replace('"', '\\"') + '"}'
    return text


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
    data: str = ""  # Markdown after the body (tables, figures), before any subsection


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
    note: str | None = None,
) -> str:
    """The whole report as Markdown: title, byline, note, abstract, sections, references, …"""
    text = (
        environment()
        .get_template("report.md.j2")
        .render(
            title=title,
            byline=byline(author, date),
            note=note,
            abstract=abstract,
            sections=sections,
            references=references or [],
            provenance=provenance or [],
        )
    )
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
