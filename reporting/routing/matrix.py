"""The hybrid routing matrix as data: which role writes each phase of each section type."""

from __future__ import annotations

from dataclasses import dataclass

from reporting.outline.model import SectionType
from reporting.phases import CompilationPhase
from reporting.providers.registry import provider
from reporting.routing.roles import Reason, Role
from reporting.settings import Settings


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
