"""`report compare` end to end: load, plan, run, then write .compare.md and .compare.json."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting.build import read_inputs
from reporting.compare.recommend import pair_to_dict, routing_file_text
from reporting.compare.run import (
    ComparePlan,
    CompareRun,
    Comparison,
    parse_phases,
    parse_sections,
    plan_compare,
)
from reporting.compiler.cache import PhaseCache, cache_folder
from reporting.compiler.context import CallContext, Sleep
from reporting.compiler.shared_cache import tiered
from reporting.logs import redact
from reporting.observe.manifest import checks_record, file_sha256, package_versions
from reporting.outline.model import Outline
from reporting.render.compare import render_compare
from reporting.render.outputs import safe_stem, staged
from reporting.routing.records import providers_record
from reporting.routing.roles import Role
from reporting.settings import Settings
from reporting.sources.grounding import Grounding

# 2 added each side's quality checks: `failed_checks` in a pair's sides and `checks` per pair
COMPARE_VERSION = 2
COMPARE_SUFFIX = ".compare.json"


@dataclass(frozen=True)
class CompareResult:
    """The files a comparison wrote, the run behind them and its record."""

    markdown: Path
    json: Path
    run: CompareRun
    record: dict[str, Any]
    routing_file: str  # the ROUTING_FILE text that adopts the recommendations, "" when none


def compare_record(
    run: CompareRun, settings: Settings, outline_path: Path, routing_file: str
) -> dict[str, Any]:
    """The comparison as JSON: plan, pairs with both texts and checks, recommendations, totals."""
    pairs = []
    for pair_run in run.pairs:
        record = pair_to_dict(pair_run.pair)
        record["texts"] = {role.value: pair_run.results[role].text for role in Role}
        record["errors"] = {role.value: pair_run.results[role].errors for role in Role}
        record["judge_replies"] = pair_run.judge_replies
        record["cached"] = {role.value: pair_run.results[role].cached for role in Role}
        record["checks"] = {role.value: checks_record(pair_run.checks.get(role)) for role in Role}
        pairs.append(record)
    return {
        "compare_version": COMPARE_VERSION,
        "versions": package_versions(),
        "outline": {
            "path": str(outline_path),
            "sha256": run.outline.sha256 or file_sha256(outline_path),
            "title": run.outline.title,
        },
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "settings": settings.snapshot(),
        "providers": providers_record(run.plan.providers),
        "judge": run.plan.judge,
        "hybrid_mode": settings.vra_hybrid_mode,
        "plan": [
            {
                "section": t.step.section_id,
                "phase": t.step.phase.name,
                "current_role": t.step.role.value,
                "included": t.included,
                "cloud_calls": t.cloud_calls,
            }
            for t in run.plan.targets
        ],
        "pairs": pairs,
        "recommendations": [dataclasses.asdict(r) for r in run.recommendations],
        "routing_file": routing_file,
        "metrics": run.metrics.as_dict() | {"max_cloud_calls": run.plan.max_cloud_calls},
    }


@dataclass(frozen=True)
class Prepared:
    """A comparison ready to run: its outline, sources and plan."""

    outline_path: Path
    outline: Outline
    grounding: Grounding
    plan: ComparePlan


def prepare_compare(
    outline_path: Path,
    out_dir: Path,
    settings: Settings,
    *,
    phases: str | None = None,
    sections: str | None = None,
    judge: bool = False,
    allow_outside: bool = False,
    use_cache: bool = True,
    available: Mapping[Role, bool] | None = None,
) -> Prepared:
    """Load the outline, read its sources and plan the comparison; no model is called."""
    chosen_phases = parse_phases(phases)
    inputs = read_inputs(
        outline_path,
        settings,
        available=available,
        allow_outside=allow_outside,
        index_cache=cache_folder(settings, out_dir) / "sources" if use_cache else None,
        check=lambda outline: parse_sections(sections, outline),
    )
    outline, grounding = inputs.outline, inputs.grounding
    chosen_sections = parse_sections(sections, outline)
    plan = plan_compare(
        outline, settings, grounding, chosen_phases, chosen_sections, judge, inputs.available
    )
    return Prepared(outline_path, outline, grounding, plan)


def run_compare(
    prepared: Prepared,
    out_dir: Path,
    settings: Settings,
    *,
    use_cache: bool = True,
    sleep: Sleep = asyncio.sleep,
) -> CompareResult:
    """Run a prepared comparison and write both files atomically (none if it fails)."""
    cache = tiered(settings, PhaseCache(cache_folder(settings, out_dir))) if use_cache else None
    stem = safe_stem(prepared.outline_path.stem)
    context = CallContext.for_settings(settings, cache=cache, sleep=sleep)
    comparison = Comparison(
        context, prepared.plan, prepared.outline, prepared.grounding, report=stem
    )

    async def compare_and_close() -> CompareRun:
        try:
            return await comparison.run()
        finally:
            await context.models.aclose()

    try:
        run = asyncio.run(compare_and_close())
    finally:
        if cache is not None:
            cache.close()
    routing = routing_file_text(run.recommendations)
    record = compare_record(run, settings, prepared.outline_path, routing)
    markdown = render_compare(
        run, routing, run.started_at.strftime("%Y-%m-%d %H:%M UTC"), settings.vra_hybrid_mode
    )
    names = {"markdown": f"{stem}.compare.md", "json": f"{stem}{COMPARE_SUFFIX}"}
    with staged(out_dir) as stage:
        stage(names["markdown"]).write_text(redact(markdown, settings.secrets), encoding="utf-8")
        stage(names["json"]).write_text(
            redact(json.dumps(record, indent=2, ensure_ascii=False) + "\n", settings.secrets),
            encoding="utf-8",
        )
    return CompareResult(out_dir / names["markdown"], out_dir / names["json"], run, record, routing)
