"""The phases every section passes through, and the abstract written last."""

from __future__ import annotations

from enum import Enum


class CompilationPhase(Enum):
    """One model call's job; the value is the word used in prompts and progress."""

    DRAFT = "DRAFTING"
    EXPAND = "EXPANDING"
    REFINE = "REFINING"
    ABSTRACT = "ABSTRACT"


SECTION_PHASES: tuple[CompilationPhase, ...] = (
    CompilationPhase.DRAFT,
    CompilationPhase.EXPAND,
    CompilationPhase.REFINE,
)
