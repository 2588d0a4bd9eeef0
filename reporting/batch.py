"""`report batch`: many outlines at once, sharing provider limits, each with its own guardrail."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reporting.build import BuildResult, abuild_report, read_inputs
from reporting.compiler.cache import PhaseCache, cache_folder
from reporting.compiler.context import CallContext
from reporting.errors import InputError, ReportingError
from reporting.logs import current_report
from reporting.render.outputs import safe_stem
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
    result: BuildResult | None = None


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


async def run_batch(
    outlines: list[Path],
    out_dir: Path,
    settings: Settings,
    available: Mapping[Role, bool],
    jobs: int,
    cache: PhaseCache | None = None,
    allow_outside: bool = False,
) -> list[BatchOutcome]:
    """Build every outline, `jobs` at a time; one failure never stops the others."""
    # Shared: the providers' limits hold across reports, and one pool of models serves them all.
    shared = CallContext.for_settings(settings, cache=cache)
    gate = asyncio.Semaphore(jobs)

    async def one(path: Path, stem: str) -> BatchOutcome:
        async with gate:
            current_report.set(stem)
            started = time.monotonic()
            try:
                index_cache = cache_folder(settings, out_dir) / "sources" if cache else None
                inputs = await asyncio.to_thread(
                    read_inputs,
                    path,
                    settings,
                    available=available,
                    allow_outside=allow_outside,
                    index_cache=index_cache,
                )
                result = await abuild_report(inputs, out_dir, settings, shared=shared, stem=stem)
            except ReportingError as exc:
                status: Status = "invalid" if isinstance(exc, InputError) else "failed"
                return BatchOutcome(path, stem, status, str(exc), time.monotonic() - started)
            except Exception as exc:  # a bug in one report must not cost the others theirs
                detail = f"internal error: {type(exc).__name__}: {exc}"
                return BatchOutcome(path, stem, "failed", detail, time.monotonic() - started)
            elapsed = time.monotonic() - started
            return BatchOutcome(path, stem, "ok", str(result.markdown), elapsed, result)

    stems = output_stems(outlines)
    try:
        jobs_done = (one(p, s) for p, s in zip(outlines, stems, strict=True))
        return list(await asyncio.gather(*jobs_done))
    finally:
        await shared.models.aclose()


def batch_exit_code(outcomes: list[BatchOutcome]) -> int:
    """0 when every report was written; 2 when any input was invalid; else 1 when any failed."""
    statuses = {outcome.status for outcome in outcomes}
    if "invalid" in statuses:
        return 2
    return 1 if "failed" in statuses else 0
