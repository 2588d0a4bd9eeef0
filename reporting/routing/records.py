"""The plan as JSON-ready records: shared by the manifest, the cost estimate and compare files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reporting.routing.plan import Step
from reporting.routing.roles import ProviderSpec, Role


def step_record(step: Step) -> dict[str, Any]:
    """The keys a call record shares with the plan: which step, who is planned, and why."""
    return {
        "section": step.section_id,
        "section_type": step.section_type.value if step.section_type else None,
        "phase": step.phase.name,
        "role": step.role.value,
        "provider": step.provider.name,
        "model": step.provider.model,
        "cloud": step.provider.is_cloud,
        "planned_role": step.role.value,
        "reason": step.reason.value,
        "rule": step.rule,
        "relevance": step.relevance,
        "complexity": step.complexity,
    }


def providers_record(providers: Mapping[Role, ProviderSpec]) -> dict[str, dict[str, Any]]:
    """`{"primary": {"provider", "model", "cloud"}, "secondary": {…}}`."""
    return {
        role.value: {"provider": spec.name, "model": spec.model, "cloud": spec.is_cloud}
        for role, spec in providers.items()
    }
