"""The one DRAFT → EXPAND → REFINE loop: each phase's messages built from the previous text.

A build, a comparison and the cost estimate all walk a section through this loop; they differ
only in what writes each phase (the runner, both providers, or a placeholder of the expected
length).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage

from reporting.compiler.prompts import (
    SectionText,
    abstract_messages,
    max_output_tokens,
    section_messages,
)
from reporting.outline.model import Outline, Section
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.sources.read import Chunk


@dataclass(frozen=True)
class PhaseCall:
    """One phase's request: the messages and the bound on its output."""

    phase: CompilationPhase
    messages: list[BaseMessage]
    max_tokens: int


# Writes one phase and returns its text; None stops the section's chain there.
WritePhase = Callable[[PhaseCall], Awaitable[str | None]]


def section_chain(
    outline: Outline, section: Section, given: Sequence[Chunk]
) -> Generator[PhaseCall, str | None, str | None]:
    """The loop itself: yields each phase's call, is sent its text (None stops it there).

    A generator, so the async build and compare and the synchronous cost estimate all drive
    the same loop; it returns the last text written (None if none was).
    """
    previous: str | None = None
    for phase in SECTION_PHASES:
        messages = section_messages(phase, outline, section, previous, given)
        tokens = max_output_tokens(phase, section.target_words)
        text = yield PhaseCall(phase, messages, tokens)
        if text is None:
            break
        previous = text
    return previous


async def write_section(
    outline: Outline, section: Section, given: Sequence[Chunk], write: WritePhase
) -> str | None:
    """Walk one section through its phases with an async writer; the last text written."""
    chain = section_chain(outline, section, given)
    try:
        call = next(chain)
        while True:
            call = chain.send(await write(call))
    except StopIteration as done:
        last: str | None = done.value
        return last


def abstract_call(outline: Outline, refined: list[SectionText]) -> PhaseCall:
    """The ABSTRACT's request over every refined section, in outline order."""
    phase = CompilationPhase.ABSTRACT
    return PhaseCall(phase, abstract_messages(outline, refined), max_output_tokens(phase, 0))
