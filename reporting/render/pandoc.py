"""Running the pandoc binary of pypandoc-binary on report Markdown, one way for every format."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import pypandoc

from reporting.errors import ReportingError

__all__ = ["PANDOC_INPUT_FORMAT", "page_options", "run_pandoc"]

log = logging.getLogger(__name__)

# Pandoc's Markdown minus two extensions that misread model-written prose: a `---` line
# could open a YAML metadata block, and `\word{...}` would be taken as raw TeX and dropped.
# Plus one that reads it as CommonMark viewers do: models start a list on the line after a
# sentence, which pandoc's default would run into that paragraph as "… quarter. - The …".
# No raw blocks either: "```{=openxml}" in model text would be written into the DOCX as is.
PANDOC_INPUT_FORMAT = (
    "markdown-yaml_metadata_block-raw_tex-raw_attribute+lists_without_preceding_blankline"
)

PANDOC_TIMEOUT_SECONDS = 120.0


def _pandoc_path() -> str:
    """Path of the pandoc binary shipped with pypandoc-binary (or found on PATH)."""
    try:
        return str(pypandoc.get_pandoc_path())
    except OSError as exc:
        raise ReportingError(f"pandoc is not available: {exc}") from exc


def _first_line(text: str) -> str:
    """The first non-blank line of `text`, or a placeholder."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "no error message"


def run_pandoc(markdown: str, options: Sequence[str]) -> bytes:
    """Convert `markdown` with pandoc and these options; what it wrote to stdout.

    Always with --sandbox: pandoc reads no file or URL the Markdown names (image sources),
    only those on its command line (templates, filters). Its warnings are logged.
    """
    command = [_pandoc_path(), f"--from={PANDOC_INPUT_FORMAT}", *options, "--sandbox"]
    try:
        result = subprocess.run(
            command,
            input=markdown.encode("utf-8"),
            capture_output=True,
            timeout=PANDOC_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ReportingError(
            f"pandoc failed: no result within {PANDOC_TIMEOUT_SECONDS:g} s"
        ) from exc
    except OSError as exc:
        raise ReportingError(f"pandoc failed: {exc}") from exc
    stderr = result.stderr.decode("utf-8", errors="replace")
    if result.returncode != 0:
        raise ReportingError(f"pandoc failed: {_first_line(stderr)}")
    for line in stderr.splitlines():
        if line.strip():
            log.warning("pandoc: %s", line.strip())
    return result.stdout


def page_options(
    template_dir: Path, template: str, images: Iterable[str] = (), *, toc: bool = False
) -> list[str]:
    """Options of a PDF or HTML page: `template_dir`'s template and its filter (report.lua).

    `images` are the sources of the report's own charts, which the filter keeps; it turns any
    other image that is not a data URI into its description.
    """
    needed = [template_dir / template, template_dir / "report.lua"]
    for path in needed:
        if not path.is_file():
            raise ReportingError(f"template file not found: {path}")
    options = ["--standalone", f"--template={needed[0]}", f"--lua-filter={needed[1]}"]
    if toc:  # the outline's `toc: true`: sections and subsections, as numbered
        options += ["--toc", "--toc-depth=3"]
    return options + [f"--metadata=images:{src}" for src in images]
