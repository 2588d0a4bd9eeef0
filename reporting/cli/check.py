"""`report check`: the quality checks run again on a report already built (and perhaps edited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from reporting.observe.recheck import CheckedText, Recheck
    from reporting.outline.model import Outline

from reporting.cli.common import (
    DEFAULT_OUT,
    AllowOutside,
    AsJson,
    OutDir,
    OutlineArg,
    Params,
    configure_logging,
    err,
    guard,
    out,
    parse_params,
    settings_or_exit,
)
from reporting.errors import QualityFailed


def check(
    outline: OutlineArg,
    out_dir: OutDir = DEFAULT_OUT,
    as_json: AsJson = False,
    allow_outside: AllowOutside = False,
    param: Params = None,
) -> None:
    """Check the report built from OUTLINE again, as it now reads; exit 3 when a check fails.

    Give the same --param values as the build, so the same report and data are checked.

    Examples:

      report check examples/outlines/storage-outage.yaml

      report check kpis.yaml --param region=US --json
    """
    from reporting.build import read_inputs, run_stem
    from reporting.observe.recheck import ReportFiles, recheck
    from reporting.routing.roles import Role

    settings = settings_or_exit()
    configure_logging(settings, quiet=as_json)
    with guard(settings):
        params = parse_params(param)
        found: list[ReportFiles] = []

        def require(loaded: Outline) -> None:
            found.append(ReportFiles.of(outline, out_dir, run_stem(outline.stem, loaded, params)))
            found[0].require()

        # The report's files are looked for before the data and sources are read; no provider
        # is asked (whatever QUALITY_GATE says: this command is an explicit request to check).
        inputs = read_inputs(
            outline,
            settings,
            available={Role.PRIMARY: True, Role.SECONDARY: True},
            allow_outside=allow_outside,
            check=require,
            params=params,
        )
        files = found[0]
        result = recheck(inputs.outline, inputs.grounding, files)
        for warning in result.warnings:
            err.print(f"warning: {files.markdown}: {warning}", markup=False)
        if as_json:
            out.print_json(data=result.to_json())
        else:
            _print(result)
        if not result.passed:
            raise typer.Exit(QualityFailed.exit_code)


def _print(result: Recheck) -> None:
    """Per failing text a line naming the checks it fails, then each finding indented."""
    for text in (*result.sections, result.abstract):
        if text.failed:
            out.print(f"{_name(text)}: fails {', '.join(text.failed)}", markup=False)
            for check in text.checks:
                for finding in check.findings:
                    out.print(f"  {check.name}: {finding.message}", markup=False)
    abstract = "fails" if result.abstract.failed else "passes"
    out.print(
        f"{result.sections_passing} of {len(result.sections)} sections pass every check; "
        f"abstract {abstract}",
        markup=False,
    )


def _name(text: CheckedText) -> str:
    """`3.1 Reliability and Latency`, or `abstract`."""
    return f"{text.section.id} {text.section.title}" if text.section else "abstract"
