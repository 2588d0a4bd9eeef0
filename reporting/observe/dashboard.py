"""The HTML dashboard of `report stats --html`: one self-contained page, charts as inline SVG."""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reporting.assets import templates_dir
from reporting.observe.stats import (
    Latency,
    PassRate,
    PhaseShare,
    PooledComparisons,
    ProviderErrors,
    QualityStats,
    RunSummary,
    StatsSummary,
    most_failed,
)
from reporting.phases import CompilationPhase
from reporting.text import duration
from reporting.version import __version__

TEMPLATE = "dashboard.html.j2"
MAX_RUN_ROWS = 50
# Width of every SVG's user space; the SVGs scale to their card, so this is the design width.
CHART_WIDTH = 920
HALF_WIDTH = 440
SEGMENT_KINDS = ("primary", "secondary", "cached")


@dataclass(frozen=True)
class Tick:
    """An axis tick: where it sits and what it says."""

    pos: float
    label: str


@dataclass(frozen=True)
class Segment:
    """One coloured part of a stacked bar, with its count (printed when it fits)."""

    kind: str
    x: float
    width: float
    count: int
    share: str
    show_label: bool


@dataclass(frozen=True)
class PhaseRow:
    """One phase's stacked bar."""

    phase: str
    y: float
    total: int
    segments: list[Segment]


@dataclass(frozen=True)
class PhaseChart:
    """Geometry of the provider-share-per-phase chart."""

    width: int
    height: int
    label_width: float
    bar_width: float
    bar_height: float
    rows: list[PhaseRow]


@dataclass(frozen=True)
class RunBar:
    """One run in the cost chart: the cost bar, the saving on top, the baseline marker."""

    x: float
    width: float
    cost_y: float
    cost_height: float
    saving_y: float
    saving_height: float
    baseline_y: float
    over_baseline: bool
    tooltip: str


