"""`report stats`: every run manifest and comparison found, as a summary, JSON or a dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reporting.cli.common import DEFAULT_OUT, AsJson, err, guard, out

if TYPE_CHECKING:
    from reporting.observe.stats import PooledComparisons, QualityStats, StatsSummary


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
    """Aggregate every run manifest found: routing, fallbacks, latency, cost, checks and saving.

    Examples:

      report stats

      report stats reports_out/ --html dashboard.html
    """
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

            folder = html.parent if str(html.parent) else Path(".")
            page = render_dashboard(
                summary,
                generated_at=dt.datetime.now(dt.UTC),
                compare=pooled,
                links_from=folder,
            )
            with staged(folder) as stage:
                stage(html.name).write_text(page, encoding="utf-8")
            err.print(f"wrote {html}", markup=False)
        if as_json:
            out.print_json(data=summary.to_json() | {"compare": pooled.to_json()})
        elif html is None:
            _print_stats(summary)
            _print_quality(summary.quality)
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
    summary = Table(title=f"{s.reports} reports", show_header=False, title_justify="left")
    summary.add_column("what", style="bold")
    summary.add_column("figures")
    for what, figures in (
        ("calls", f"{s.calls} ({s.cache_hits} from cache)"),
        (
            "cloud calls",
            f"{s.cloud_calls} (mean {per.mean} per report, max {per.max}, limit {per.limit})",
        ),
        ("local share", f"{share.calls:.0%} of calls, {share.output_tokens:.0%} of output tokens"),
        ("cost", cost_text(s)),
        ("fallbacks", _counts(s.fallbacks) or "none"),
    ):
        summary.add_row(what, escape(figures))
    out.print(summary)
    if s.latency:
        table = Table(title="Latency per provider and phase")
        for column in ("provider", "phase", "calls", "p50 s", "p95 s"):
            table.add_column(column)
        for row in s.latency:
            table.add_row(
                row.provider, row.phase, str(row.calls), f"{row.p50_s:.2f}", f"{row.p95_s:.2f}"
            )
        out.print(table)


def cost_text(s: StatsSummary) -> str:
    """Cost and saving; no saving when no run had a cloud primary to save against."""
    if not s.cloud_primary_runs:
        return f"cost ${s.cost:.4f}; no run had a cloud primary: no all-cloud baseline, no saving"
    return (
        f"cost ${s.cost:.4f}, all-cloud baseline ${s.baseline:.4f}, "
        f"saving ${s.saving:.4f} ({s.saving_share:.0%})"
    )


def _counts(counts: dict[str, int]) -> str:
    """`{"ERROR": 2, "COST_LIMIT": 1}` as `ERROR 2, COST_LIMIT 1`."""
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def _print_quality(q: QualityStats) -> None:
    """Pass rates per provider and phase, and what repairs and escalations cost."""
    from reporting.observe.stats import most_failed

    runs = q.checked_runs + q.unchecked_runs
    if not q.checked_runs:
        if runs:
            out.print(
                f"quality checks: none of {runs} runs checked "
                "(manifests before version 4, or QUALITY_GATE=off)",
                markup=False,
            )
        return
    table = Table(
        title=f"Quality checks per provider and phase ({q.checked_runs} of {runs} runs checked)"
    )
    for column in ("phase", "provider", "model", "checked", "passed", "rate", "most failed"):
        table.add_column(
            column, justify="right" if column in ("checked", "passed", "rate") else "left"
        )
    for row in q.pass_rates:
        top = most_failed(row.failures)
        table.add_row(
            row.phase,
            row.provider,
            row.model,
            str(row.checked),
            str(row.passed),
            f"{row.pass_rate:.0%}",
            top or "-",
        )
    out.print(table)
    routes = "; ".join(
        f"{r.from_provider} {r.from_model} → {r.to_provider} {r.to_model} "
        f"{r.escalations} ({r.kept} kept)"
        for r in q.escalation_routes
    )
    out.print(
        f"checks: {q.passed_calls} of {q.checked_calls} texts passed ({q.pass_rate:.0%}); "
        f"reports passing: {q.reports_passing} of {q.checked_runs} "
        f"(QUALITY_GATE {_counts(q.gates)}); unsupported figures left: {q.unsupported_figures}\n"
        f"repair cost: {q.repairs} repairs, {q.escalations} escalations"
        f"{f' ({routes})' if routes else ''}; {q.extra_requests} extra requests "
        f"({q.extra_cloud_requests} cloud), ${q.extra_cost_usd:.4f}, {q.extra_latency_s:.1f} s",
        markup=False,
    )
