"""`report batch --engine celery`: one task per report, ids from content, and waiting for them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting.batch import BatchOutcome, Status
from reporting.build import BuildSummary
from reporting.compiler.shared_budget import RedisState, state_for
from reporting.engines.celery_app import MARKER_S, QUEUED_PREFIX, TASK_NAME, make_app
from reporting.errors import GenerationError
from reporting.settings import Settings

POLL_S = 0.5


@dataclass(frozen=True)
class Job:
    """One report of a batch as a task: what to build, where, and the id that names it."""

    outline: Path  # as the user named it, for the table; the task gets the absolute path
    stem: str
    params: dict[str, str]
    task_id: str
    queued: bool  # False: the same report was already queued or running, not queued again


def task_id(
    outline: Path, stem: str, params: dict[str, str], out_dir: Path, settings: Settings
) -> str:
    """The task's id, from the outline's content and everything that decides its report.

    The same report enqueued twice gets the same id, so it is queued once; a changed outline,
    parameter, output folder or setting is a new report.
    """
    digest = hashlib.sha256()
    digest.update(outline.read_bytes())
    facts = {
        "outline": str(outline),
        "stem": stem,
        "params": params,
        "out": str(out_dir),
        "settings": settings.snapshot(),
    }
    digest.update(json.dumps(facts, sort_keys=True, default=str).encode())
    return f"report-{digest.hexdigest()[:40]}"


def connect(url: str, settings: Settings) -> RedisState:
    """The broker's Redis, checked now: StateUnavailable (a clear one-line error) if down."""
    state = state_for(url, settings.secrets)
    import redis

    try:
        state.client.ping()
    except (redis.RedisError, OSError) as exc:
        raise GenerationError(str(state._fail(exc)) + "; no report was queued") from None
    return state


def enqueue(
    runs: Sequence[tuple[Path, str, dict[str, str]]],
    out_dir: Path,
    settings: Settings,
    broker_url: str,
    *,
    queue: str | None = None,
    allow_outside: bool = False,
    use_cache: bool = True,
) -> list[Job]:
    """Queue one task per report, skipping a report already queued or running."""
    state = connect(broker_url, settings)
    app = make_app(broker_url, settings)
    out = out_dir.resolve()
    jobs: list[Job] = []
    with app.connection_for_write() as connection:
        for outline, stem, params in runs:
            path = outline.resolve()
            tid = task_id(path, stem, params, out, settings)
            marker = f"{QUEUED_PREFIX}:{tid}"
            fresh = False
            try:
                fresh = bool(state.client.set(marker, "1", nx=True, ex=MARKER_S))
                if fresh:
                    app.AsyncResult(tid).forget()  # an earlier run's outcome is not this one's
                    app.send_task(
                        TASK_NAME,
                        # The formats and theme asked for here, not the worker's own settings.
                        args=[
                            *(str(path), str(out), stem, params, allow_outside, use_cache),
                            list(settings.formats),
                            str(settings.theme_dir.resolve()) if settings.theme_dir else None,
                        ],
                        task_id=tid,
                        queue=queue,
                        connection=connection,
                    )
            except BaseException as exc:
                if fresh:  # not sent: a marker left behind would block this report for days
                    with contextlib.suppress(Exception):
                        state.client.delete(marker)
                if not isinstance(exc, Exception):
                    raise  # Ctrl-C
                raise GenerationError(f"queueing {path}: {type(exc).__name__}: {exc}") from None
            jobs.append(Job(outline, stem, params, tid, fresh))
    return jobs


def wait_for(
    jobs: Sequence[Job],
    settings: Settings,
    broker_url: str,
    on_change: Callable[[dict[str, str]], None] | None = None,
    poll_s: float = POLL_S,
) -> list[BatchOutcome]:
    """Wait until every job has finished; each job's outcome, in the jobs' order."""
    app = make_app(broker_url, settings)
    queued = state_for(broker_url, settings.secrets).client
    done: dict[str, BatchOutcome] = {}
    states: dict[str, str] = {}
    while len(done) < len(jobs):
        for job in jobs:
            if job.task_id in done:
                continue
            result = app.AsyncResult(job.task_id)
            try:
                state = result.state
                if state == "PENDING" and not queued.exists(f"{QUEUED_PREFIX}:{job.task_id}"):
                    # No marker: finished since the state was read, or lost. Read it again.
                    state = result.state
                    state = "LOST" if state == "PENDING" else state
            except Exception as exc:
                raise GenerationError(
                    f"waiting for the workers: {type(exc).__name__}: {exc}"
                ) from None
            states[job.task_id] = state
            if state == "LOST":
                detail = "no outcome: the task is in no queue and its result has expired"
                done[job.task_id] = BatchOutcome(job.outline, job.stem, "failed", detail, 0.0)
            elif state == "SUCCESS":
                done[job.task_id] = outcome_from(job, result.result)
            elif state in ("FAILURE", "REVOKED"):
                detail = f"worker error: {result.result!r}"
                done[job.task_id] = BatchOutcome(job.outline, job.stem, "failed", detail, 0.0)
        if on_change is not None:
            on_change(states)
        if len(done) < len(jobs):
            time.sleep(poll_s)
    return [done[job.task_id] for job in jobs]


def outcome_from(job: Job, record: Any) -> BatchOutcome:
    """A task's JSON outcome as the batch's own."""
    if not isinstance(record, dict):
        return BatchOutcome(job.outline, job.stem, "failed", f"worker returned {record!r}", 0.0)
    summary = record.get("summary")
    status: Status = record.get("status", "failed")
    return BatchOutcome(
        job.outline,
        record.get("stem", job.stem),
        status,
        str(record.get("detail", "")),
        float(record.get("seconds", 0.0)),
        None,
        BuildSummary(**summary) if isinstance(summary, dict) else None,
    )
