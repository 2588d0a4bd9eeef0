"""The run manifest: a JSON record of every call a build made and what it cost."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting import __version__

if TYPE_CHECKING:
    from reporting.calls import StepResult
    from reporting.compiler import CompiledReport
    from reporting.settings import Settings

MANIFEST_VERSION = 1


def call_record(result: StepResult) -> dict[str, Any]:
    """One `calls` entry: who was planned, who wrote the text, what it cost."""
    step = result.step
    return {
        "section": step.section_id,
        "section_type": step.section_type.value if step.section_type else None,
        "phase": step.phase.name,
        "role": result.provider.role.value,
        "provider": result.provider.name,
        "model": result.provider.model,
        "planned_role": step.role.value,
        "reason": step.reason.value,
        "rule": step.rule,
        "cached": result.cached,
        "attempts": result.attempts,
        "latency_s": result.latency_s,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "fallback": result.fallback,
        "errors": result.errors,
    }


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_manifest(
    report: CompiledReport, settings: Settings, outline_path: Path, outputs: dict[str, str]
) -> dict[str, Any]:
    """The whole run record; no secret is in it (the settings snapshot removes them)."""
    calls = [call_record(result) for result in report.results]
    totals: dict[str, dict[str, int]] = {}
    for call in calls:
        entry = totals.setdefault(
            call["provider"], {"calls": 0, "input_tokens": 0, "output_tokens": 0}
        )
        entry["calls"] += 1
        entry["input_tokens"] += call["input_tokens"]
        entry["output_tokens"] += call["output_tokens"]
    metrics = report.metrics.as_dict()
    metrics.update(
        max_cloud_calls=report.plan.max_cloud_calls,
        planned_cloud_calls=report.plan.cloud_calls,
        steps=len(calls),
        input_tokens=sum(call["input_tokens"] for call in calls),
        output_tokens=sum(call["output_tokens"] for call in calls),
        by_provider=totals,
    )
    return {
        "manifest_version": MANIFEST_VERSION,
        "reporting_version": __version__,
        "python": platform.python_version(),
        "outline": {
            "path": str(outline_path),
            "sha256": file_sha256(outline_path),
            "title": report.outline.title,
        },
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "duration_s": round((report.finished_at - report.started_at).total_seconds(), 3),
        "settings": settings.snapshot(),
        "providers": {
            role.value: {"provider": spec.name, "model": spec.model, "cloud": spec.is_cloud}
            for role, spec in report.plan.providers.items()
        },
        "outputs": outputs,
        "calls": calls,
        "metrics": metrics,
    }


def dump_manifest(manifest: dict[str, Any]) -> str:
    """The manifest as stable, readable JSON."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
