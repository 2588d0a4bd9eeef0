"""What PDF and HTML add to a build: the 11-section example rebuilt from the phase cache.

Run with `make bench`. Each run is `report build` of examples/outlines/quarterly-review.yaml
against loopback servers with every call already cached, so what is timed is loading,
planning and writing the files; runs with `--format md,docx` and `--format md,docx,pdf,html`
alternate, and the difference of their medians is the cost of the two formats. A second row
does the same for payments-kpis.yaml, whose three charts go into both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from golden import EXAMPLES, _environment, golden_reply
from loopback import OllamaServer, OpenAIServer
from typer.testing import CliRunner

from reporting.cli import app

BASE = "md,docx"
ALL = "md,docx,pdf,html"


def timed_build(outline: str, formats: str) -> float:
    """Seconds of one `report build --format FORMATS` in the current folder."""
    started = time.perf_counter()
    result = CliRunner().invoke(
        app, ["build", outline, "--out", "out", "--quiet", "--format", formats]
    )
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(f"{outline}: exit {result.exit_code}\n{result.output}")
    return elapsed


def measure(outline: str, runs: int) -> tuple[float, float]:
    """Median seconds of a cached rebuild without and with PDF and HTML."""
    timed_build(outline, ALL)  # fills the phase cache; imports typst and matplotlib once
    base: list[float] = []
    full: list[float] = []
    for _ in range(runs):
        base.append(timed_build(outline, BASE))
        full.append(timed_build(outline, ALL))
    return statistics.median(base), statistics.median(full)


def main() -> None:
    """Print the rows of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        shutil.copytree(EXAMPLES, work / "outlines")
        shutil.copytree(EXAMPLES.parent / "data", work / "data")
        os.chdir(work)
        try:
            with (
                OpenAIServer(reply=golden_reply) as cloud,
                OllamaServer(reply=golden_reply) as local,
                _environment(cloud.url, local.url),
            ):
                for outline, what in (
                    ("quarterly-review.yaml", "11 sections"),
                    ("payments-kpis.yaml", "6 sections, 3 charts, 4 tables"),
                ):
                    base, full = measure(f"outlines/{outline}", args.runs)
                    print(
                        f"| PDF and HTML of {outline} ({what}), added to a cached rebuild | "
                        f"+{full - base:.2f} s | medians of {args.runs} runs: {full:.2f} s with "
                        f"them vs {base:.2f} s for md,docx (`benchmarks/bench_formats.py`) |"
                    )
        finally:
            os.chdir(before)


if __name__ == "__main__":
    main()
