"""Markdown → Typst markup through pandoc → PDF, compiled in-process by typst (no TeX)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import typst

from reporting.errors import ReportingError
from reporting.render.pandoc import page_options, run_pandoc

__all__ = ["render_pdf", "typst_source"]

log = logging.getLogger(__name__)


def typst_source(
    markdown: str, template_dir: Path, images: Iterable[str] = (), *, toc: bool = False
) -> str:
    """The report as a Typst document: `template_dir`'s page around pandoc's Typst body.

    `images` are the sources of the charts that will be beside it; other images are dropped.
    """
    source = run_pandoc(
        markdown,
        [
            "--to=typst",
            *page_options(template_dir, "report.typst", images, toc=toc),
            # The filter lifts the `#` title out; `##` sections become Typst's level 1.
            "--shift-heading-level-by=-1",
        ],
    )
    return source.decode("utf-8")


def _place_images(root: Path, images: Mapping[str, bytes | Path]) -> None:
    """Copy each image to its source path under `root`, where the Typst markup looks for it."""
    for src, image in images.items():
        target = (root / src).resolve()
        if not target.is_relative_to(root.resolve()):
            raise ReportingError(f"an image source leaves the report's folder: {src}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(image if isinstance(image, bytes) else image.read_bytes())
        except OSError as exc:
            raise ReportingError(f"could not read the image {src}: {exc}") from exc


def render_pdf(
    markdown: str,
    out_path: Path,
    *,
    template_dir: Path,
    created: datetime,
    images: Mapping[str, bytes | Path] | None = None,
    toc: bool = False,
) -> None:
    """Write report Markdown as a PDF: Typst markup from pandoc, compiled by typst.

    The compile sees only a temporary folder holding the markup and `images` (keyed by their
    source in the Markdown), so no file beside the report is read.
    """
    source = typst_source(markdown, template_dir, images or {}, toc=toc)
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as folder:
        root = Path(folder)
        (root / "report.typ").write_text(source, encoding="utf-8")
        _place_images(root, images or {})
        try:
            pdf, warnings = typst.compile_with_warnings(
                root / "report.typ",
                root=root,
                # The template names fonts typst embeds; the machine's fonts only fill in
                # glyphs those lack (CJK, say), which would otherwise vanish without a warning.
                ignore_system_fonts=False,
                timestamp=int(created.timestamp()),
            )
        except typst.TypstError as exc:
            raise ReportingError(f"typst could not compile the PDF: {exc.message}") from exc
    for warning in warnings:
        log.warning("typst: %s", warning.message)
    out_path.write_bytes(pdf)
