"""The run manifest: a JSON record of every call a build made, what it cost and what it saved."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reporting.data.results import DataResults
from reporting.observe.quality import quality_record
from reporting.quality.checks import CheckResult
from reporting.routing.pricing import Price, PriceTable
from reporting.routing.records import providers_record, step_record
from reporting.version import __version__

if TYPE_CHECKING:
    from reporting.compiler.execute import CompiledReport
    from reporting.compiler.runner import ExtraCall, StepResult
    from reporting.render.comments import Placement
    from reporting.settings import Settings

# 3 added sources, citations and the adaptive routing scores; 4 the checks of every call
# (`checks`, `repairs`, `escalated`, `quality_calls`) and the report's `quality` (with
# `comments_added` and `comments_unplaced`, REVIEW_COMMENTS' DOCX comments)
MANIFEST_VERSION = 4
_PACKAGES = (
    "langchain-core",
    "langchain-openai",
    "langchain-ollama",
    "openai",
    "ollama",
    "llama-cpp-python",
    "pypandoc-binary",
    "python-docx",
)


def call_record(
    result: StepResult, prices: PriceTable, baseline_price: Price | None
) -> dict[str, Any]:
    """One `calls` entry: who was planned, who wrote the text, what it cost."""
    record = step_record(result.step)
    spec = result.provider
    extras = [quality_call_record(extra, prices) for extra in result.extra_calls]
    # The step's own call is priced at the provider that made it, each quality call at its own.
    first = result.first_provider or spec
    own_in = result.input_tokens - sum(extra.input_tokens for extra in result.extra_calls)
    own_out = result.output_tokens - sum(extra.output_tokens for extra in result.extra_calls)
    cost = prices.cost(first.name, first.model, own_in, own_out)
    cost += sum(float(extra["cost_usd"]) for extra in extras)
    # What the step's own call would have cost on the primary; quality calls are not a baseline's.
    baseline = baseline_price.cost(own_in, own_out) if baseline_price else 0.0

    record.update(
        role=spec.role.value,
        provider=spec.name,
        model=spec.model,
        cloud=spec.is_cloud,
        cached=result.cached,
        truncated=result.truncated,
        attempts=result.attempts,
        requests=dict(result.requests),
        failures=dict(result.failures),
        started_s=result.started_s,
        latency_s=result.latency_s,
        elapsed_s=result.elapsed_s,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        cost_usd=round(cost, 6),
        baseline_usd=round(baseline, 6),
        fallback=result.fallback,
        errors=result.errors,
        sources_given=result.sources_given,
        citations_removed=result.citations_removed,
        repeats_removed=result.repeats_removed,
        citations_attributed=result.citations_attributed,
        checks=checks_record(result.checks),
        repairs=result.repairs,
        escalated=result.escalated,
        first_provider=result.first_provider.name if result.first_provider else None,
        kept_previous=result.kept_previous,
        quality_calls=extras,
    )
    return record


def quality_call_record(extra: ExtraCall, prices: PriceTable) -> dict[str, Any]:
    """One repair or escalation: who was called, what it cost, how many findings its text had."""
    spec = extra.provider
    cost = prices.cost(spec.name, spec.model, extra.input_tokens, extra.output_tokens)
    return {
        "kind": extra.kind,
        "provider": spec.name,
        "model": spec.model,
        "cloud": spec.is_cloud,
        "requests": extra.requests,
        "latency_s": extra.latency_s,
        "cached": extra.cached,
        "input_tokens": extra.input_tokens,
        "output_tokens": extra.output_tokens,
        "cost_usd": round(cost, 6),
        "findings": extra.findings,
    }


def checks_record(checks: tuple[CheckResult, ...] | None) -> dict[str, Any] | None:
    """`{check: {"passed", "findings": [{"message", "sentence"}]}}`; None when not checked."""
    if checks is None:
        return None
    return {
        check.name: {
            "passed": check.passed,
            "findings": [
                {"message": finding.message, "sentence": finding.sentence}
                for finding in check.findings
            ],
        }
        for check in checks
    }


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _totals(calls: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Calls written, requests received, tokens and cost per provider or per phase."""
    totals: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return totals.setdefault(
            name,
            {
                "calls": 0,
                "requests": 0,
                "cached": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": 0.0,
            },
        )

    def spend(name: str, input_tokens: int, output_tokens: int, cost: float) -> None:
        spent = entry(name)
        spent["input_tokens"] += input_tokens
        spent["output_tokens"] += output_tokens
        spent["cost_usd"] = round(spent["cost_usd"] + cost, 6)

    for call in calls:
        written = entry(call[key])
        written["calls"] += 1
        written["cached"] += int(call["cached"])
        if key != "provider":
            spend(call[key], call["input_tokens"], call["output_tokens"], call["cost_usd"])
            written["requests"] += call["attempts"]
            continue
        # Per provider: requests, tokens and cost go to the provider that took them; the step's
        # own call to its first writer, each repair or escalation to its own provider.
        for provider, count in call["requests"].items():
            entry(provider)["requests"] += count
        extras = call.get("quality_calls") or []
        spend(
            call.get("first_provider") or call["provider"],
            call["input_tokens"] - sum(extra["input_tokens"] for extra in extras),
            call["output_tokens"] - sum(extra["output_tokens"] for extra in extras),
            call["cost_usd"] - sum(extra["cost_usd"] for extra in extras),
        )
        for extra in extras:
            spend(
                extra["provider"], extra["input_tokens"], extra["output_tokens"], extra["cost_usd"]
            )
    return totals


