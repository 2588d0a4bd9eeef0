"""Markdown → one self-contained HTML page through pandoc: styles and images inline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reporting.render.docx import embed_images
from reporting.render.pandoc import page_options, run_pandoc

__all__ = ["render_html"]


def render_html(
    markdown: str,
    out_path: Path,
    *,
    template_dir: Path,
    images: Mapping[str, bytes | Path] | None = None,
    toc: bool = False,
) -> None:
    """Write report Markdown as one HTML file with `template_dir`'s page and stylesheet.

    `images` are embedded as data URIs, as in the DOCX; pandoc keeps --sandbox, so it reads
    no other file the Markdown names, and the page refers to nothing outside itself.
    """
    if images:
        markdown = embed_images(markdown, images)
    page = run_pandoc(
        markdown,
        [
            "--to=html5",
            *page_options(template_dir, "report.html", toc=toc),
            # The stylesheet is inlined by the template itself (a partial), since --sandbox
            # keeps --css from being read; this embeds whatever else pandoc can.
            "--embed-resources",
        ],
    )
    out_path.write_bytes(page)
