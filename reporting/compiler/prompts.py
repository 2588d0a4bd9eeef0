"""Prompt messages for each phase, rendered from templates/prompts/*.j2.

Outline text is always data: it is passed to the templates as variables and never compiled as
a template, and the templates render in a sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from reporting.assets import templates_dir
from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.sources.citations import format_context
from reporting.sources.read import Chunk

# Bump when a template changes: cached results of older prompts must not be reused.
PROMPT_VERSION = "2"
ABSTRACT_WORDS = 180
# The abstract sees at most this many words of all sections together, so it fits small contexts.
ABSTRACT_INPUT_WORDS = 1200
DRAFT_MAX_WORDS = 250  # a DRAFT is a skeleton: long sections get no longer plan than this

_TEMPLATE_FILES = {
    CompilationPhase.DRAFT: "draft.j2",
    CompilationPhase.EXPAND: "expand.j2",
    CompilationPhase.REFINE: "refine.j2",
    CompilationPhase.ABSTRACT: "abstract.j2",
}


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir() / "prompts"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _render(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context).strip()


@dataclass(frozen=True)
class SectionText:
    """A refined section as the abstract sees it."""

    id: str
    title: str
    text: str


def _report_context(outline: Outline) -> dict[str, Any]:
    return {"title": outline.title, "audience": outline.audience, "tone": outline.tone}


def _section_context(section: Section) -> dict[str, Any]:
    return {
        "id": section.id,
        "title": section.title,
        "type": section.section_type.value,
        "brief": section.brief,
        "points": section.points,
        "words": section.target_words,
        "subsections": [f"{sub.id} {sub.title}" for sub in section.sections],
        "data": section.data_facts,
    }


def excerpt(text: str, words: int) -> str:
    """The first `words` words of a text, marked when cut."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " […]"


def section_messages(
    phase: CompilationPhase,
    outline: Outline,
    section: Section,
    previous: str | None,
    sources: Sequence[Chunk] = (),
) -> list[BaseMessage]:
    """System and user messages of a DRAFT, EXPAND or REFINE call, with its numbered sources."""
    report = _report_context(outline)
    user = _render(
        _TEMPLATE_FILES[phase],
        report=report,
        toc=outline.section_lines,
        section=_section_context(section),
        previous=previous or "",
        sources=format_context(sources),
    )
    return [SystemMessage(_render("system.j2", report=report)), HumanMessage(user)]


def abstract_messages(outline: Outline, sections: list[SectionText]) -> list[BaseMessage]:
    """System and user messages of the ABSTRACT call, over all refined sections."""
    share = max(30, ABSTRACT_INPUT_WORDS // max(1, len(sections)))
    parts = [SectionText(s.id, s.title, excerpt(s.text, share)) for s in sections]
    report = _report_context(outline)
    user = _render(
        _TEMPLATE_FILES[CompilationPhase.ABSTRACT],
        report=report,
        sections=parts,
        words=ABSTRACT_WORDS,
    )
    return [SystemMessage(_render("system.j2", report=report)), HumanMessage(user)]


REPAIR_PROBLEMS = 8  # findings named in one repair message; a longer list drowns a small model


def repair_messages(
    messages: Sequence[BaseMessage], text: str, problems: Sequence[str]
) -> list[BaseMessage]:
    """The call again, its reply, and a message naming each problem found in that reply."""
    named = list(dict.fromkeys(problems))[:REPAIR_PROBLEMS]
    return [*messages, AIMessage(text), HumanMessage(_render("repair.j2", problems=named))]


def max_output_tokens(phase: CompilationPhase, words: int) -> int:
    """Output bound of one call, from the target words (about 1.4 tokens per English word)."""
    if phase is CompilationPhase.ABSTRACT:
        words = ABSTRACT_WORDS
    elif phase is CompilationPhase.DRAFT:
        words = min(words, DRAFT_MAX_WORDS)
    return int(words * 1.6) + 64
