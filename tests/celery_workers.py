"""Real `report worker` processes (Celery, prefork) for the engine tests, on a real Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 60.0


@dataclass
class Workers:
    """Running worker processes, their logs, and how to find the process building a report."""

    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    broker: str
    stopped: list[int] = field(default_factory=list)

    def log_text(self, tail: int = 4000) -> str:
        """The end of every worker's log (all of it with tail=0), for an assertion message."""
        return "\n".join(p.read_text(errors="replace")[-tail:] for p in self.logs if p.exists())

    def children(self, index: int = 0) -> list[int]:
        """The pool processes of one worker (where reports are built)."""
        pid = self.processes[index].pid
        found: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(child) for child in text)
        return found


def _ready(broker: str, count: int) -> bool:
    from celery import Celery

    app = Celery(broker=broker, set_as_current=False)
    try:
        return len(app.control.ping(timeout=0.5) or []) >= count
    finally:
        app.close()


@contextlib.contextmanager
def running_workers(
    broker: str,
    folder: Path,
    count: int = 1,
    concurrency: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[Workers]:
    """`count` workers of `concurrency` pool processes each, stopped (SIGTERM) after the block."""
    environment = dict(os.environ if env is None else env)
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for number in range(count):
            log = folder / f"worker-{number}.log"
            logs.append(log)
            with log.open("wb") as handle:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "reporting", "worker", "--broker", broker,
                         "--concurrency", str(concurrency)],
                        stdout=handle, stderr=subprocess.STDOUT, env=environment, cwd=folder,
                    )
                )  # fmt: skip
        workers = Workers(processes, logs, broker)
        deadline = time.monotonic() + READY_TIMEOUT
        while not _ready(broker, count):
            dead = [p for p in processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{workers.log_text()}")
            time.sleep(0.2)
        yield workers
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
