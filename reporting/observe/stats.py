"""Statistics across runs: every manifest found, aggregated into what a team lead asks about.

Quality checks (`QualityStats`): only runs with checked calls count (manifest version 4, built
with QUALITY_GATE other than off); older manifests and unchecked runs count in `unchecked_runs`
and nowhere else. A pass rate is per provider, model and phase, and a call counts for the
provider that wrote its final text, the one its record names: after an escalation whose text
was kept that is the primary, so the text counts in the primary's row, not in the row of the
secondary whose first text failed (`escalation_routes` counts those moves). Cache hits count
too: each is a text a report received.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting.compare.recommend import (
    Pair,
    Recommendation,
    pair_from_dict,
    recommend,
    routing_file_text,
)
from reporting.errors import InputError
from reporting.observe.quality import failed_checks, quality_record

MANIFEST_SUFFIX = ".run.json"
COMPARE_SUFFIX = ".compare.json"


@dataclass(frozen=True)
class CloudCallsPerReport:
    """Cloud calls per report against MAX_CLOUD_CALLS."""

    mean: float
    max: int
    limit: int  # the highest MAX_CLOUD_CALLS any run had
    over_limit: int  # runs that sent more cloud calls than their limit


@dataclass(frozen=True)
class LocalShare:
    """The local share (0..1) of generated calls and of their output tokens."""

    calls: float
    output_tokens: float


@dataclass(frozen=True)
class ProviderErrors:
    """Requests one provider received and how many failed."""

    requests: int
    failures: int
    error_rate: float


@dataclass(frozen=True)
class Latency:
    """Nearest-rank latency percentiles of one provider in one phase."""

    provider: str
    phase: str
    calls: int
    p50_s: float
    p95_s: float


@dataclass(frozen=True)
class PhaseShare:
    """Calls of one phase by the role that wrote them, cache hits apart."""

    phase: str
    primary: int
    secondary: int
    cached: int


@dataclass(frozen=True)
class PassRate:
    """Checked texts of one provider and model in one phase, and how many passed every check."""

    provider: str
    model: str
    phase: str
    checked: int
    passed: int  # texts that passed every check
    pass_rate: float  # passed / checked, 0..1
    failures: dict[str, int]  # texts failing each check: most failed first, then by name


@dataclass(frozen=True)
class EscalationRoute:
    """Texts escalated from one provider to another, and how many of the escalations were kept."""

    from_provider: str
    from_model: str
    to_provider: str
    to_model: str
    escalations: int
    kept: int  # the escalation's text became the call's final text


@dataclass(frozen=True)
class QualityStats:
    """How checked texts fared, per provider and phase, and what repairs and escalations cost."""

    checked_runs: int
    unchecked_runs: int
    gates: dict[str, int]  # checked runs by QUALITY_GATE, sorted
    checked_calls: int
    passed_calls: int
    pass_rate: float
    pass_rates: list[PassRate]  # in pipeline order, then by provider and model
    reports_passing: int  # checked runs whose final texts all passed (the report's quality.passed)
    unsupported_figures: int  # figures left in final texts that nothing given supports
    repairs: int
    escalations: int
    escalation_routes: list[EscalationRoute]
    extra_requests: int  # requests of repair and escalation calls
    extra_cloud_requests: int
    extra_cost_usd: float
    extra_latency_s: float


@dataclass(frozen=True)
class RunSummary:
    """One run manifest's headline figures."""

    outline: str
    title: str | None
    started_at: str
    calls: int
    cloud_calls: int
    max_cloud_calls: int | None
    fallbacks: int
    cost: float
    baseline: float
    saving: float
    quality_passed: bool | None  # every final text passed its checks; None when not checked
    manifest: str  # the manifest file it was read from
    cloud_primary: bool = True  # it had a cloud primary: else no baseline and no saving
    duration_s: float | None = None  # the build's wall time, when the manifest has it
    report: str | None = None  # the report's own file beside the manifest (.md, else another)


