"""Where the package's templates are: prompts, the report page, reference.docx, the dashboard."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).parent


def templates_dir() -> Path:
    """The templates folder: inside the installed package, else beside it in a source tree."""
    packaged = _PACKAGE / "templates"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "templates"
