"""Celery workers on a real Redis: throughput of 1 and 2 workers, the shared budget's cost and cap.

Run with `make bench-dist` (about 3 minutes). Starts redis-server on 127.0.0.1, the loopback model
servers in a process of their own (200 ms per request), and `report worker` processes, then
queues 40 seven-section reports with `report batch --engine celery --wait`. Prints the table
of docs/workers.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_build import print_table, servers, write_outline
from celery_workers import running_workers
from redis_server import redis_server

from reporting.compiler.shared_budget import RedisState, SharedBudget

Row = tuple[str, str, str]
SECONDARY_LIMIT = 2  # SECONDARY_MAX_CONCURRENCY's default: the limit that binds here
PRIMARY_LIMIT = 8


def worker_env(cloud: str, local: str, broker: str, **extra: str) -> dict[str, str]:
    """The environment of the workers and of `report batch`: hybrid, aimed at the servers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "OLLAMA_", "REPORT_", "CLOUD_"))
    }
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        VRA_HYBRID_MODE="true",
        PRIMARY_PROVIDER="openai",
        PRIMARY_MODEL="gpt-4o",
        SECONDARY_PROVIDER="local",
        SECONDARY_MODEL="llama3:8b",
        OPENAI_API_KEY="sk-bench-0000",
        OPENAI_BASE_URL=cloud,
        OLLAMA_HOST=local,
        MAX_CLOUD_CALLS="10000",
        RETRY_BACKOFF_MAX="0",
        QUALITY_GATE="off",  # steps only, so the bound below counts every request
        REPORT_BROKER_URL=broker,
        **extra,
    )
    return env


def run_batch(folder: Path, outlines: list[Path], out: str, env: dict[str, str]) -> float:
    """Queue the outlines and wait for them; the wall time."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reporting", "batch", *map(str, outlines), "--out", out,
         "--engine", "celery", "--wait", "--quiet"],
        capture_output=True, text=True, cwd=folder, env=env, timeout=1800,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return seconds


def flush(url: str) -> None:
    """Empty Redis: no shared cache or budget carries over from one measurement to the next."""
    RedisState(url).client.flushdb()


def throughput(folder: Path, url: str, latency: float, count: int) -> list[Row]:
    """`count` reports on 1 worker, then on 2: reports/min against the bound of the limits."""
    outlines = [write_outline(folder, 7, f"dist{i:03}") for i in range(count)]
    rows: list[Row] = []
    rates: dict[int, float] = {}
    for workers in (1, 2):
        flush(url)
        counts: list[int] = []
        with servers(latency, counts) as (cloud, local):
            env = worker_env(cloud, local, url)
            with running_workers(url, folder, count=workers, concurrency=1, env=env):
                seconds = run_batch(folder, outlines, f"out-{workers}", env)
        manifests = [
            json.loads((folder / f"out-{workers}" / f"{p.stem}.run.json").read_text())
            for p in outlines
        ]
        secondary = sum(c["role"] == "secondary" for m in manifests for c in m["calls"]) / count
        primary = sum(c["role"] == "primary" for m in manifests for c in m["calls"]) / count
        # Each worker process has its own limits: a report needs `secondary` calls through a
        # limit of 2 (the busiest provider), so a process can finish at most this many a minute.
        per_report = max(primary * latency / PRIMARY_LIMIT, secondary * latency / SECONDARY_LIMIT)
        bound = workers * 60 / per_report
        rate = count / seconds * 60
        rates[workers] = rate
        rows.append(
            (
                f"{count} reports (7 sections) on {workers} worker(s) of 1 process: "
                "reports/min ÷ bound of the limits",
                f"{rate / bound:.2f}",
                f"{rate:.1f}/min vs {bound:.1f}/min in {seconds:.1f} s; "
                f"{counts[0] + counts[1]} requests",
            )
        )
    rows.append(
        (
            f"{count} reports: 2 workers ÷ 1 worker (throughput)",
            f"{rates[2] / rates[1]:.2f}x",
            "the same batch, Redis emptied between runs",
        )
    )
    return rows


def second_run(folder: Path, url: str, latency: float, count: int) -> list[Row]:
    """The same batch again into another folder: every call from the shared cache."""
    outlines = [write_outline(folder, 7, f"dist{i:03}") for i in range(count)]
    counts: list[int] = []
    with servers(latency, counts) as (cloud, local):
        env = worker_env(cloud, local, url)
        with running_workers(url, folder, count=2, concurrency=1, env=env):
            seconds = run_batch(folder, outlines, "out-again", env)
    return [
        (
            f"{count} reports again into a new folder, 2 workers: requests sent",
            f"{counts[0] + counts[1]}",
            f"{seconds:.1f} s; every call from the shared cache in Redis",
        )
    ]


def capped(folder: Path, url: str, latency: float, count: int, cap: int) -> list[Row]:
    """CLOUD_BUDGET_DAILY=cap with far more demand from 2 workers: requests the cloud received."""
    flush(url)
    outlines = [write_outline(folder, 7, f"capped{i:03}") for i in range(count)]
    counts: list[int] = []
    with servers(latency, counts) as (cloud, local):
        env = worker_env(cloud, local, url, CLOUD_BUDGET_DAILY=str(cap))
        with running_workers(url, folder, count=2, concurrency=2, env=env):
            run_batch(folder, outlines, "out-capped", env)
    wanted = sum(
        json.loads((folder / "out-capped" / f"{p.stem}.run.json").read_text())["metrics"][
            "planned_cloud_calls"
        ]
        for p in outlines
    )
    return [
        (
            f"shared budget {cap}, {count} reports on 2 workers of 2 processes: "
            "cloud requests above the cap",
            f"{max(0, counts[0] - cap)}",
            f"{counts[0]} cloud requests received for {wanted} planned",
        )
    ]


def charge_cost(url: str, times: int) -> list[Row]:
    """One shared-budget charge: a Lua script round trip to Redis on this host."""
    flush(url)
    budget = SharedBudget(RedisState(url), times * 2, "bench")
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        budget.charge()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    return [
        (
            "shared budget: overhead per cloud call (charge in Redis, loopback)",
            f"{median:.2f} ms",
            f"median of {times}; p99 {p99:.2f} ms; the goal is under 2 ms",
        )
    ]


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--cap", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp, redis_server() as redis:
        folder = Path(temp)
        rows = charge_cost(redis.url, 2000)
        rows += throughput(folder, redis.url, args.latency, args.reports)
        rows += second_run(folder, redis.url, args.latency, args.reports)
        rows += capped(folder, redis.url, args.latency, args.reports, args.cap)
    print_table(rows, args.latency, ", redis-server on 127.0.0.1")


if __name__ == "__main__":
    main()
