"""The `report` command line: the only place that prints and picks exit codes.

Exit codes: 0 report written · 1 generation failed (providers) · 2 bad input or configuration
· 3 a final text fails a quality check (`build` under QUALITY_GATE=strict, `check`) · 130
interrupted (Ctrl-C) · 143 terminated (SIGTERM).
"""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from reporting.cli import budget, build, cache, check, compare, doctor, plan, stats, worker
from reporting.cli.common import Terminated, out
from reporting.version import __version__


def _flag_without_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag's help row without a `<bool>` placeholder: a flag takes no value to type."""
    return None if self.is_flag else _typed(self, ctx)


# typer prints `<bool>` beside every flag, --help included, as if it took a value.
_typed = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]

app = typer.Typer(
    name="report",
    help="Compile a YAML outline into a Markdown and DOCX report with routed LLM calls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Registration order is the order `report --help` lists the commands in.
app.command()(build.build)
app.command()(build.batch)
app.command()(plan.plan)
app.command()(check.check)
app.command()(compare.compare)
app.command()(stats.stats)
app.command()(doctor.doctor)
app.command()(worker.worker)
app.add_typer(cache.cache_app, name="cache")
app.add_typer(budget.budget_app, name="budget")


def _version(value: bool) -> None:
    if value:
        out.print(f"reporting {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Compile a YAML outline into a Markdown and DOCX report with routed LLM calls."""


def main() -> None:
    """Console-script entry point."""
    # cron, systemd and CI stop a job with SIGTERM: handled as Ctrl-C is (calls cancelled,
    # finished ones cached, pandoc killed, temporary files removed), then exit 143.
    signal.signal(signal.SIGTERM, _terminate)
    app()


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


__all__ = ["app", "main"]
