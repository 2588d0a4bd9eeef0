"""`report worker`: a Celery worker that builds the reports queued by `batch --engine celery`."""

from __future__ import annotations

import logging
import os

from reporting.engines.celery_app import DEFAULT_QUEUE, make_app
from reporting.engines.task import use_settings
from reporting.settings import Settings


def worker_argv(concurrency: int, queues: list[str], loglevel: str = "INFO") -> list[str]:
    """Celery's own worker arguments for our settings."""
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--queues={','.join(queues or [DEFAULT_QUEUE])}",
        f"--loglevel={loglevel}",
        # Several workers may run on one host: each needs its own node name.
        f"--hostname=report-{os.getpid()}@%h",
        # Workers need not know of each other: the queue and Redis hold everything shared.
        "--without-gossip",
        "--without-mingle",
    ]


def run_worker(broker_url: str, settings: Settings, concurrency: int, queues: list[str]) -> None:
    """Run a worker until it is stopped (SIGTERM: finish the reports running, then exit)."""
    use_settings(settings)
    # One INFO line per HTTP request from httpx would bury the [Hybrid] lines that say more.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = make_app(broker_url, settings)
    app.worker_main(worker_argv(concurrency, queues))