@dataclass(frozen=True)
class StatsSummary:
    """The whole picture over many runs (docs/plan-and-stats.md names every figure)."""

    reports: int
    calls: int
    requests: int
    cloud_calls: int
    cache_hits: int
    cloud_calls_per_report: CloudCallsPerReport
    local_share: LocalShare
    fallbacks: dict[str, int]  # by reason, sorted
    providers: dict[str, ProviderErrors]  # by provider name, sorted
    latency: list[Latency]
    phase_share: list[PhaseShare]  # in pipeline order
    unpriced_models: list[str]
    cost: float
    baseline: float
    saving: float
    saving_share: float
    cloud_primary_runs: int  # runs with a cloud primary: the baseline and saving are theirs
    quality: QualityStats
    runs: list[RunSummary]  # in start order

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, keys in field order (`report stats --json`)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PooledComparisons:
    """Every `report compare` result found, its pairs pooled into one set of recommendations."""

    runs: int
    pairs: int
    recommendations: list[Recommendation]
    routing_file: str  # a ROUTING_FILE adopting every move, "" when nothing should move

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, keys in field order."""
        return dataclasses.asdict(self)


def find_files(paths: list[Path], suffix: str) -> list[Path]:
    """Files ending in suffix under the given folders (recursively) or given directly."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{suffix}")))
        elif path.is_file():
            # A file named directly is a manifest unless it is a comparison, and vice versa.
            if path.name.endswith(COMPARE_SUFFIX) == (suffix == COMPARE_SUFFIX):
                found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return list(dict.fromkeys(p.resolve() for p in found))  # a run counts once


def find_manifests(paths: list[Path]) -> list[Path]:
    """Manifest files under the given folders (recursively) or given directly."""
    return find_files(paths, MANIFEST_SUFFIX)


def _no_constant(name: str) -> float:
    """Refuse NaN and Infinity: they are not JSON, and would poison every sum."""
    raise ValueError(f"{name} is not a number JSON allows")


def pool_comparisons(paths: list[Path]) -> tuple[PooledComparisons, list[str]]:
    """Every `report compare` result found, its pairs pooled into one set of recommendations."""
    pairs: list[Pair] = []
    runs, skipped = 0, []
    for path in find_files(paths, COMPARE_SUFFIX):
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
            found = [pair_from_dict(item) for item in data["pairs"]]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            skipped.append(f"{path}: unreadable comparison ({type(exc).__name__})")
            continue
        except ValueError as exc:
            skipped.append(f"{path}: not a comparison ({exc})")
            continue
        runs += 1
        pairs.extend(found)
    recommendations = recommend(pairs)
    pooled = PooledComparisons(
        runs=runs,
        pairs=len(pairs),
        recommendations=recommendations,
        routing_file=routing_file_text(recommendations),
    )
    return pooled, skipped


