"""What every command shares: the two consoles, logging, the error guard and common options."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.highlighter import NullHighlighter
from rich.logging import RichHandler

from reporting.errors import InputError, OutlineError, ReportingError, SettingsError
from reporting.logs import RedactSecrets, SkipRoutine, redact
from reporting.settings import Settings, load_settings, parse_formats

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
# python-dotenv logs a line it cannot parse; the settings' own error names it with its place.
logging.getLogger("dotenv.main").setLevel(logging.CRITICAL)
if not out.is_terminal:  # pipes and CI logs get full rows, not 80-column wraps
    out.width = 160

DEFAULT_OUT = Path("reports_out")

OutlineArg = Annotated[Path, typer.Argument(help="Outline YAML file.", show_default=False)]
OutDir = Annotated[Path, typer.Option("--out", help="Output folder.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No [Hybrid] lines.")]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="On a terminal, also a [Hybrid] line per request (as off one)."
    ),
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor write the phase cache.")
]
AllowOutside = Annotated[
    bool,
    typer.Option("--allow-outside", help="Accept source files outside the outline's folder."),
]
Theme = Annotated[
    Path | None,
    typer.Option(
        "--theme",
        metavar="DIR",
        help="A folder with reference.docx, report.typst, report.css (default THEME_DIR).",
        show_default=False,
    ),
]
Formats = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="md,docx,pdf,html",
        help="Files to write besides the manifest (default FORMATS, else md,docx).",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="NAME=VALUE",
        help="Value of one of the outline's params (repeatable).",
        show_default=False,
    ),
]


def parse_params(given: list[str] | None) -> dict[str, str]:
    """`--param region=US --param quarter=2026Q2` as a mapping; a malformed one is exit 2."""
    values: dict[str, str] = {}
    for item in given or []:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise InputError(f"--param {item}: write it as NAME=VALUE, e.g. --param region=US")
        if name.strip() in values:
            raise InputError(f"--param {name.strip()}: given twice")
        values[name.strip()] = value.strip()
    return values


def configure_logging(settings: Settings | None, quiet: bool, *, live_table: bool = False) -> None:
    """`[Hybrid]` lines to stderr, plain, with every secret redacted.

    Under a live table the routine lines (a request sent, a cache hit) are left out: the
    table shows them. Warnings, fallbacks, retries and failures are always printed.
    """
    handler: logging.Handler
    if err.is_terminal:  # through the console, so lines scroll above the live progress table
        handler = RichHandler(
            console=err,
            show_time=False,
            show_level=False,
            show_path=False,
            markup=False,
            highlighter=NullHighlighter(),
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets if settings else []))
    if live_table:
        handler.addFilter(SkipRoutine())
    root = logging.getLogger("reporting")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False
    # pypdf warns on stderr about every oddity of a PDF it can still read ("invalid pdf
    # header"); an unreadable one becomes our own one-line error instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be, so it stops a build alike."""


@contextlib.contextmanager
def guard(settings: Settings | None = None) -> Iterator[None]:
    """Turn every failure into one line on stderr and the exit code of its kind."""
    secrets = settings.secrets if settings else []
    try:
        yield
    except OutlineError as exc:
        _print_problems("the outline has", [f"{exc.path}: {problem}" for problem in exc.problems])
        raise typer.Exit(exc.exit_code) from None
    except SettingsError as exc:
        _print_problems("the settings have", exc.problems)
        raise typer.Exit(exc.exit_code) from None
    except ReportingError as exc:
        kind = "invalid input" if exc.exit_code == 2 else "generation failed"
        err.print(f"error ({kind}): {redact(str(exc), secrets)}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        # True wherever the signal came: the files go into place together or not at all.
        stopped = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        err.print(
            f"{stopped}: a report's files are written together or not at all; the calls "
            "that finished are cached, so the same command resumes from them",
            markup=False,
        )
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: still no traceback for the user unless asked
        if os.environ.get("REPORT_DEBUG"):
            raise
        message = redact(f"{type(exc).__name__}: {exc}", secrets)
        err.print(f"internal error: {message} (set REPORT_DEBUG=1 for details)", markup=False)
        raise typer.Exit(1) from None


def _print_problems(subject: str, problems: list[str]) -> None:
    """`error: the outline has 2 problems; …` and one indented line per problem."""
    count = len(problems)
    err.print(
        f"error: {subject} {count} problem{'s' if count > 1 else ''}; nothing was generated",
        markup=False,
    )
    for problem in problems:
        err.print(f"  {problem}", markup=False)


def with_theme(settings: Settings, theme: Path | None) -> Settings:
    """The settings with --theme's folder in place of THEME_DIR."""
    return settings if theme is None else settings.model_copy(update={"theme_dir": theme})


def with_formats(settings: Settings, formats: str | None) -> Settings:
    """The settings with --format's list in place of FORMATS; InputError naming an unknown one."""
    if formats is None:
        return settings
    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise InputError(f"--format: {exc}") from None
    return settings.model_copy(update={"formats": chosen})


def settings_or_exit() -> Settings:
    """The settings, or exit 2 listing every problem with its source."""
    with guard():
        return load_settings()
    raise AssertionError("unreachable")  # pragma: no cover
