"""What a plan will cost before anything is sent: projected tokens and dollars per step."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import BaseMessage

from reporting.compiler.chain import PhaseCall, abstract_call, write_section
from reporting.compiler.prompts import (
    ABSTRACT_INPUT_WORDS,
    ABSTRACT_WORDS,
    DRAFT_MAX_WORDS,
    SectionText,
)
from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.routing.plan import Plan
from reporting.routing.pricing import PriceTable
from reporting.routing.records import providers_record, step_record
from reporting.routing.roles import Role
from reporting.settings import Settings
from reporting.sources.grounding import NO_SOURCES, Grounding

TOKENS_PER_WORD = 1.4


def estimate_tokens(text: str) -> int:
    """Tokens of an English text, about four characters each."""
    return len(text) // 4 + 1


def _expected_words(phase: CompilationPhase, words: int) -> int:
    """Words a phase is expected to write: a skeleton for DRAFT, the target otherwise."""
    if phase is CompilationPhase.ABSTRACT:
        return ABSTRACT_WORDS
    return min(words, DRAFT_MAX_WORDS) // 2 if phase is CompilationPhase.DRAFT else words


def _placeholder(words: int) -> str:
    return " ".join(["text"] * words)


def _step_messages(
    outline: Outline, grounding: Grounding
) -> dict[tuple[str | None, CompilationPhase], list[BaseMessage]]:
    """Every step's messages, built by the loop a build runs; each phase writes a placeholder."""
    messages: dict[tuple[str | None, CompilationPhase], list[BaseMessage]] = {}

    async def section(one: Section) -> None:
        async def write(call: PhaseCall) -> str:
            messages[one.id, call.phase] = call.messages
            # The next phase reads a text as long as this one is expected to write.
            return _placeholder(_expected_words(call.phase, one.target_words))

        await write_section(outline, one, grounding.for_section(one.id).chunks, write)

    async def every_section() -> None:
        for one in outline.walk():
            await section(one)

    asyncio.run(every_section())
    sections = list(outline.walk())
    share = min(ABSTRACT_INPUT_WORDS // max(1, len(sections)), 200)
    parts = [SectionText(s.id, s.title, _placeholder(share)) for s in sections]
    messages[None, CompilationPhase.ABSTRACT] = abstract_call(outline, parts).messages
    return messages


def project_plan(
    outline: Outline, plan: Plan, settings: Settings, grounding: Grounding = NO_SOURCES
) -> dict[str, Any]:
    """The plan as JSON-ready data with projected tokens and cost per step and in total."""
    prices = PriceTable(settings)
    primary = plan.providers[Role.PRIMARY]
    baseline_price = prices.price(primary.name, primary.model) if primary.is_cloud else None
    sections: dict[str, Section] = {s.id: s for s in outline.walk()}
    messages = _step_messages(outline, grounding)
    calls = []
    for step in plan.steps:
        title = sections[step.section_id].title if step.section_id else None
        words = sections[step.section_id].target_words if step.section_id else ABSTRACT_WORDS
        input_tokens = sum(
            estimate_tokens(str(m.content)) for m in messages[step.section_id, step.phase]
        )
        output_tokens = int(_expected_words(step.phase, words) * TOKENS_PER_WORD)
        record = step_record(step)
        record.update(
            title=title,
            projected_input_tokens=input_tokens,
            projected_output_tokens=output_tokens,
            projected_cost_usd=round(
                prices.cost(step.provider.name, step.provider.model, input_tokens, output_tokens), 6
            ),
            projected_baseline_usd=round(baseline_price.cost(input_tokens, output_tokens), 6)
            if baseline_price
            else 0.0,
        )
        calls.append(record)
    cost = sum(call["projected_cost_usd"] for call in calls)
    baseline = sum(call["projected_baseline_usd"] for call in calls)
    return {
        "outline": outline.title,
        "providers": providers_record(plan.providers),
        "calls": calls,
        "cloud_calls": plan.cloud_calls,
        "max_cloud_calls": plan.max_cloud_calls,
        "projected": {
            "input_tokens": sum(call["projected_input_tokens"] for call in calls),
            "output_tokens": sum(call["projected_output_tokens"] for call in calls),
            "cost_usd": round(cost, 4),
            "baseline_usd": round(baseline, 4),
            "saving_usd": round(baseline - cost, 4),
        },
    }