def load_manifests(paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Readable manifests, and a note for each file skipped (not JSON, not a manifest)."""
    manifests, skipped = [], []
    for path in find_manifests(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            skipped.append(f"{path}: unreadable ({type(exc).__name__})")
            continue
        if not isinstance(data, dict) or "calls" not in data or "metrics" not in data:
            skipped.append(f"{path}: not a run manifest")
            continue
        if data.get("manifest_version", 1) < 2:
            skipped.append(f"{path}: older manifest format (version 1); rebuild to include it")
            continue
        data["_path"] = str(path)
        manifests.append(data)
    manifests.sort(key=_started)
    return manifests, skipped


def _started(manifest: dict[str, Any]) -> dt.datetime:
    """Start time for ordering runs, whatever UTC offset each was written with."""
    try:
        return dt.datetime.fromisoformat(str(manifest["started_at"])).astimezone(dt.UTC)
    except (KeyError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list: a value that was actually observed."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(share * len(ordered), 9)))
    return ordered[rank - 1]


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def had_cloud_primary(manifest: dict[str, Any]) -> bool:
    """Whether the run had a cloud primary to save against (NO_PRIMARY: none was configured)."""
    primary = manifest.get("providers", {}).get("primary", {})
    return bool(primary.get("cloud", True)) and all(
        call.get("reason") != "NO_PRIMARY" for call in manifest["calls"]
    )


def report_file(manifest: dict[str, Any]) -> str | None:
    """The path of the report a manifest records: its Markdown, else the first other output."""
    outputs = manifest.get("outputs")
    names = list(outputs.values()) if isinstance(outputs, dict) else list(outputs or [])
    names = [n for n in names if isinstance(n, str) and not n.endswith(".run.json")]
    if not names:
        return None
    chosen = next((n for n in names if n.endswith(".md")), names[0])
    return str(Path(manifest["_path"]).parent / chosen)


def aggregate(manifests: list[dict[str, Any]]) -> StatsSummary:
    """The whole picture over many runs."""
    calls = [call for m in manifests for call in m["calls"]]
    generated = [c for c in calls if not c.get("cached")]
    local = [c for c in generated if not c.get("cloud")]
    fallbacks = Counter(c["fallback"] for c in calls if c.get("fallback"))
    requests: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for call in calls:
        requests.update(call.get("requests", {}))
        failures.update(call.get("failures", {}))
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    for call in generated:
        latencies[(call["provider"], call["phase"])].append(float(call["latency_s"]))
    phase_share: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        who = "cached" if call.get("cached") else call["role"]
        phase_share[call["phase"]][who] += 1
    output_tokens = sum(c["output_tokens"] for c in generated)
    cost = sum(m["metrics"].get("cost_usd", 0.0) for m in manifests)
    baseline = sum(m["metrics"].get("baseline_usd", 0.0) for m in manifests)
    cloud_per_report = [m["metrics"]["cloud_calls"] for m in manifests]
    return StatsSummary(
        reports=len(manifests),
        calls=len(calls),
        requests=sum(requests.values()),
        cloud_calls=sum(cloud_per_report),
        cache_hits=len(calls) - len(generated),
        cloud_calls_per_report=CloudCallsPerReport(
            mean=round(statistics.fmean(cloud_per_report), 2) if manifests else 0.0,
            max=max(cloud_per_report, default=0),
            limit=max((m["metrics"].get("max_cloud_calls", 0) for m in manifests), default=0),
            over_limit=sum(
                1
                for m in manifests
                if m["metrics"].get("max_cloud_calls") is not None
                and m["metrics"]["cloud_calls"] > m["metrics"]["max_cloud_calls"]
            ),
        ),
        local_share=LocalShare(
            calls=_share(len(local), len(generated)),
            output_tokens=_share(sum(c["output_tokens"] for c in local), output_tokens),
        ),
        fallbacks=dict(sorted(fallbacks.items())),
        providers={
            name: ProviderErrors(
                requests=requests[name],
                failures=failures[name],
                error_rate=_share(failures[name], requests[name]),
            )
            for name in sorted(requests)
        },
        latency=[
            Latency(
                provider=provider,
                phase=phase,
                calls=len(values),
                p50_s=round(_percentile(values, 0.50), 3),
                p95_s=round(_percentile(values, 0.95), 3),
            )
            for (provider, phase), values in sorted(latencies.items())
        ],
        phase_share=[
            PhaseShare(
                phase=phase,
                primary=counts["primary"],
                secondary=counts["secondary"],
                cached=counts["cached"],
            )
            for phase, counts in sorted(phase_share.items(), key=lambda kv: _phase_order(kv[0]))
        ],
        unpriced_models=sorted(
            {model for m in manifests for model in m["metrics"].get("unpriced_models", [])}
        ),
        cost=round(cost, 6),
        baseline=round(baseline, 6),
        saving=round(baseline - cost, 6),
        saving_share=_share(baseline - cost, baseline),
        cloud_primary_runs=sum(1 for m in manifests if had_cloud_primary(m)),
        quality=quality_stats(manifests),
        runs=[
            RunSummary(
                outline=m["outline"]["path"],
                title=m["outline"].get("title"),
                started_at=m["started_at"],
                calls=len(m["calls"]),
                cloud_calls=m["metrics"]["cloud_calls"],
                max_cloud_calls=m["metrics"].get("max_cloud_calls"),
                fallbacks=sum(m["metrics"].get("fallbacks", {}).values()),
                cost=m["metrics"].get("cost_usd", 0.0),
                baseline=m["metrics"].get("baseline_usd", 0.0),
                saving=m["metrics"].get("saving_usd", 0.0),
                quality_passed=bool(_quality(m)["passed"]) if is_checked(m) else None,
                manifest=m["_path"],
                cloud_primary=had_cloud_primary(m),
                duration_s=m.get("duration_s"),
                report=report_file(m),
            )
            for m in manifests
        ],
    )


def _phase_order(phase: str) -> int:
    order = ["DRAFT", "EXPAND", "REFINE", "ABSTRACT"]
    return order.index(phase) if phase in order else len(order)


def is_checked(manifest: dict[str, Any]) -> bool:
    """Whether any call of a run had its text checked (version 4, QUALITY_GATE not off)."""
    return any(isinstance(call.get("checks"), dict) for call in manifest["calls"])


def _quality(manifest: dict[str, Any]) -> dict[str, Any]:
    """A checked run's `quality` record, worked out from its calls if the file lacks it."""
    record = manifest.get("quality")
    if isinstance(record, dict) and "passed" in record:
        return record
    return quality_record(manifest["calls"], str(manifest.get("settings", {}).get("quality_gate")))


def quality_stats(manifests: list[dict[str, Any]]) -> QualityStats:
    """Pass rates per provider, model and phase over checked runs, and what repairs cost."""
    checked_runs = [m for m in manifests if is_checked(m)]
    texts: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
    routes: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    extras: list[dict[str, Any]] = []
    for m in checked_runs:
        secondary = m.get("providers", {}).get("secondary") or {}
        for call in m["calls"]:
            extras.extend(call.get("quality_calls") or [])
            if isinstance(call.get("checks"), dict):
                key = (call["provider"], call["model"], call["phase"])
                texts[key].append(failed_checks(call))
            for extra in call.get("quality_calls") or []:
                if extra["kind"] != "escalation":
                    continue
                # Only the secondary's text is escalated, always to the primary.
                source = (secondary.get("provider", "?"), secondary.get("model", "?"))
                target = (extra["provider"], extra["model"])
                kept = extra.get("findings") is not None and target == (
                    call["provider"],
                    call["model"],
                )
                routes[(*source, *target)].append(kept)
    records = [_quality(m) for m in checked_runs]
    all_texts = [failed for found in texts.values() for failed in found]
    passed = sum(1 for failed in all_texts if not failed)
    return QualityStats(
        checked_runs=len(checked_runs),
        unchecked_runs=len(manifests) - len(checked_runs),
        gates=dict(sorted(Counter(str(r.get("gate")) for r in records).items())),
        checked_calls=len(all_texts),
        passed_calls=passed,
        pass_rate=_share(passed, len(all_texts)),
        pass_rates=[
            _pass_rate(provider, model, phase, found)
            for (provider, model, phase), found in sorted(
                texts.items(), key=lambda kv: (_phase_order(kv[0][2]), kv[0])
            )
        ],
        reports_passing=sum(1 for r in records if r.get("passed")),
        unsupported_figures=sum(len(r.get("unsupported_figures", [])) for r in records),
        repairs=sum(int(c.get("repairs") or 0) for m in checked_runs for c in m["calls"]),
        escalations=sum(1 for m in checked_runs for c in m["calls"] if c.get("escalated")),
        escalation_routes=[
            EscalationRoute(*key, escalations=len(kept), kept=sum(kept))
            for key, kept in sorted(routes.items())
        ],
        extra_requests=sum(int(e["requests"]) for e in extras),
        extra_cloud_requests=sum(int(e["requests"]) for e in extras if e.get("cloud")),
        extra_cost_usd=round(sum(float(e.get("cost_usd", 0.0)) for e in extras), 6),
        extra_latency_s=round(sum(float(e.get("latency_s", 0.0)) for e in extras), 3),
    )


def _pass_rate(provider: str, model: str, phase: str, found: list[list[str]]) -> PassRate:
    """One row of pass rates: the texts of a provider and model in a phase."""
    failures = Counter(name for failed in found for name in failed)
    passed = sum(1 for failed in found if not failed)
    return PassRate(
        provider=provider,
        model=model,
        phase=phase,
        checked=len(found),
        passed=passed,
        pass_rate=_share(passed, len(found)),
        failures=dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def most_failed(failures: dict[str, int]) -> str:
    """The checks failed most often, ties together: `echo, facts (3)`; "" when none failed."""
    top = max(failures.values(), default=0)
    if not top:
        return ""
    return f"{', '.join(sorted(n for n, count in failures.items() if count == top))} ({top})"
