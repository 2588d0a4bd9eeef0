"""Which provider writes which step: the routing matrix as data, and the plan built from it.

The plan is a pure function of (outline, settings, provider availability); it allocates the
cloud budget before any call, so the same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from reporting.errors import ConfigError
from reporting.outline.model import Outline, Section, SectionType
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.providers.base import Provider
from reporting.providers.registry import provider
from reporting.routing.routing_file import RoutingOverrides, load_routing_file
from reporting.settings import Settings


class Role(Enum):
    """The two providers a report may use."""

    PRIMARY = "primary"
    SECONDARY = "secondary"

    @property
    def other(self) -> Role:
        """The role a step falls back to."""
        return Role.SECONDARY if self is Role.PRIMARY else Role.PRIMARY


class Reason(Enum):
    """Why a step goes where it goes."""

    MATRIX = "MATRIX"  # a row of the hybrid routing matrix
    ADAPTIVE = "ADAPTIVE"  # ROUTING_POLICY=adaptive: source relevance and section complexity
    OVERRIDE = "OVERRIDE"  # a row of ROUTING_FILE
    HYBRID_OFF = "HYBRID_OFF"  # hybrid mode off: everything on the primary
    ABSTRACT_POLICY = "ABSTRACT_POLICY"  # the abstract rule
    COST_LIMIT = "COST_LIMIT"  # MAX_CLOUD_CALLS leaves no call for this step
    UNAVAILABLE = "UNAVAILABLE"  # preflight found the planned provider unusable
    COMPARE = "COMPARE"  # one side of a `report compare` pair
    JUDGE = "JUDGE"  # the primary judging a `report compare` pair


@dataclass(frozen=True)
class ProviderSpec:
    """A configured provider: its role, name as written, kind and model."""

    role: Role
    name: str
    model: str

    @property
    def kind(self) -> Provider:
        """What runs this provider."""
        return provider(self.name)

    @property
    def is_cloud(self) -> bool:
        """Whether calls to it count against MAX_CLOUD_CALLS."""
        return self.kind.cloud

    @property
    def label(self) -> str:
        """The name as shown in `[Hybrid]` log lines."""
        return self.name.upper()


@dataclass(frozen=True)
class Route:
    """One row of the hybrid matrix: a phase and the section types it covers go to a role."""

    phase: CompilationPhase
    section_types: frozenset[SectionType] | None  # None: any type
    role: Role

    def matches(self, phase: CompilationPhase, section_type: SectionType | None) -> bool:
        """Whether this row decides the given phase and section type."""
        if phase is not self.phase:
            return False
        return self.section_types is None or section_type in self.section_types


def _types(*names: str) -> frozenset[SectionType]:
    return frozenset(SectionType(name) for name in names)


# Hybrid mode. REFINE and the reasoning-heavy DRAFTs go to the primary; EXPAND (bulk prose) and
# the DRAFTs of descriptive sections, whose skeleton the outline's brief and points already
# give, go to the secondary. Every section type appears in exactly one DRAFT row.
HYBRID_MATRIX: tuple[Route, ...] = (
    Route(CompilationPhase.REFINE, None, Role.PRIMARY),
    Route(CompilationPhase.EXPAND, None, Role.SECONDARY),
    Route(
        CompilationPhase.DRAFT,
        _types("intro", "conclusion", "analysis", "discussion", "recommendations"),
        Role.PRIMARY,
    ),
    Route(
        CompilationPhase.DRAFT,
        _types("method", "implementation", "background", "results", "appendix", "other"),
        Role.SECONDARY,
    ),
)


@dataclass(frozen=True)
class Decision:
    """Where the matrix sends one phase of one section type, and why."""

    role: Role
    reason: Reason
    rule: str


def resolve_route(
    phase: CompilationPhase, section_type: SectionType | None, settings: Settings
) -> Decision:
    """Apply the routing matrix to one phase and section type."""
    if phase is CompilationPhase.ABSTRACT:
        if not provider(settings.primary_provider).abstract_on_primary:
            return Decision(Role.SECONDARY, Reason.ABSTRACT_POLICY, "ABSTRACT: primary is local")
        return Decision(Role.PRIMARY, Reason.ABSTRACT_POLICY, "ABSTRACT → primary")
    if not settings.vra_hybrid_mode:
        return Decision(Role.PRIMARY, Reason.HYBRID_OFF, "hybrid off → primary")
    for route in HYBRID_MATRIX:
        if route.matches(phase, section_type):
            kinds = "any" if route.section_types is None else (section_type or SectionType.OTHER)
            label = kinds if isinstance(kinds, str) else kinds.value
            return Decision(route.role, Reason.MATRIX, f"{phase.name} {label} → {route.role.value}")
    raise AssertionError(f"routing matrix has no row for {phase.name} {section_type}")


# How much reasoning a section type needs, from 0 (restating facts) to 1 (synthesis, judgement).
TYPE_COMPLEXITY: dict[SectionType, float] = {
    SectionType.APPENDIX: 0.1,
    SectionType.BACKGROUND: 0.2,
    SectionType.RESULTS: 0.3,
    SectionType.IMPLEMENTATION: 0.3,
    SectionType.METHOD: 0.4,
    SectionType.OTHER: 0.4,
    SectionType.INTRO: 0.5,
    SectionType.CONCLUSION: 0.6,
    SectionType.ANALYSIS: 0.8,
    SectionType.DISCUSSION: 0.8,
    SectionType.RECOMMENDATIONS: 0.9,
}
COMPLEX_WORDS = 1000  # a section this long or longer counts as fully complex on length
COMPLEX_POINTS = 8  # likewise for the number of points it must cover


def section_complexity(section: Section) -> float:
    """A section's complexity in [0, 1]: half its type, a quarter each its length and points."""
    length = min(section.target_words / COMPLEX_WORDS, 1.0)
    points = min(len(section.points) / COMPLEX_POINTS, 1.0)
    return round(0.5 * TYPE_COMPLEXITY[section.section_type] + 0.25 * length + 0.25 * points, 2)


