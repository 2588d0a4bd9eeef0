"""`report worker`: build the reports that `report batch --engine celery` queues."""

from __future__ import annotations

from typing import Annotated

import typer

from reporting.cli.build import Broker
from reporting.cli.common import configure_logging, guard, settings_or_exit
from reporting.errors import ConfigError


def worker(
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-c", min=1, help="Reports this worker builds at once."),
    ] = 1,
    queues: Annotated[
        str,
        typer.Option("--queues", "-Q", metavar="Q,...", help="Queues to take reports from."),
    ] = "reports",
    broker: Broker = None,
) -> None:
    """Build queued reports until stopped; SIGTERM lets the running ones finish first.

    Needs the dist extra (Celery and redis-py). Its settings (.env, environment: providers, keys,
    budgets) are its own; outlines and the output folder must be at the same path on every
    host.

    Examples:

      report worker --concurrency 2 --broker redis://host:6379/0
    """
    from reporting.engines.worker import run_worker

    settings = settings_or_exit()
    configure_logging(settings, quiet=False)
    with guard(settings):
        url = broker or settings.report_broker_url
        if not url:
            raise ConfigError(
                "report worker needs a broker: --broker redis://… or REPORT_BROKER_URL"
            )
        # The broker given on the command line is the shared state's too, as REPORT_BROKER_URL is.
        settings = settings.model_copy(update={"report_broker_url": url})
        run_worker(url, settings, concurrency, [q.strip() for q in queues.split(",") if q.strip()])
