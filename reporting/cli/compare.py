"""`report compare`: chosen calls on both providers, and the routing moves they suggest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from reporting.cli.common import (
    DEFAULT_OUT,
    AllowOutside,
    NoCache,
    OutDir,
    OutlineArg,
    Quiet,
    configure_logging,
    err,
    guard,
    out,
    settings_or_exit,
)


def compare(
    outline: OutlineArg,
    phases: Annotated[
        str | None,
        typer.Option(
            "--phases", metavar="DRAFT,EXPAND,REFINE,ABSTRACT", help="Phases to compare (all)."
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option(
            "--sections",
            metavar="IDS",
            help="Section ids to compare, e.g. 1,2.1,abstract (all, and the abstract).",
        ),
    ] = None,
    judge: Annotated[
        bool, typer.Option("--judge", help="Ask the primary which text is better, both orders.")
    ] = False,
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Print the compare plan and stop; no model call.")
    ] = False,
    out_dir: OutDir = DEFAULT_OUT,
    quiet: Quiet = False,
    no_cache: NoCache = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Run chosen calls of OUTLINE on both providers; write <stem>.compare.md and .compare.json.

    Examples:

      report compare examples/outlines/storage-outage.yaml --plan

      report compare outline.yaml --phases DRAFT,REFINE --sections 1,2 --judge
    """
    from reporting.comparison import prepare_compare, run_compare

    settings = settings_or_exit()
    configure_logging(settings, quiet)
    with guard(settings):
        prepared = prepare_compare(
            outline,
            out_dir,
            settings,
            phases=phases,
            sections=sections,
            judge=judge,
            allow_outside=allow_outside,
            use_cache=not no_cache,
        )
        plan = prepared.plan
        # The plan before any call: what fits under MAX_CLOUD_CALLS, and what does not.
        planned = Table(title=f"Compare plan for {outline}")
        for column in ("call", "routed today", "compared", "cloud calls"):
            planned.add_column(column)
        for target in plan.targets:
            planned.add_row(
                target.label,
                target.step.role.value,
                "yes" if target.included else "no: MAX_CLOUD_CALLS",
                str(target.cloud_calls),
            )
        err.print(planned)
        err.print(
            f"{plan.cloud_calls} cloud calls reserved of {plan.max_cloud_calls} allowed "
            f"({len(plan.inputs)} input steps run once, as routed)",
            markup=False,
        )
        if plan_only:
            return
        result = run_compare(prepared, out_dir, settings, use_cache=not no_cache)
        table = Table(title="Recommendations")
        columns = ("phase", "section type", "today", "recommendation", "pairs", "saving")
        for column in (*columns, "failing checks"):
            table.add_column(column)
        for r in result.run.recommendations:
            table.add_row(
                r.phase,
                r.section_type,
                r.current_role,
                r.action,
                str(r.pairs),
                f"${r.saving_usd_per_report:.4f}",
                f"secondary {r.secondary_failing_checks}/{r.checked_pairs}, "
                f"primary {r.primary_failing_checks}/{r.checked_pairs}"
                if r.checked_pairs
                else "-",
            )
        out.print(table)
        if result.routing_file and not settings.vra_hybrid_mode:
            err.print(
                "note: ROUTING_FILE overrides apply in hybrid mode only; "
                "set VRA_HYBRID_MODE=true to adopt these moves",
                markup=False,
            )
        out.print(
            f"wrote {result.markdown} and {result.json.name}: {len(result.run.pairs)} pairs, "
            f"{result.run.metrics.cloud_calls} cloud calls of {plan.max_cloud_calls} allowed",
            markup=False,
        )