@dataclass(frozen=True)
class CostChart:
    """Geometry of the cost-and-saving-per-run chart."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bars: list[RunBar]


@dataclass(frozen=True)
class BarItem:
    """One row of a small horizontal bar list."""

    label: str
    value: str
    detail: str
    y: float
    width: float


@dataclass(frozen=True)
class BarList:
    """Geometry of a small horizontal bar list (fallbacks, error rates)."""

    width: int
    height: int
    bar_x: float
    bar_width: float
    value_x: float
    kind: str
    items: list[BarItem]
    scale_note: str


@dataclass(frozen=True)
class LatencyRow:
    """One latency table row with its range bar (p50 solid, up to p95 light)."""

    provider: str
    phase: str
    calls: int
    p50: str
    p95: str
    p50_width: float
    p95_width: float
    first: bool


@dataclass(frozen=True)
class PassRow:
    """One row of the pass-rate table, with its bar (share of checked texts that passed)."""

    phase: str
    provider: str
    model: str
    checked: int
    passed: int
    rate: str
    width: float
    low: bool  # under half passed
    most_failed: str
    failures: str  # every failed check and its count, for the tooltip
    first: bool  # the first row of its phase


@dataclass(frozen=True)
class QualityView:
    """The quality card: pass rates per provider and phase, and the repair cost, formatted."""

    checked_runs: int
    runs: int
    rows: list[PassRow]
    checked: str
    passed: str
    rate: str
    reports_passing: int
    gates: str
    unsupported_figures: int
    repairs: int
    escalations: int
    routes: list[str]
    extra_requests: int
    extra_cloud_requests: int
    extra_cost: str
    extra_latency: str


@dataclass(frozen=True)
class RunRow:
    """One row of the runs table, every value formatted."""

    started: str
    title: str
    outline: str
    manifest: str
    calls: int
    cloud_calls: int
    limit: int | str  # an em dash when the run recorded no limit
    over_limit: bool
    fallbacks: int
    cost: str
    baseline: str
    saving: str
    negative: bool
    checks: str  # passed, failing, or an em dash when not checked
    took: str  # the build's wall time, or an em dash
    href: str | None  # the report, relative to the dashboard's folder; None when unknown


def money_decimals(values: list[float]) -> int:
    """Decimals that show the smallest non-zero amount: 2 from $0.10 up, then 3, then 4."""
    smallest = min((abs(v) for v in values if v), default=1.0)
    return 2 if smallest >= 0.1 else 3 if smallest >= 0.01 else 4


def money(value: float, decimals: int | None = None) -> str:
    """Dollars, with enough decimals that a small amount does not read as $0.00."""
    places = money_decimals([value]) if decimals is None else decimals
    sign = "-" if round(value, places) < 0 else ""
    return f"{sign}${abs(value):,.{places}f}"


def percent(share: float) -> str:
    """A 0..1 share as a percentage with one decimal."""
    return f"{share * 100:.1f}%"


def seconds(value: float) -> str:
    """Seconds with two decimals."""
    return f"{value:.2f} s"


def parse_time(value: object) -> dt.datetime | None:
    """An ISO timestamp, or None when it is missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def local_time(moment: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """The moment in the page's time zone, when both are zone-aware."""
    if zone is not None and moment.tzinfo is not None:
        return moment.astimezone(zone)
    return moment


def day_label(moment: dt.datetime) -> str:
    """A short date: `3 Mar 2026`."""
    return f"{moment.day} {moment:%b %Y}"


def nice_step(maximum: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power


def step_decimals(step: float) -> int:
    """Decimals needed to print multiples of `step` exactly."""
    for decimals in range(7):
        if abs(round(step, decimals) - step) < 1e-9:
            return decimals
    return 6


def phase_chart(rows: list[PhaseShare], width: int = CHART_WIDTH) -> PhaseChart:
    """Stacked 100% bars per phase: primary, secondary and cached calls."""
    label_width, total_width, row_height, bar_height = 96.0, 88.0, 40.0, 24.0
    bar_width = width - label_width - total_width
    chart_rows = []
    for index, row in enumerate(rows):
        counts = {"primary": row.primary, "secondary": row.secondary, "cached": row.cached}
        total = sum(counts.values())
        x, segments = label_width, []
        for kind in SEGMENT_KINDS:
            count = counts[kind]
            if not count:
                continue
            share = count / total
            seg_width = bar_width * share
            label = f"{count}"
            segments.append(
                Segment(
                    kind=kind,
                    x=round(x, 2),
                    width=round(seg_width, 2),
                    count=count,
                    share=percent(share),
                    show_label=seg_width >= 10 + 8 * len(label),
                )
            )
            x += seg_width
        chart_rows.append(
            PhaseRow(phase=row.phase, y=index * row_height, total=total, segments=segments)
        )
    height = max(1, len(rows)) * int(row_height) - int(row_height - bar_height)
    return PhaseChart(
        width=width,
        height=height,
        label_width=label_width,
        bar_width=bar_width,
        bar_height=bar_height,
        rows=chart_rows,
    )


def x_tick_indices(count: int, most: int) -> list[int]:
    """Which of `count` runs get a date label: evenly spaced, first and last always."""
    if count <= max(2, most):
        return list(range(count))
    step = math.ceil((count - 1) / (max(2, most) - 1))
    chosen = list(range(0, count, step))
    chosen[-1] = (
        count - 1
    )  # the last run replaces the last stride, at least `step` from the one before
    return chosen


def cost_chart(
    runs: list[RunSummary], zone: dt.tzinfo | None, width: int = CHART_WIDTH
) -> CostChart:
    """Bars per run in start order: cost, the saving on top up to the all-cloud baseline."""
    height = 260
    left, right, top, bottom = 64.0, width - 12.0, 12.0, height - 36.0
    highest = max([max(float(r.cost), float(r.baseline)) for r in runs] + [0.0])
    step = nice_step(highest)
    y_max = step * max(1, math.ceil(highest / step - 1e-9))
    decimals = step_decimals(step)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * value / y_max, 2)

    y_ticks = [
        Tick(pos=y_of(step * i), label=f"${step * i:,.{decimals}f}")
        for i in range(round(y_max / step) + 1)
    ]
    slot = (right - left) / max(1, len(runs))
    bar_width = max(2.0, min(44.0, slot * 0.66))
    bars, centres, days, times = [], [], [], []
    for index, run in enumerate(runs):
        cost, baseline = float(run.cost), float(run.baseline)
        centre = left + slot * (index + 0.5)
        parsed = parse_time(run.started_at)
        started = local_time(parsed, zone) if parsed else None
        day = day_label(started) if started else "?"
        title = run.title or run.outline
        tooltip = (
            f"{title} — {day}: cost {money(cost)}, all-cloud {money(baseline)}, "
            f"saving {money(baseline - cost)}"
            if run.cloud_primary
            else f"{title} — {day}: cost {money(cost)}, no cloud primary"
        )
        saving_top = y_of(max(baseline, cost))
        bars.append(
            RunBar(
                x=round(centre - bar_width / 2, 2),
                width=round(bar_width, 2),
                cost_y=y_of(cost),
                cost_height=round(bottom - y_of(cost), 2),
                saving_y=saving_top,
                saving_height=round(y_of(cost) - saving_top, 2),
                baseline_y=y_of(baseline),
                over_baseline=cost > baseline,
                tooltip=tooltip,
            )
        )
        centres.append(round(centre, 2))
        days.append(f"{started.day} {started:%b}" if started else "?")
        times.append(f"{started:%H:%M}" if started else "?")
    most = int((right - left) // 60)
    x_ticks: list[Tick] = []
    shown_day = None
    for index in x_tick_indices(len(runs), most):
        # A run on a day already labelled is labelled by its time, so every bar has one.
        label = times[index] if days[index] == shown_day else days[index]
        shown_day = days[index]
        x_ticks.append(Tick(pos=centres[index], label=label))
    return CostChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        bars=bars,
    )


def bar_list(
    rows: list[tuple[str, float, str, str]], kind: str, scale: float, scale_note: str = ""
) -> BarList:
    """Horizontal bars for (label, value, value text, detail) rows, `scale` as full width."""
    width, row_height, label_width, value_width = HALF_WIDTH, 30.0, 112.0, 178.0
    bar_width = width - label_width - value_width
    items = [
        BarItem(
            label=label,
            value=value_text,
            detail=detail,
            y=index * row_height,
            width=round(bar_width * min(1.0, value / scale), 2) if scale > 0 else 0.0,
        )
        for index, (label, value, value_text, detail) in enumerate(rows)
    ]
    return BarList(
        width=width,
        height=max(1, len(rows)) * int(row_height) - 8,
        bar_x=label_width,
        bar_width=bar_width,
        value_x=label_width + bar_width + 10,
        kind=kind,
        items=items,
        scale_note=scale_note,
    )


def fallback_bars(fallbacks: dict[str, int], calls: int) -> BarList:
    """Fallbacks by reason, most frequent first, as a share of all calls."""
    ordered = sorted(fallbacks.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max(fallbacks.values(), default=0)
    rows = [
        (reason, float(count), f"{count}", f"{percent(count / calls) if calls else '-'} of calls")
        for reason, count in ordered
    ]
    return bar_list(rows, "fallback", float(top))


def error_rate_bars(providers: dict[str, ProviderErrors]) -> BarList:
    """Error rate per provider on a fixed scale of at least 10%, so small rates stay small."""
    rates = [p.error_rate for p in providers.values()]
    scale = max([0.1, *rates])
    scale = nice_step(scale, 1) if scale > 0.1 else 0.1
    rows = [
        (
            name,
            p.error_rate,
            percent(p.error_rate),
            f"{p.failures} of {p.requests} requests",
        )
        for name, p in providers.items()
    ]
    return bar_list(rows, "error", scale, f"bar scale 0\N{EN DASH}{scale * 100:.0f}%")


def phase_rank(phase: str) -> int:
    """A phase's place in the pipeline; unknown phases last."""
    names = [phase.name for phase in CompilationPhase]
    return names.index(phase) if phase in names else len(names)


def latency_rows(latency: list[Latency], width: float = 120.0) -> list[LatencyRow]:
    """Latency rows in pipeline order, providers side by side, range bars on one scale."""
    slowest = max([float(r.p95_s) for r in latency] + [0.0])
    ordered = sorted(latency, key=lambda r: (phase_rank(r.phase), r.provider))
    return [
        LatencyRow(
            provider=r.provider,
            phase=r.phase,
            calls=r.calls,
            p50=seconds(float(r.p50_s)),
            p95=seconds(float(r.p95_s)),
            p50_width=round(width * float(r.p50_s) / slowest, 2) if slowest else 0.0,
            p95_width=round(width * float(r.p95_s) / slowest, 2) if slowest else 0.0,
            first=index == 0 or r.phase != ordered[index - 1].phase,
        )
        for index, r in enumerate(ordered)
    ]


def pass_rows(rates: list[PassRate], width: float = 120.0) -> list[PassRow]:
    """Pass-rate rows in pipeline order, providers side by side, bars on a 0-100% scale."""
    ordered = sorted(rates, key=lambda r: (phase_rank(r.phase), r.provider, r.model))
    return [
        PassRow(
            phase=r.phase,
            provider=r.provider,
            model=r.model,
            checked=r.checked,
            passed=r.passed,
            rate=percent(float(r.pass_rate)),
            width=round(width * float(r.pass_rate), 2),
            low=float(r.pass_rate) < 0.5,
            most_failed=most_failed(r.failures) or "—",
            failures=", ".join(f"{name} {count}" for name, count in r.failures.items())
            or "none failed",
            first=index == 0 or r.phase != ordered[index - 1].phase,
        )
        for index, r in enumerate(ordered)
    ]


def quality_view(q: QualityStats) -> QualityView:
    """The quality card's figures, formatted."""
    return QualityView(
        checked_runs=q.checked_runs,
        runs=q.checked_runs + q.unchecked_runs,
        rows=pass_rows(q.pass_rates),
        checked=f"{q.checked_calls:,}",
        passed=f"{q.passed_calls:,}",
        rate=percent(q.pass_rate),
        reports_passing=q.reports_passing,
        gates=", ".join(f"{gate} {count}" for gate, count in q.gates.items()),
        unsupported_figures=q.unsupported_figures,
        repairs=q.repairs,
        escalations=q.escalations,
        routes=[
            f"{r.from_provider} {r.from_model} → {r.to_provider} {r.to_model}: "
            f"{r.escalations} ({r.kept} kept)"
            for r in q.escalation_routes
        ],
        extra_requests=q.extra_requests,
        extra_cloud_requests=q.extra_cloud_requests,
        extra_cost=money(q.extra_cost_usd),
        extra_latency=seconds(q.extra_latency_s),
    )


def report_href(report: str | None, links_from: Path | None) -> str | None:
    """A link from the dashboard's folder to a run's report file (a relative path)."""
    if report is None or links_from is None:
        return None
    relative = os.path.relpath(Path(report).resolve(), links_from.resolve())
    return Path(relative).as_posix()


def run_rows(
    runs: list[RunSummary], zone: dt.tzinfo | None, links_from: Path | None = None
) -> list[RunRow]:
    """The runs table, latest first, at most MAX_RUN_ROWS rows, every value formatted."""
    shown = list(reversed(runs))[:MAX_RUN_ROWS]
    places = money_decimals([float(v) for r in shown for v in (r.cost, r.baseline, r.saving)])
    rows = []
    for run in shown:
        started = parse_time(run.started_at)
        limit = run.max_cloud_calls
        rows.append(
            RunRow(
                started=(
                    f"{local_time(started, zone):%Y-%m-%d %H:%M}"
                    if started
                    else str(run.started_at)
                ),
                title=run.title or "",
                outline=run.outline,
                manifest=run.manifest,
                calls=run.calls,
                cloud_calls=run.cloud_calls,
                limit="—" if limit is None else limit,
                over_limit=limit is not None and run.cloud_calls > limit,
                fallbacks=run.fallbacks,
                cost=money(float(run.cost), places),
                # A run with no cloud primary has no baseline to save against: a dash, not $0.
                baseline=money(float(run.baseline), places) if run.cloud_primary else "—",
                saving=money(float(run.saving), places) if run.cloud_primary else "—",
                negative=run.cloud_primary and float(run.saving) < 0,
                checks=(
                    "—"
                    if run.quality_passed is None
                    else "passed"
                    if run.quality_passed
                    else "failing"
                ),
                took="—" if run.duration_s is None else duration(float(run.duration_s)),
                href=report_href(run.report, links_from),
            )
        )
    return rows


def period(runs: list[RunSummary], zone: dt.tzinfo | None) -> str:
    """First to last run date, one date when they are the same day, a dash when unknown."""
    times = [t for t in (parse_time(r.started_at) for r in runs) if t is not None]
    if not times:
        return "—"
    try:
        first, last = min(times), max(times)
    except TypeError:  # naive and aware timestamps mixed: keep the manifests' order
        first, last = times[0], times[-1]
    start, end = day_label(local_time(first, zone)), day_label(local_time(last, zone))
    return start if start == end else f"{start} \N{EN DASH} {end}"


def context(
    stats: StatsSummary,
    compare: PooledComparisons | None,
    generated_at: dt.datetime,
    links_from: Path | None = None,
) -> dict[str, Any]:
    """Everything the template shows, formatted and laid out."""
    zone = generated_at.tzinfo
    runs = stats.runs
    share = stats.local_share
    phases = phase_chart(stats.phase_share)
    costs = cost_chart(runs, zone)
    return {
        "version": __version__,
        "generated": f"{generated_at:%Y-%m-%d %H:%M}",
        "zone": generated_at.tzname() or "",
        "empty": not stats.reports,
        "period": period(runs, zone),
        "calls": f"{stats.calls:,}",
        "requests": f"{stats.requests:,}",
        "cache_hits": f"{stats.cache_hits:,}",
        "cloud_calls": f"{stats.cloud_calls:,}",
        "s": stats,
        "per_report": stats.cloud_calls_per_report,
        "local_calls": percent(share.calls),
        "local_tokens": percent(share.output_tokens),
        "local_calls_width": round(100 * float(share.calls), 1),
        "local_tokens_width": round(100 * float(share.output_tokens), 1),
        "cost": money(stats.cost),
        "baseline": money(stats.baseline),
        "saving": money(stats.saving),
        "saving_share": percent(stats.saving_share),
        "cloud_primary": stats.cloud_primary_runs > 0,
        "phases": phases,
        "costs": costs,
        # The legends name only the marks the charts hold.
        "legend": {
            "cached": any(seg.kind == "cached" for row in phases.rows for seg in row.segments),
            "saving": any(bar.saving_height > 0 for bar in costs.bars),
            "over": any(bar.over_baseline for bar in costs.bars),
        },
        "fallbacks": fallback_bars(stats.fallbacks, stats.calls),
        "fallback_total": sum(stats.fallbacks.values()),
        "errors": error_rate_bars(stats.providers),
        "latency": latency_rows(stats.latency),
        "quality": quality_view(stats.quality),
        "runs": run_rows(runs, zone, links_from),
        "run_count": len(runs),
        "max_rows": MAX_RUN_ROWS,
        "compare": compare
        or PooledComparisons(runs=0, pairs=0, recommendations=[], routing_file=""),
        "money": money,
    }


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_dashboard(
    stats: StatsSummary,
    *,
    generated_at: dt.datetime,
    compare: PooledComparisons | None = None,
    links_from: Path | None = None,
) -> str:
    """The dashboard of `aggregate()`'s statistics, and of pooled comparisons, as one page.

    `links_from`: the folder the page is written to, from which runs link to their reports.
    """
    page = _environment().get_template(TEMPLATE)
    return page.render(**context(stats, compare, generated_at, links_from))
