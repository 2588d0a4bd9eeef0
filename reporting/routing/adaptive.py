"""ROUTING_POLICY=adaptive: DRAFT and EXPAND go local only when well sourced and simple."""

from __future__ import annotations

from reporting.outline.model import Section, SectionType
from reporting.phases import CompilationPhase
from reporting.routing.matrix import Decision
from reporting.routing.roles import Reason, Role
from reporting.settings import Settings

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


ADAPTIVE_PHASES = (CompilationPhase.DRAFT, CompilationPhase.EXPAND)
