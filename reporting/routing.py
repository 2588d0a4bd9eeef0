"""Which provider writes which step: the routing matrix as data, and the plan built from it.

The plan is a pure function of (outline, settings, provider availability); it allocates the
cloud budget before any call, so the same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from reporting.errors import ConfigError
from reporting.outline import Outline, SectionType
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.settings import PROVIDER_NAMES, ProviderKind, Settings


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
    HYBRID_OFF = "HYBRID_OFF"  # hybrid mode off: everything on the primary
    ABSTRACT_POLICY = "ABSTRACT_POLICY"  # the abstract rule
    COST_LIMIT = "COST_LIMIT"  # MAX_CLOUD_CALLS leaves no call for this step
    UNAVAILABLE = "UNAVAILABLE"  # preflight found the planned provider unusable


@dataclass(frozen=True)
class ProviderSpec:
    """A configured provider: its role, name as written, kind and model."""

    role: Role
    name: str
    model: str

    @property
    def kind(self) -> ProviderKind:
        """What runs this provider."""
        return PROVIDER_NAMES[self.name]

    @property
    def is_cloud(self) -> bool:
        """Whether calls to it count against MAX_CLOUD_CALLS."""
        return self.kind.is_cloud

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
        if PROVIDER_NAMES[settings.primary_provider] is ProviderKind.OLLAMA:
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


def provider_specs(settings: Settings) -> dict[Role, ProviderSpec]:
    """The primary and secondary providers the settings name."""
    return {
        Role.PRIMARY: ProviderSpec(Role.PRIMARY, settings.primary_provider, settings.primary_model),
        Role.SECONDARY: ProviderSpec(
            Role.SECONDARY, settings.secondary_provider, settings.secondary_model
        ),
    }


def resolve_provider(
    phase: CompilationPhase, section_type: SectionType | None, settings: Settings
) -> tuple[str, str]:
    """The (provider, model) the matrix names for a phase and section type."""
    spec = provider_specs(settings)[resolve_route(phase, section_type, settings).role]
    return spec.name, spec.model


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


def make_plan(
    outline: Outline,
    settings: Settings,
    available: Mapping[Role, bool] | None = None,
) -> Plan:
    """Route every step, then fit the cloud steps into MAX_CLOUD_CALLS, the abstract first."""
    specs = provider_specs(settings)
    available = available or {Role.PRIMARY: True, Role.SECONDARY: True}
    wanted: list[tuple[CompilationPhase, str | None, SectionType | None]] = [
        (phase, section.id, section.section_type)
        for section in outline.walk()
        for phase in SECTION_PHASES
    ]
    wanted.append((CompilationPhase.ABSTRACT, None, None))

    decisions = [resolve_route(phase, kind, settings) for phase, _, kind in wanted]
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
            raise ConfigError(
                f"{role.value} provider {specs[role].name} is unavailable and step "
                f"{wanted[index][1] or 'ABSTRACT'} has nowhere else to go"
            )
        routed[index] = (role, reason, rule)

    steps = tuple(
        Step(
            index=index,
            phase=phase,
            section_id=section_id,
            section_type=kind,
            provider=specs[routed[index][0]],
            reason=routed[index][1],
            rule=routed[index][2],
            matrix_role=decisions[index].role,
        )
        for index, (phase, section_id, kind) in enumerate(wanted)
    )
    return Plan(steps=steps, providers=specs, max_cloud_calls=settings.max_cloud_calls)
