"""`report stats`: every run manifest and comparison found, as a summary, JSON or a dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from reporting.cli.common import DEFAULT_OUT, AsJson, err, guard, out

if TYPE_CHECKING:
    from reporting.observe.stats import PooledComparisons, StatsSummary


def stats(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders (searched recursively) or manifest files.", show_default="reports_out"
        ),
    ] = None,
    as_json: AsJson = False,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write an HTML dashboard.")
    ] = None,
) -> None:
    """Aggregate every run manifest found: routing, fallbacks, latency, cost and saving."""
    from reporting.observe.stats import aggregate, load_manifests, pool_comparisons

    with guard():
        manifests, skipped = load_manifests(paths or [DEFAULT_OUT])
        pooled, skipped_compare = pool_comparisons(paths or [DEFAULT_OUT])
        for note in skipped + skipped_compare:
            err.print(f"skipped {note}", markup=False)
        summary = aggregate(manifests)
        if html is not None:
            import datetime as dt

            from reporting.observe.dashboard import render_dashboard
            from reporting.render.outputs import staged

            page = render_dashboard(summary, generated_at=dt.datetime.now(dt.UTC), compare=pooled)
            with staged(html.parent if str(html.parent) else Path(".")) as stage:
                stage(html.name).write_text(page, encoding="utf-8")
            err.print(f"wrote {html}", markup=False)
        if as_json:
            out.print_json(data=summary.to_json() | {"compare": pooled.to_json()})
        elif html is None:
            _print_stats(summary)
            _print_pooled(pooled)


def _print_pooled(pooled: PooledComparisons) -> None:
    """Recommendations pooled over every `report compare` result found."""
    if not pooled.pairs:
        return
    table = Table(
        title=f"Routing recommendations from {pooled.runs} comparisons, {pooled.pairs} pairs"
    )
    for column in ("phase", "section type", "today", "recommendation", "pairs", "evidence"):
        table.add_column(column)
    for r in pooled.recommendations:
        table.add_row(r.phase, r.section_type, r.current_role, r.action, str(r.pairs), r.evidence)
    out.print(table)
    if pooled.routing_file:
        out.print(
            "To adopt the moves, use this as ROUTING_FILE:\n" + pooled.routing_file, markup=False
        )


def _print_stats(s: StatsSummary) -> None:
    """The human summary of `report stats`."""
    per, share = s.cloud_calls_per_report, s.local_share
    out.print(
        f"{s.reports} reports, {s.calls} calls ({s.cache_hits} from cache), "
        f"{s.cloud_calls} cloud calls (mean {per.mean} per report, max {per.max}, "
        f"limit {per.limit})\n"
        f"local share: {share.calls:.0%} of calls, "
        f"{share.output_tokens:.0%} of output tokens\n"
        f"cost ${s.cost:.4f}, all-cloud baseline ${s.baseline:.4f}, "
        f"saving ${s.saving:.4f} ({s.saving_share:.0%})\n"
        f"fallbacks: {s.fallbacks or 'none'}",
        markup=False,
    )
    if s.latency:
        table = Table(title="Latency per provider and phase")
        for column in ("provider", "phase", "calls", "p50 s", "p95 s"):
            table.add_column(column)
        for row in s.latency:
            table.add_row(
                row.provider, row.phase, str(row.calls), f"{row.p50_s:.2f}", f"{row.p95_s:.2f}"
            )
        out.print(table)
