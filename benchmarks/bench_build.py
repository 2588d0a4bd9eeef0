"""Speed of the compiler against loopback servers: overhead, critical path, sequential, batch.

Run with `make bench`. Prints a Markdown table of ratios measured in this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reporting.batch import run_batch
from reporting.build import build_report
from reporting.compiler.concurrency import ProviderLimits
from reporting.compiler.context import CallContext
from reporting.compiler.execute import CompiledReport, execute
from reporting.compiler.models import ChatModels
from reporting.outline.loader import load_outline
from reporting.routing.plan import make_plan
from reporting.routing.roles import ProviderSpec, Role
from reporting.settings import Settings, load_settings
from reporting.sources.grounding import NO_SOURCES

TYPES = ["intro", "background", "method", "implementation", "results", "analysis", "discussion"]
AVAILABLE = {Role.PRIMARY: True, Role.SECONDARY: True}


def write_outline(folder: Path, sections: int, name: str = "bench") -> Path:
    """An outline of `sections` top-level sections of mixed types."""
    data = {
        "title": f"Benchmark report {name}",
        "sections": [
            {
                "title": f"Part {i}",
                "type": TYPES[i % len(TYPES)],
                "brief": f"Part {i}.",
                "words": 60,
            }
            for i in range(sections)
        ],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@contextmanager
def servers(latency: float, counts: list[int] | None = None) -> Iterator[tuple[str, str]]:
    """Both loopback servers in a child process; yields their OpenAI and Ollama URLs.

    `counts`, when given, receives the chat requests each server received, at the end.
    """
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "serve_loopback.py"), str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    cloud, local = process.stdout.readline().split()
    try:
        yield cloud, local
    finally:
        process.stdin.close()
        received = [int(n) for n in process.stdout.readline().split()]
        if counts is not None:
            counts[:] = received
        process.wait(timeout=10)


def settings_for(cloud: str, local: str, **overrides: Any) -> Settings:
    """Hybrid settings aimed at the loopback servers, with a budget that never binds."""
    values: dict[str, Any] = {
        "_env_file": None,  # a developer's .env must not change what is measured
        "primary_provider": "openai",
        "primary_model": "gpt-4o",
        "secondary_provider": "local",
        "secondary_model": "llama3:8b",
        "vra_hybrid_mode": True,
        "openai_api_key": "sk-bench-0000",
        "openai_base_url": cloud,
        "ollama_host": local,
        "max_cloud_calls": 10_000,
        "retry_backoff_max": 0,
    }
    values.update(overrides)
    return load_settings(**values)


class OneAtATime(ProviderLimits):
    """One call in flight across all providers: the sequential baseline."""

    def slot(self, spec: ProviderSpec) -> asyncio.Semaphore:
        """The same single slot for every provider."""
        return self._single

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._single = asyncio.Semaphore(1)


def compile_seconds(
    outline_path: Path,
    settings: Settings,
    limits: ProviderLimits | None = None,
    models: ChatModels | None = None,
) -> tuple[float, int]:
    """Wall time of generation (plan and all calls, no rendering) and the number of calls."""
    outline = load_outline(outline_path)
    context = CallContext.for_settings(settings, models=models, limits=limits)

    async def plan_and_execute() -> CompiledReport:
        try:
            plan = make_plan(outline, settings, AVAILABLE)
            return await execute(plan, outline, NO_SOURCES, context)
        finally:
            await context.models.aclose()

    started = time.perf_counter()
    report = asyncio.run(plan_and_execute())
    return time.perf_counter() - started, len(report.results)


def fake_factory(name: str, model: str, settings: Settings) -> BaseChatModel:
    """An instant langchain-core fake: measures our own code only."""
    replies = (AIMessage(f"Text {i}.") for i in itertools.count())
    return GenericFakeChatModel(messages=replies)


def overhead(folder: Path) -> list[tuple[str, str, str]]:
    """Per-call cost with zero-latency servers and with in-process fakes."""
    outline_path = write_outline(folder, 100, "overhead")
    rows = []
    with servers(0.0) as (cloud, local):
        settings = settings_for(
            cloud, local, primary_max_concurrency=8, secondary_max_concurrency=8
        )
        compile_seconds(outline_path, settings)  # warm up clients and imports
        seconds, calls = compile_seconds(outline_path, settings)
    rows.append(
        (
            "per call, loopback servers at 0 ms (100 sections)",
            f"{seconds / calls * 1000:.2f} ms",
            f"{calls} calls in {seconds:.2f} s",
        )
    )
    settings = load_settings(
        vra_hybrid_mode=True, openai_api_key="sk-bench", max_cloud_calls=10_000
    )
    seconds, calls = compile_seconds(
        outline_path, settings, models=ChatModels(settings, fake_factory)
    )
    rows.append(
        (
            "per call, in-process fake models (our code only)",
            f"{seconds / calls * 1000:.2f} ms",
            f"{calls} calls in {seconds:.2f} s",
        )
    )
    return rows


def critical_path(folder: Path, latency: float) -> list[tuple[str, str, str]]:
    """20 and 100 sections at `latency`: against the critical path and a sequential run."""
    rows = []
    floor = 4 * latency  # DRAFT → EXPAND → REFINE of one section, then the ABSTRACT
    for sections in (20, 100):
        path = write_outline(folder, sections, f"path{sections}")
        with servers(0.0) as (cloud, local):
            zero, _ = compile_seconds(
                path,
                settings_for(
                    cloud, local, secondary_max_concurrency=64, primary_max_concurrency=64
                ),
            )
        with servers(latency) as (cloud, local):
            wide = settings_for(
                cloud, local, primary_max_concurrency=64, secondary_max_concurrency=64
            )
            parallel, calls = compile_seconds(path, wide)
            default, _ = compile_seconds(path, settings_for(cloud, local))
            rows.append(
                (
                    f"{sections} sections, limits 64/64: wall ÷ critical path",
                    f"{parallel / floor:.2f}x",
                    f"{parallel:.2f} s vs {floor:.2f} s; beyond zero-latency "
                    f"{(parallel - zero) / floor:.2f}x",
                )
            )
            rows.append(
                (
                    f"{sections} sections, default limits 8/2: wall ÷ critical path",
                    f"{default / floor:.2f}x",
                    f"{default:.2f} s ({calls} calls)",
                )
            )
            if sections == 20:
                sequential, _ = compile_seconds(path, wide, OneAtATime(wide))
                rows.append(
                    (
                        "20 sections: sequential ÷ parallel (limits 64/64)",
                        f"{sequential / parallel:.1f}x",
                        f"{sequential:.2f} s vs {parallel:.2f} s",
                    )
                )
                rows.append(
                    (
                        "20 sections: sequential ÷ parallel (default limits 8/2)",
                        f"{sequential / default:.1f}x",
                        f"{sequential:.2f} s vs {default:.2f} s",
                    )
                )
    return rows


def seven_sections(folder: Path, latency: float) -> list[tuple[str, str, str]]:
    """The issue's bar: 7 sections at `latency`, time beyond zero latency ÷ critical path."""
    path = write_outline(folder, 7, "seven")
    floor = 4 * latency
    rows = []
    for label, limits in (
        ("default limits 8/2", {}),
        ("limits 8/8", {"secondary_max_concurrency": 8}),
    ):
        with servers(0.0) as (cloud, local):
            zero, _ = compile_seconds(path, settings_for(cloud, local, **limits))
        with servers(latency) as (cloud, local):
            slow, _ = compile_seconds(path, settings_for(cloud, local, **limits))
        rows.append(
            (
                f"7 sections at {latency * 1000:.0f} ms, {label}: (wall - zero-latency "
                "wall) ÷ critical path",
                f"{(slow - zero) / floor:.2f}x",
                f"{slow:.2f} s - {zero:.2f} s vs {floor:.2f} s",
            )
        )
    return rows


