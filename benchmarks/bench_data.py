"""Cost of the data stage on a 1,000,000-row CSV: parameters, queries, facts. The goal: under 2 s.

Run with `python benchmarks/bench_data.py`. The CSV is generated once (by DuckDB, in a few
seconds) into the temporary folder and reused. Every run is a build's: a new DuckDB connection,
the file hashed, the file read by each query, the rows turned into facts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from reporting.data.facts import attach_facts
from reporting.data.params import resolve_params, substitute
from reporting.data.query import run_queries
from reporting.outline.loader import load_outline

ROWS = 1_000_000
FOLDER = Path(tempfile.gettempdir()) / "reporting-bench-data"

# Payments: a row per batch of authorizations, over 24 months, 3 regions and 4 merchants' kinds.
GENERATE = f"""
copy (
    select
        strftime(date '2025-01-01' + to_months(i % 24), '%Y-%m') as month,
        (['EU', 'US', 'APAC'])[i // 24 % 3 + 1] as region,
        strftime(date '2025-01-01' + to_months(i % 24), '%Y') || 'Q'
            || (((i % 24) % 12) // 3 + 1) as quarter,
        (['retail', 'travel', 'digital', 'food'])[i // 72 % 4 + 1] as merchant_kind,
        100 + (i * 7919) % 900 as authorizations,
        (i * 104729) % 37 as declines,
        round(80 + ((i * 31) % 2000) / 10.0, 1) as p99_ms
    from range({ROWS}) as t(i)
) to '{{path}}' (format csv, header)
"""

OUTLINE = """\
title: Payments in {region}, {quarter}
params:
  region: {type: str, default: EU, choices: [EU, US, APAC]}
  quarter: {type: str, default: 2026Q3, pattern: "^\\\\d{4}Q[1-4]$"}
data:
  payments: payments.csv
sections:
"""
SECTIONS = (
    """\
  - title: Volume and latency in {region}
    query: |
      select month, sum(authorizations) as authorizations, max(p99_ms) as p99_ms
      from payments where region = $region and quarter = $quarter
      group by month order by month
    table: {columns: [month, authorizations, p99_ms]}
    chart: {kind: line, x: month, y: [p99_ms]}
""",
    """\
  - title: Declines by merchant kind
    query: |
      select merchant_kind, sum(declines) as declines, sum(authorizations) as authorizations
      from payments where region = $region and quarter = $quarter
      group by merchant_kind order by declines desc
""",
    """\
  - title: Regions compared
    query: |
      select region, sum(authorizations) as authorizations, avg(p99_ms) as p99_ms
      from payments where quarter = $quarter group by region order by region
""",
)


def data_file() -> Path:
    """The generated CSV, made once and reused."""
    FOLDER.mkdir(exist_ok=True)
    path = FOLDER / "payments.csv"
    if not path.exists():
        partial = FOLDER / "payments.partial.csv"
        con = duckdb.connect()
        con.execute(GENERATE.format(path=str(partial).replace("'", "''")))
        con.close()
        partial.rename(path)  # a run stopped halfway leaves no short file to reuse
    return path


def measure(runs: int, sections: int) -> tuple[str, str, str]:
    """Median wall time of the data stage for an outline with `sections` queries."""
    csv = data_file()
    outline_path = FOLDER / f"payments-{sections}.yaml"
    outline_path.write_text(OUTLINE + "".join(SECTIONS[:sections]))
    times: list[float] = []
    rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        outline = load_outline(outline_path)
        values = resolve_params(outline, {"quarter": "2026Q3"}, str(outline_path))
        substitute(outline, values)
        results = run_queries(outline, outline_path, values, {})
        attach_facts(outline, results)
        times.append(time.perf_counter() - started)
        rows = sum(result.row_count for result in results.queries.values())
    median = statistics.median(times)
    size = csv.stat().st_size / 1_000_000
    queries = "one aggregating query" if sections == 1 else f"{sections} aggregating queries"
    return (
        f"data stage: {ROWS:,}-row CSV ({size:.0f} MB), {queries}, facts for the prompts",
        f"{median:.2f} s",
        f"median of {runs} runs (max {max(times):.2f} s), {rows} result rows; goal under 2 s "
        "(`benchmarks/bench_data.py`)",
    )


def main() -> None:
    """Print the rows of the speed table of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for sections in (1, len(SECTIONS)):
        name, value, detail = measure(args.runs, sections)
        print(f"| {name} | {value} | {detail} |")


if __name__ == "__main__":
    main()
