"""The plan: every step of a build routed to a role, with the cloud budget allocated.

The plan is a pure function of (outline, settings, provider availability); it allocates the
cloud budget before any call, so the same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from reporting.errors import ConfigError
from reporting.outline.model import Outline, Section, SectionType
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.routing.adaptive import ADAPTIVE_PHASES, adaptive_route, section_complexity
from reporting.routing.matrix import Decision, resolve_route
from reporting.routing.roles import ProviderSpec, Reason, Role, provider_specs
from reporting.routing.routing_file import RoutingOverrides, load_routing_file
from reporting.settings import Settings


@dataclass(frozen=True)
class Step:
    """One planned model call: a phase of a section (or the abstract) and who writes it."""

    index: int
    phase: CompilationPhase
    section_id: str | None
    section_type: SectionType | None
    provider: ProviderSpec
    reason: Reason
    rule: str
    matrix_role: Role
    relevance: float | None = None  # best source score of the section (None: no sources)
    complexity: float | None = None  # the section's complexity (None for the abstract)

    @property
    def role(self) -> Role:
        """The role planned to write this step."""
        return self.provider.role

    @property
    def label(self) -> str:
        """`1.2/EXPAND` or `ABSTRACT`, for logs and errors."""
        return (
            self.phase.name if self.section_id is None else f"{self.section_id}/{self.phase.name}"
        )


@dataclass(frozen=True)
class Plan:
    """Every step of a build in execution order, with the cloud calls reserved for them."""

    steps: tuple[Step, ...]
    providers: Mapping[Role, ProviderSpec]
    max_cloud_calls: int
    # Which roles could be reached when planned: an unreachable primary takes no escalation.
    available: Mapping[Role, bool] = field(
        default_factory=lambda: {Role.PRIMARY: True, Role.SECONDARY: True}
    )
    # The setting an unreachable primary lacks (OPENAI_API_KEY): there was no primary at all.
    primary_missing: str | None = None

    @property
    def baseline_provider(self) -> ProviderSpec | None:
        """The cloud primary a saving is measured against; None when there was never one."""
        primary = self.providers[Role.PRIMARY]
        return primary if primary.is_cloud and self.primary_missing is None else None

    @property
    def cloud_calls(self) -> int:
        """Cloud calls the plan reserves: one per cloud step."""
        return sum(1 for step in self.steps if step.provider.is_cloud)

    @cached_property
    def _by_place(self) -> dict[tuple[str | None, CompilationPhase], Step]:
        # A build asks for every step by place; a scan each time is quadratic in the outline.
        return {(step.section_id, step.phase): step for step in self.steps}

    def step(self, section_id: str | None, phase: CompilationPhase) -> Step:
        """The step of one phase of one section (section None for the abstract)."""
        try:
            return self._by_place[section_id, phase]
        except KeyError:
            raise KeyError(f"no step {section_id}/{phase.name}") from None


def _decide(
    phase: CompilationPhase,
    section: Section | None,
    settings: Settings,
    relevance: Mapping[str, float | None],
    overrides: RoutingOverrides | None = None,
) -> Decision:
    """The routing policy's decision for one step, before the budget and availability."""
    section_type = section.section_type if section else None
    # ROUTING_FILE rows beat the matrix and the adaptive policy, in hybrid mode only.
    if (
        overrides is not None
        and settings.vra_hybrid_mode
        and phase is not CompilationPhase.ABSTRACT
        and (row := overrides.lookup(phase, section_type)) is not None
    ):
        key, role = row[0], Role(row[1])
        rule = f"{phase.name} {key} → {role.value} ({overrides.name})"
        return Decision(role, Reason.OVERRIDE, rule)
    if (
        section is not None
        and settings.routing_policy == "adaptive"
        and settings.vra_hybrid_mode
        and phase in ADAPTIVE_PHASES
    ):
        return adaptive_route(
            phase, relevance.get(section.id), section_complexity(section), settings
        )
    return resolve_route(phase, section_type, settings)


def make_plan(
    outline: Outline,
    settings: Settings,
    available: Mapping[Role, bool] | None = None,
    relevance: Mapping[str, float | None] | None = None,
) -> Plan:
    """Route every step, then fit the cloud steps into MAX_CLOUD_CALLS, the abstract first."""
    # relevance: each section's best source score, which ROUTING_POLICY=adaptive reads.
    specs = provider_specs(settings)
    available = available or {Role.PRIMARY: True, Role.SECONDARY: True}
    relevance = relevance or {}
    # Read once per plan; a broken file is a ConfigError even while hybrid mode is off.
    overrides = load_routing_file(settings.routing_file) if settings.routing_file else None
    sections = list(outline.walk())
    wanted: list[tuple[CompilationPhase, Section | None]] = [
        (phase, section) for section in sections for phase in SECTION_PHASES
    ]
    wanted.append((CompilationPhase.ABSTRACT, None))

    decisions = [
        _decide(phase, section, settings, relevance, overrides) for phase, section in wanted
    ]
    # A primary that was never configured is no fallback: its steps are planned on the secondary.
    missing = None
    if not available.get(Role.PRIMARY, True):
        missing = specs[Role.PRIMARY].kind.missing_setting(settings)
    # The abstract's call is allocated before any section's, so sections cannot starve it.
    order = [len(wanted) - 1, *range(len(wanted) - 1)]
    budget = settings.max_cloud_calls
    routed: dict[int, tuple[Role, Reason, str]] = {}
    for index in order:
        decision = decisions[index]
        role, reason, rule = decision.role, decision.reason, decision.rule
        if role is Role.PRIMARY and missing is not None:
            role, reason = role.other, Reason.NO_PRIMARY
            rule = f"{missing} unset → {role.value}"
        elif not available.get(role, True):
            role, reason = role.other, Reason.UNAVAILABLE
            rule = f"{decision.role.value} unavailable → {role.value}"
        if specs[role].is_cloud:
            if budget > 0:
                budget -= 1
            elif not specs[role.other].is_cloud and available.get(role.other, True):
                rule = f"MAX_CLOUD_CALLS={settings.max_cloud_calls} spent → {role.other.value}"
                role, reason = role.other, Reason.COST_LIMIT
            else:
                raise ConfigError(
                    f"MAX_CLOUD_CALLS={settings.max_cloud_calls} is too small for this outline "
                    "and no local provider can take the rest: raise MAX_CLOUD_CALLS or set "
                    "SECONDARY_PROVIDER to a local provider"
                )
        if not available.get(role, True):
            section = wanted[index][1]
            raise ConfigError(
                f"{role.value} provider {specs[role].name} is unavailable and step "
                f"{section.id if section else 'ABSTRACT'} has nowhere else to go"
            )
        routed[index] = (role, reason, rule)

    steps = tuple(
        Step(
            index=index,
            phase=phase,
            section_id=section.id if section else None,
            section_type=section.section_type if section else None,
            provider=specs[routed[index][0]],
            reason=routed[index][1],
            rule=routed[index][2],
            matrix_role=decisions[index].role,
            relevance=relevance.get(section.id) if section else None,
            complexity=section_complexity(section) if section else None,
        )
        for index, (phase, section) in enumerate(wanted)
    )
    return Plan(
        steps=steps,
        providers=specs,
        max_cloud_calls=settings.max_cloud_calls,
        available=dict(available),
        primary_missing=missing,
    )
