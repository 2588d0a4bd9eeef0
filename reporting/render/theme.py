"""A user's theme: their reference.docx, Typst template and stylesheet over the shipped ones.

A theme folder (THEME_DIR, `--theme DIR`) holds any of THEME_FILES; each one it has replaces the
shipped file of that name, the others stay as shipped. The pandoc filter (report.lua), which
keeps model text from acting as markup, is never replaced: a theme changes the look only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reporting.assets import templates_dir
from reporting.errors import ConfigError

THEME_FILES = ("reference.docx", "report.typst", "report.css", "report.html")
SHIPPED = (*THEME_FILES, "report.lua")


def check_theme(folder: Path) -> None:
    """ConfigError unless `folder` is a folder holding at least one theme file."""
    if not folder.is_dir():
        raise ConfigError(f"theme {folder}: not a folder")
    if not any((folder / name).is_file() for name in THEME_FILES):
        raise ConfigError(f"theme {folder}: holds none of {', '.join(THEME_FILES)}")


@contextmanager
def theme_folder(theme: Path | None) -> Iterator[Path]:
    """The folder the renderers read their templates from: the shipped one, or a theme over it.

    Templates refer to each other by name (the HTML page includes report.css), so a theme is
    laid over a temporary copy of the shipped files rather than mixed path by path.
    """
    if theme is None:
        yield templates_dir()
        return
    check_theme(theme)
    with tempfile.TemporaryDirectory(prefix="reporting-theme-") as tmp:
        folder = Path(tmp)
        for name in SHIPPED:
            own = theme / name
            source = own if name in THEME_FILES and own.is_file() else templates_dir() / name
            shutil.copyfile(source, folder / name)
        yield folder
