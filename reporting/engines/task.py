"""The worker's task: one whole report, through the same pipeline as `report batch`."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reporting.batch import BatchOutcome, build_alone
from reporting.compiler.cache import PhaseCache, cache_folder
from reporting.compiler.shared_cache import tiered
from reporting.routing.availability import preflight
from reporting.routing.roles import Role
from reporting.settings import Settings, load_settings

PREFLIGHT_S = 60.0  # a worker checks its providers at most once a minute, not per report

_settings: Settings | None = None
_available: tuple[float, dict[Role, bool]] | None = None
_lock = threading.Lock()


def use_settings(settings: Settings) -> None:
    """The settings the worker's reports run with (read once when `report worker` starts)."""
    global _settings, _available
    with _lock:
        _settings, _available = settings, None


def _worker_settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def _availability(settings: Settings) -> dict[Role, bool]:
    global _available
    with _lock:
        if _available is None or time.monotonic() - _available[0] > PREFLIGHT_S:
            _available = (time.monotonic(), preflight(settings))
        return _available[1]


def run_report(
    outline: str,
    out_dir: str,
    stem: str,
    params: dict[str, str],
    allow_outside: bool = False,
    use_cache: bool = True,
    formats: list[str] | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    """Build one report in this worker; its outcome as JSON (never raises for a bad report)."""
    settings = _worker_settings()
    if formats is not None:  # as the batch that queued it asked (None: queued by an older one)
        settings = settings.model_copy(update={"formats": tuple(formats)})
    if theme is not None:  # a folder at the same path on every host, as the outlines are
        settings = settings.model_copy(update={"theme_dir": Path(theme)})
    out = Path(out_dir)
    started = time.monotonic()
    try:
        available = _availability(settings)
    except Exception as exc:  # the secondary is unusable here: this report fails, say why
        outcome = BatchOutcome(Path(outline), stem, "failed", str(exc), 0.0)
        return outcome_record(outcome)
    cache = tiered(settings, PhaseCache(cache_folder(settings, out))) if use_cache else None
    try:
        outcome = asyncio.run(
            build_alone(Path(outline), stem, params, out, settings, available, cache, allow_outside)
        )
    finally:
        if cache is not None:
            cache.close()
    # The task's own time, preflight included, as a local batch counts it.
    return outcome_record(dataclasses.replace(outcome, seconds=time.monotonic() - started))


def failed_record(args: tuple[Any, ...], detail: str) -> dict[str, Any]:
    """The outcome of a report this worker will not build, from the task's arguments."""
    outline, _, stem = args[:3]
    return outcome_record(BatchOutcome(Path(outline), stem, "failed", detail, 0.0))


def outcome_record(outcome: BatchOutcome) -> dict[str, Any]:
    """An outcome as the JSON a task returns."""
    return {
        "outline": str(outcome.outline),
        "stem": outcome.stem,
        "status": outcome.status,
        "detail": outcome.detail,
        "seconds": round(outcome.seconds, 3),
        "summary": asdict(outcome.summary) if outcome.summary else None,
    }
