"""`report batch`: many outlines at once, sharing provider limits, each with its own guardrail."""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reporting.build import BuildResult, BuildSummary, abuild_report, read_inputs, run_stem
from reporting.compiler.cache import PhaseCache, cache_folder
from reporting.compiler.context import CallContext
from reporting.compiler.shared_cache import TieredCache
from reporting.errors import InputError, ReportingError
from reporting.logs import current_report
from reporting.render.outputs import check_output_folder, safe_stem
from reporting.routing.roles import Role
from reporting.settings import Settings

OUTLINE_SUFFIXES = (".yaml", ".yml")
Status = Literal["ok", "invalid", "failed"]  # invalid: exit 2; failed: exit 1


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one outline of a batch."""

    outline: Path
    stem: str
    status: Status
    detail: str
    seconds: float
    result: BuildResult | None = None  # a build run here; a worker's sends only its summary
    summary: BuildSummary | None = None


def collect_outlines(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Outline files from files and folders (searched recursively), and the paths not found."""
    found: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in OUTLINE_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(str(path))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def output_stems(outlines: list[Path]) -> list[str]:
    """A distinct output stem per outline: the file stem, its folder added when two collide."""
    plain = [safe_stem(p.stem) for p in outlines]
    counts = Counter(plain)
    stems: list[str] = []
    for path, stem in zip(outlines, plain, strict=True):
        candidate = stem if counts[stem] == 1 else safe_stem(f"{path.parent.name}-{path.stem}")
        while candidate in stems:
            candidate = f"{candidate}-{len(stems)}"
        stems.append(candidate)
    return stems


async def build_one(
    path: Path,
    stem: str,
    params: dict[str, str],
    out_dir: Path,
    settings: Settings,
    available: Mapping[Role, bool],
    shared: CallContext,
    allow_outside: bool = False,
) -> BatchOutcome:
    """Build one outline of a batch (here, or in a worker); every failure becomes its outcome."""
    current_report.set(stem)
    started = time.monotonic()
    try:
        index_cache = cache_folder(settings, out_dir) / "sources" if shared.cache else None
        inputs = await asyncio.to_thread(
            read_inputs,
            path,
            settings,
            available=available,
            allow_outside=allow_outside,
            index_cache=index_cache,
            params=params,
        )
        stem = safe_stem(run_stem(stem, inputs.outline, params))
        current_report.set(stem)
        result = await abuild_report(inputs, out_dir, settings, shared=shared, stem=stem)
    except ReportingError as exc:
        status: Status = "invalid" if isinstance(exc, InputError) else "failed"
        return BatchOutcome(path, stem, status, str(exc), time.monotonic() - started)
    except Exception as exc:  # a bug in one report must not cost the others theirs
        detail = f"internal error: {type(exc).__name__}: {exc}"
        return BatchOutcome(path, stem, "failed", detail, time.monotonic() - started)
    elapsed = time.monotonic() - started
    return BatchOutcome(path, stem, "ok", str(result.written[0]), elapsed, result, result.summary)


def batch_runs(
    outlines: list[Path], rows: list[dict[str, str]] | None
) -> list[tuple[Path, str, dict[str, str]]]:
    """Every report of a batch: each outline with its stem, once per row of parameters."""
    stems = output_stems(outlines)
    return [
        (path, stem, row)
        for path, stem in zip(outlines, stems, strict=True)
        for row in (rows if rows is not None else [{}])
    ]


async def run_batch(
    outlines: list[Path],
    out_dir: Path,
    settings: Settings,
    available: Mapping[Role, bool],
    jobs: int,
    cache: PhaseCache | TieredCache | None = None,
    allow_outside: bool = False,
    rows: list[dict[str, str]] | None = None,
) -> list[BatchOutcome]:
    """Build every outline (once per row of parameters), `jobs` at a time.

    One failure never stops the others.
    """
    check_output_folder(out_dir)  # before any report's first call, not after all of them
    # Shared: the providers' limits hold across reports, and one pool of models serves them all.
    shared = CallContext.for_settings(settings, cache=cache)
    gate = asyncio.Semaphore(jobs)

    async def one(path: Path, stem: str, params: dict[str, str]) -> BatchOutcome:
        async with gate:
            return await build_one(
                path, stem, params, out_dir, settings, available, shared, allow_outside
            )

    runs = batch_runs(outlines, rows)
    return await _closing(shared, *(one(path, stem, row) for path, stem, row in runs))


async def build_alone(
    path: Path,
    stem: str,
    params: dict[str, str],
    out_dir: Path,
    settings: Settings,
    available: Mapping[Role, bool],
    cache: PhaseCache | TieredCache | None,
    allow_outside: bool = False,
) -> BatchOutcome:
    """One report of a batch with calls of its own (a worker's task)."""
    shared = CallContext.for_settings(settings, cache=cache)
    job = build_one(path, stem, params, out_dir, settings, available, shared, allow_outside)
    [outcome] = await _closing(shared, job)
    return outcome


async def _closing(
    shared: CallContext, *jobs: Coroutine[Any, Any, BatchOutcome]
) -> list[BatchOutcome]:
    """Run the jobs side by side, then close the models they shared."""
    try:
        return list(await asyncio.gather(*jobs))
    finally:
        await shared.models.aclose()


MAX_PARAM_ROWS = 10_000


def read_param_rows(path: Path) -> list[dict[str, str]]:
    """The runs of a `--params` CSV file: a header of parameter names, one row per report."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            lines = list(reader)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read it as CSV: {exc}") from None
    names = [name.strip() for name in header or []]
    if not names or not all(names):
        raise InputError(f"{path}: line 1 must name the parameters, e.g. region,quarter")
    if len(set(names)) != len(names):
        raise InputError(f"{path}: line 1 names a parameter twice")
    rows: list[dict[str, str]] = []
    for number, line in enumerate(lines, start=2):
        if not any(cell.strip() for cell in line):
            continue  # a blank line, e.g. at the end
        if len(line) != len(names):
            raise InputError(
                f"{path}: line {number} has {len(line)} values; line 1 names {len(names)}"
            )
        rows.append(dict(zip(names, (cell.strip() for cell in line), strict=True)))
    if not rows:
        raise InputError(f"{path}: no runs; give one row of values per report after line 1")
    if len(rows) > MAX_PARAM_ROWS:
        raise InputError(f"{path}: {len(rows):,} runs; at most {MAX_PARAM_ROWS:,} in one batch")
    duplicates = [row for i, row in enumerate(rows) if row in rows[:i]]
    if duplicates:
        raise InputError(f"{path}: the run {duplicates[0]} is given twice; each row once")
    return rows


def batch_exit_code(outcomes: list[BatchOutcome]) -> int:
    """0 when every report was written; 2 when any input was invalid; else 1 when any failed."""
    statuses = {outcome.status for outcome in outcomes}
    if "invalid" in statuses:
        return 2
    return 1 if "failed" in statuses else 0
