"""Drawing a data report's charts: 20 charts of 12 to 50 points, every kind, one to three series.

Run with `make bench`. The goal (issue 15) is a 20-chart report drawing its charts in under
5 s on a 2-core machine. The first run pays for importing matplotlib, as a build does once; the
median is of the runs after it. A second row times the DOCX of the same report: pandoc with the
20 charts embedded and a 20-row table per section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from reporting.assets import templates_dir
from reporting.render.charts import KINDS, draw_chart
from reporting.render.docx import render_docx
from reporting.render.markdown import RenderedSection, figure_markdown, render_markdown
from reporting.render.tables import table_markdown

CHARTS = 20
DASH = "\N{EN DASH}"
STEM = "bench"


def chart_specs() -> list[dict[str, Any]]:
    """20 charts as a KPI report has them: months, days, categories; 12 to 50 points."""
    specs: list[dict[str, Any]] = []
    for n in range(CHARTS):
        kind = KINDS[n % len(KINDS)]
        points = 12 + (n * 2) % 39  # 12 … 50
        if n % 3 == 0:
            x: list[Any] = [dt.date(2022 + m // 12, m % 12 + 1, 1) for m in range(points)]
        elif n % 3 == 1:
            x = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(points)]
        else:
            x = [f"merchant {m:02d}" for m in range(points)]
        series = {
            name: [
                None if (m + s) % 17 == 16 else round(1_000_000 * (s + 1) + 40_000 * math.sin(m), 2)
                for m in range(points)
            ]
            for s, name in enumerate(("authorizations", "captures", "refunds")[: 1 + n % 3])
        }
        specs.append(
            {"kind": kind, "x_label": "period", "x": x, "series": series, "title": f"Chart {n}"}
        )
    return specs


def draw_all(folder: Path, specs: list[dict[str, Any]]) -> float:
    """Seconds to draw every chart into `folder`."""
    started = time.perf_counter()
    for n, spec in enumerate(specs):
        draw_chart(folder / f"chart-{n + 1}.png", **spec)
    return time.perf_counter() - started


def render_report(folder: Path, specs: list[dict[str, Any]]) -> float:
    """Seconds to render the DOCX of a report with the charts and a table per section."""
    images = {f"{STEM}.files/chart-{n + 1}.png": folder / f"chart-{n + 1}.png" for n in range(20)}
    sections = []
    for n, (src, spec) in enumerate(zip(images, specs, strict=True)):
        rows = [(x, *(ys[i] for ys in spec["series"].values())) for i, x in enumerate(spec["x"])]
        columns = ("period", *spec["series"])
        table = table_markdown(columns, rows, caption=f"Table {n}", max_rows=20)
        figure = figure_markdown(src, f"Chart {n}", f"A {spec['kind']} chart of the table above.")
        body = "The volume grew over the period, and refunds stayed flat. " * 8
        sections.append(
            RenderedSection(str(n + 1), f"Section {n + 1}", 1, body, f"{table}\n\n{figure}")
        )
    markdown = render_markdown("Bench", None, dt.date(2026, 12, 31), "Abstract.", sections)
    started = time.perf_counter()
    render_docx(
        markdown,
        folder / f"{STEM}.docx",
        title="Bench",
        author=None,
        created=dt.datetime(2026, 12, 31, tzinfo=dt.UTC),
        reference_docx=templates_dir() / "reference.docx",
        images=images,
    )
    return time.perf_counter() - started


def main() -> None:
    """Print the rows of the speed table of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    specs = chart_specs()
    points = [len(spec["x"]) for spec in specs]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        import matplotlib.figure  # noqa: F401  (the import a build pays once, timed here)

        first = time.perf_counter() - started + draw_all(folder, specs)
        times = [draw_all(folder, specs) for _ in range(args.runs)]
        docx = [render_report(folder, specs) for _ in range(max(1, args.runs // 2))]
    print(
        f"| {CHARTS} charts of {min(points)}{DASH}{max(points)} points (5 kinds, 1{DASH}3 series) "
        f"drawn to PNG | {statistics.median(times):.2f} s | median of {args.runs} runs (max "
        f"{max(times):.2f} s; first, with matplotlib's import: {first:.2f} s); goal under 5 s "
        "(`benchmarks/bench_charts.py`) |"
    )
    print(
        f"| DOCX of a {CHARTS}-section report, each with its chart and a 20-row table | "
        f"{statistics.median(docx):.2f} s | median of {len(docx)} runs, pandoc with the charts "
        "embedded (`benchmarks/bench_charts.py`) |"
    )


if __name__ == "__main__":
    main()