def adaptive_route(
    phase: CompilationPhase, relevance: float | None, complexity: float, settings: Settings
) -> Decision:
    """DRAFT and EXPAND under ROUTING_POLICY=adaptive: local only if well sourced and simple."""
    # Facts found in the sources need restating, not reasoning: the local model is enough.
    least, most = settings.adaptive_min_relevance, settings.adaptive_max_complexity
    if relevance is None:
        return Decision(Role.PRIMARY, Reason.ADAPTIVE, f"{phase.name} no sources → primary")
    if relevance < least:
        why = f"relevance {relevance:.2f} < {least:.2f}"
        return Decision(Role.PRIMARY, Reason.ADAPTIVE, f"{phase.name} {why} → primary")
    if complexity > most:
        why = f"relevance {relevance:.2f}, complexity {complexity:.2f} > {most:.2f}"
        return Decision(Role.PRIMARY, Reason.ADAPTIVE, f"{phase.name} {why} → primary")
    why = f"relevance {relevance:.2f} ≥ {least:.2f}, complexity {complexity:.2f} ≤ {most:.2f}"
    return Decision(Role.SECONDARY, Reason.ADAPTIVE, f"{phase.name} {why} → secondary")


def provider_specs(settings: Settings) -> dict[Role, ProviderSpec]:
    """The primary and secondary providers the settings name."""
    return {
        Role.PRIMARY: ProviderSpec(Role.PRIMARY, settings.primary_provider, settings.primary_model),
        Role.SECONDARY: ProviderSpec(
            Role.SECONDARY, settings.secondary_provider, settings.secondary_model
        ),
    }


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

    @property
    def cloud_calls(self) -> int:
        """Cloud calls the plan reserves: one per cloud step."""
        return sum(1 for step in self.steps if step.provider.is_cloud)

    def step(self, section_id: str | None, phase: CompilationPhase) -> Step:
        """The step of one phase of one section (section None for the abstract)."""
        for candidate in self.steps:
            if candidate.section_id == section_id and candidate.phase is phase:
                return candidate
        raise KeyError(f"no step {section_id}/{phase.name}")


ADAPTIVE_PHASES = (CompilationPhase.DRAFT, CompilationPhase.EXPAND)


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
    # The abstract's call is allocated before any section's, so sections cannot starve it.
    order = [len(wanted) - 1, *range(len(wanted) - 1)]
    budget = settings.max_cloud_calls
    routed: dict[int, tuple[Role, Reason, str]] = {}
    for index in order:
        decision = decisions[index]
        role, reason, rule = decision.role, decision.reason, decision.rule
        if not available.get(role, True):
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
    return Plan(steps=steps, providers=specs, max_cloud_calls=settings.max_cloud_calls)
