"""A 1,000-section report built end to end against loopback servers that answer at once.

Run with `make bench`. Measures the whole `build_report` path (load, ground, preflight, plan,
3,001 calls through the real clients, render, write): what our code and the client stack cost
when the models cost nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_build import AVAILABLE, fake_factory, servers, settings_for, write_outline

from reporting.build import build_report
from reporting.compiler.models import ChatModels
from reporting.settings import load_settings


def large_build(folder: Path, sections: int) -> list[tuple[str, str, str]]:
    """Wall time of one cold build of a `sections`-section outline, per call and in total."""
    outline = write_outline(folder, sections, name="large")
    with servers(0.0) as (cloud, local):
        settings = settings_for(cloud, local, primary_max_concurrency=64)
        started, cpu = time.perf_counter(), time.process_time()
        result = build_report(outline, folder / "out", settings, use_cache=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    calls = len(result.report.results)
    return [
        (
            f"{sections} sections at 0 ms: build wall time per call",
            f"{seconds / calls * 1000:.2f} ms",
            f"{calls} calls in {seconds:.2f} s",
        ),
        (
            f"{sections} sections at 0 ms: CPU time of the building process per call",
            f"{cpu / calls * 1000:.2f} ms",
            f"{cpu:.2f} s of CPU (the servers run in a process of their own)",
        ),
    ]


def large_build_fakes(folder: Path, sections: int) -> list[tuple[str, str, str]]:
    """The same build with in-process fake models: what our own code costs, clients aside."""
    outline = write_outline(folder, sections, name="fakes")
    settings = load_settings(
        _env_file=None, vra_hybrid_mode=True, openai_api_key="sk-bench", max_cloud_calls=10_000
    )
    models = ChatModels(settings, fake_factory)
    started = time.perf_counter()
    result = build_report(
        outline, folder / "fakes", settings, models=models, available=AVAILABLE, use_cache=False
    )
    seconds = time.perf_counter() - started
    calls = len(result.report.results)
    return [
        (
            f"{sections} sections, in-process fake models (our code only): build per call",
            f"{seconds / calls * 1000:.2f} ms",
            f"{calls} calls in {seconds:.2f} s, load to written files",
        )
    ]


def main() -> None:
    """Print the row of the speed table of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sections", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    with tempfile.TemporaryDirectory() as temp:
        rows = large_build(Path(temp), args.sections)
        rows += large_build_fakes(Path(temp), args.sections)
    for measure, ratio, detail in rows:
        print(f"| {measure} | {ratio} | {detail} |")


if __name__ == "__main__":
    main()