def batch(folder: Path, latency: float, count: int, jobs: int) -> list[tuple[str, str, str]]:
    """`count` 7-section outlines, `jobs` at a time: reports per minute against the bound."""
    outlines = [write_outline(folder, 7, f"batch{i:03}") for i in range(count)]
    with servers(latency) as (cloud, local):
        settings = settings_for(cloud, local)
        started = time.perf_counter()
        outcomes = asyncio.run(run_batch(outlines, folder / "out", settings, AVAILABLE, jobs))
        seconds = time.perf_counter() - started
    assert all(o.status == "ok" for o in outcomes), [o.detail for o in outcomes]
    calls = [o.result.record["calls"] for o in outcomes if o.result]
    primary = sum(c["role"] == "primary" for run in calls for c in run) / count
    secondary = sum(c["role"] == "secondary" for run in calls for c in run) / count
    # The bound: the busiest provider's calls per report, spread over its concurrency limit.
    per_report = max(
        primary * latency / settings.primary_max_concurrency,
        secondary * latency / settings.secondary_max_concurrency,
    )
    bound = 60 / per_report
    rate = count / seconds * 60
    return [
        (
            f"batch of {count} (7 sections, --jobs {jobs}): reports/min ÷ bound of the limits",
            f"{rate / bound:.2f}",
            f"{rate:.1f}/min vs {bound:.1f}/min ({secondary:.0f} secondary calls per report "
            f"at limit {settings.secondary_max_concurrency})",
        )
    ]


def incremental(folder: Path, latency: float) -> list[tuple[str, str, str]]:
    """Cold build, unchanged rebuild and a one-brief edit of a 7-section outline."""
    path = write_outline(folder, 7, "cached")
    out = folder / "cached-out"
    timings: dict[str, tuple[float, int]] = {}
    with servers(latency) as (cloud, local):
        settings = settings_for(cloud, local)
        for label in ("cold", "unchanged", "one brief edited"):
            if label == "one brief edited":
                path.write_text(path.read_text().replace("Part 3.", "Part 3, revised."))
            started = time.perf_counter()
            result = build_report(path, out, settings, available=AVAILABLE)
            requests = sum(call["attempts"] for call in result.record["calls"])
            timings[label] = (time.perf_counter() - started, requests)
    cold_seconds, cold_requests = timings["cold"]
    return [
        (
            f"7 sections, {label} ÷ cold build (wall time)",
            f"{seconds / cold_seconds:.2f}",
            f"{seconds:.2f} s vs {cold_seconds:.2f} s; {requests} requests vs {cold_requests}",
        )
        for label, (seconds, requests) in timings.items()
        if label != "cold"
    ]


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        rows = overhead(folder)
        rows += critical_path(folder, args.latency)
        rows += seven_sections(folder, 0.5)
        rows += batch(folder, args.latency, args.batch, args.jobs)
        rows += incremental(folder, args.latency)
    print_table(rows, args.latency)


def print_table(rows: list[tuple[str, str, str]], latency: float, note: str = "") -> None:
    """The table of docs/benchmarks.md: the machine, then one row per measure."""
    print(
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"latency {latency * 1000:.0f} ms per request{note}\n"
    )
    print("| measure | ratio | detail |\n| --- | --- | --- |")
    for measure, ratio, detail in rows:
        print(f"| {measure} | {ratio} | {detail} |")


if __name__ == "__main__":
    main()