def package_versions() -> dict[str, str | None]:
    """Versions of the libraries that shape the output."""
    found: dict[str, str | None] = {"reporting": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def sources_record(report: CompiledReport) -> dict[str, Any]:
    """Provenance: the source files, the chunks each section was given, and what it cited."""
    grounding, citations = report.grounding, report.citations
    sections: dict[str, Any] = {}
    for section in report.outline.walk():
        given = grounding.for_section(section.id)
        if not given.files:
            continue
        sections[section.id] = {
            "files": list(given.files),
            "relevance": given.relevance,
            "chunks": [
                {
                    "id": chunk.id,
                    "source": chunk.source,
                    "start": chunk.start,
                    "page": chunk.page,
                    "score": round(score, 4),
                    "cited_as": citations.number_of(chunk.id)
                    if citations.number_of(chunk.id) in citations.by_section[section.id]
                    else None,
                }
                for chunk, score in zip(given.chunks, given.scores, strict=True)
            ],
        }
    return {
        "top_k": grounding.top_k,
        "files": [
            {"path": f.path, "sha256": f.sha256, "chunks": f.chunks} for f in grounding.files
        ],
        "sections": sections,
        "references": [
            {"number": r.number, "chunk": r.chunk_id, "source": r.source, "page": r.page}
            for r in citations.references()
        ],
        "citations_removed": sum(result.citations_removed for result in report.results),
        "citations_attributed": sum(result.citations_attributed for result in report.results),
    }


def data_record(data: DataResults) -> dict[str, Any]:
    """The run's parameters, each query with its row count and result hash, the files' hashes."""
    return {
        "params": {name: _json_value(value) for name, value in data.params.items()},
        "files": dict(data.files),
        "queries": [
            {
                "section": result.section_id,
                "place": result.place,
                "engine": result.engine,
                "sql": result.sql,
                "columns": list(result.columns),
                "rows": result.row_count,
                "sha256": result.sha256,
            }
            for result in data.queries.values()
        ],
        "charts": [],  # the chart files written, relative to the output folder
    }


def _json_value(value: object) -> object:
    """A parameter's value as JSON has it: dates as ISO text."""
    return value.isoformat() if isinstance(value, dt.date) else value


def build_manifest(
    report: CompiledReport,
    settings: Settings,
    outline_path: Path,
    outputs: dict[str, str],
    comments: Placement | None = None,
    data: DataResults | None = None,
) -> dict[str, Any]:
    """The whole run record; no secret is in it (the settings snapshot removes them)."""
    prices = PriceTable(settings)
    # No baseline, so no saving, when there was never a cloud primary to pay.
    primary = report.plan.baseline_provider
    baseline_price = prices.price(primary.name, primary.model) if primary else None
    calls = [call_record(result, prices, baseline_price) for result in report.results]
    unpriced = sorted(
        {
            f"{c['provider']}:{c['model']}"
            for c in calls
            if c["cloud"] and prices.price(c["provider"], c["model"]) is None
        }
    )
    cost = round(sum(call["cost_usd"] for call in calls), 6)
    baseline = round(sum(call["baseline_usd"] for call in calls), 6)
    metrics = report.metrics.as_dict()
    metrics.update(
        max_cloud_calls=report.plan.max_cloud_calls,
        planned_cloud_calls=report.plan.cloud_calls,
        steps=len(calls),
        local_calls=sum(1 for call in calls if not call["cloud"] and not call["cached"]),
        input_tokens=sum(call["input_tokens"] for call in calls),
        output_tokens=sum(call["output_tokens"] for call in calls),
        cost_usd=cost,
        baseline_usd=baseline,
        saving_usd=round(baseline - cost, 6),
        unpriced_models=unpriced,
        by_provider=_totals(calls, "provider"),
        by_phase=_totals(calls, "phase"),
    )
    return {
        "manifest_version": MANIFEST_VERSION,
        "reporting_version": __version__,
        "versions": package_versions(),
        "outline": {
            "path": str(outline_path),
            "sha256": report.outline.sha256 or file_sha256(outline_path),
            "title": report.outline.title,
            "sections": sum(1 for _ in report.outline.walk()),
        },
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "duration_s": round((report.finished_at - report.started_at).total_seconds(), 3),
        "settings": settings.snapshot(),
        "providers": providers_record(report.plan.providers),
        "demonstration_model": report.demonstration_model(settings),
        "outputs": outputs,
        "sources": sources_record(report),
        "data": data_record(data or DataResults()),
        "calls": calls,
        "metrics": metrics,
        "quality": quality_record(calls, settings.quality_gate, comments),
    }


def dump_manifest(manifest: dict[str, Any]) -> str:
    """The manifest as stable, readable JSON."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
