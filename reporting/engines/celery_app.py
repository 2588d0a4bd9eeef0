"""The Celery application of the workers: one task per report, Redis as broker and result store.

Celery is imported only here, and only for `--engine celery` and `report worker`
(`pip install -e ".[dist]"`); a local build never needs it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from reporting.errors import ConfigError
from reporting.settings import Settings

TASK_NAME = "reporting.build_report"
DEFAULT_QUEUE = "reports"
QUEUED_PREFIX = "reporting:queued"  # one key per report queued and not yet finished
DELIVERIES_PREFIX = "reporting:deliveries"  # how many times a report's task was started
MAX_DELIVERIES = 3
MARKER_S = 7 * 86_400  # a queued report's marker; removed as soon as its outcome is stored
RESULT_DAYS = 7  # how long a report's outcome stays readable by `batch --wait`


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings that make a report a safe unit of work (docs/workers.md)."""
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Acknowledged only once the report is written: a worker that dies mid-report leaves it
        # unacknowledged, so the broker gives it to another worker.
        "task_acks_late": True,
        # A pool process killed mid-report (OOM, kill -9) gives its report back at once.
        "task_reject_on_worker_lost": True,
        # A report takes minutes: a worker takes one at a time instead of hoarding queued ones.
        "worker_prefetch_multiplier": 1,
        # Redis redelivers an unacknowledged report after this long; it must exceed the longest
        # report, or a report still running is given to a second worker.
        "broker_transport_options": {"visibility_timeout": settings.report_visibility_timeout},
        "result_backend_transport_options": {
            "visibility_timeout": settings.report_visibility_timeout
        },
        "result_expires": RESULT_DAYS * 86_400,
        "result_extended": True,
        "task_track_started": True,
        "task_default_queue": DEFAULT_QUEUE,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        # Submitting to a Redis that is down fails at once with our message, not after retries.
        "task_publish_retry": False,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
    }


def make_app(broker_url: str, settings: Settings) -> Any:
    """A Celery app on `broker_url` (results in the same Redis), with the report task."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError('Celery workers need the dist extra: pip install -e ".[dist]"') from None
    from reporting.compiler.shared_budget import state_for
    from reporting.engines.task import failed_record, run_report

    app = Celery("reporting", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(celery_config(settings))

    def state() -> Any:
        return state_for(broker_url, settings.secrets).client

    class ReportTask(app.Task):  # type: ignore[name-defined,misc]
        """Forgets a report's queue marker and delivery count once its outcome is stored."""

        def after_return(self, *args: Any, **kwargs: Any) -> None:
            # Called after the result is stored, so a report queued again from now on never
            # has its new outcome confused with this one. A killed worker never gets here: the
            # marker stays while the report waits for redelivery.
            task_id = self.request.id
            with contextlib.suppress(Exception):  # the keys expire by themselves
                state().delete(f"{QUEUED_PREFIX}:{task_id}", f"{DELIVERIES_PREFIX}:{task_id}")

    @app.task(name=TASK_NAME, bind=True, base=ReportTask)  # type: ignore[untyped-decorator]
    def build_report(task: Any, *args: Any) -> dict[str, Any]:
        # A report whose worker dies every time (out of memory, say) must not loop forever.
        counter = f"{DELIVERIES_PREFIX}:{task.request.id}"
        try:
            deliveries = int(state().incr(counter))
            state().expire(counter, MARKER_S)
        except Exception:  # Redis is the broker: if it is gone, so is this task's ack
            deliveries = 1
        if deliveries > MAX_DELIVERIES:
            return failed_record(
                args,
                f"not built: its worker process died {MAX_DELIVERIES} times while building it "
                "(out of memory?); see the workers' logs",
            )
        return run_report(*args)

    return app
