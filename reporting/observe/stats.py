"""Statistics across runs: every manifest found, aggregated into what a team lead asks about."""

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
    manifest: str  # the manifest file it was read from


@dataclass(frozen=True)
class StatsSummary:
    """The whole picture over many runs (see the README for every figure)."""

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
                manifest=m["_path"],
            )
            for m in manifests
        ],
    )


def _phase_order(phase: str) -> int:
    order = ["DRAFT", "EXPAND", "REFINE", "ABSTRACT"]
    return order.index(phase) if phase in order else len(order)
