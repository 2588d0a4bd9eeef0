"""What a plan will cost before anything is sent: projected tokens and dollars per step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage

from reporting.compiler.chain import abstract_call, section_chain
from reporting.compiler.prompts import (
    ABSTRACT_INPUT_WORDS,
    ABSTRACT_WORDS,
    DRAFT_MAX_WORDS,
    SectionText,
)
from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.routing.plan import Plan, Step
from reporting.routing.pricing import PriceTable
from reporting.routing.records import providers_record, step_record
from reporting.routing.roles import ProviderSpec, Role
from reporting.settings import Settings
from reporting.sources.grounding import NO_SOURCES, Grounding

TOKENS_PER_WORD = 1.4


@dataclass(frozen=True)
class EstimatedCall:
    """One planned step with its projected tokens and cost."""

    step: Step
    title: str | None  # None for the abstract
    input_tokens: int
    output_tokens: int
    cost_usd: float
    baseline_usd: float  # what the primary would charge; 0.0 with no cloud primary

    def to_json(self) -> dict[str, Any]:
        """The step's plan keys, then the projection (the keys `report plan --json` prints)."""
        record = step_record(self.step)
        record.update(
            title=self.title,
            projected_input_tokens=self.input_tokens,
            projected_output_tokens=self.output_tokens,
            projected_cost_usd=self.cost_usd,
            projected_baseline_usd=self.baseline_usd,
        )
        return record


@dataclass(frozen=True)
class ProjectedTotals:
    """The projection summed over every call; dollars rounded to four places."""

    input_tokens: int
    output_tokens: int
    cost_usd: float
    baseline_usd: float
    saving_usd: float


@dataclass(frozen=True)
class Estimate:
    """What a plan will cost before anything is sent."""

    outline: str  # the outline's title
    providers: dict[Role, ProviderSpec]
    calls: list[EstimatedCall]
    cloud_calls: int
    max_cloud_calls: int
    projected: ProjectedTotals

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: the output of `report plan --json`."""
        return {
            "outline": self.outline,
            "providers": providers_record(self.providers),
            "calls": [call.to_json() for call in self.calls],
            "cloud_calls": self.cloud_calls,
            "max_cloud_calls": self.max_cloud_calls,
            "projected": dataclasses.asdict(self.projected),
        }


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

    for section in outline.walk():
        chain = section_chain(outline, section, grounding.for_section(section.id).chunks)
        # Each phase is answered with a placeholder as long as it is expected to write.
        call = next(chain)
        while True:
            messages[section.id, call.phase] = call.messages
            words = _expected_words(call.phase, section.target_words)
            try:
                call = chain.send(_placeholder(words))
            except StopIteration:
                break
    sections = list(outline.walk())
    share = min(ABSTRACT_INPUT_WORDS // max(1, len(sections)), 200)
    parts = [SectionText(s.id, s.title, _placeholder(share)) for s in sections]
    messages[None, CompilationPhase.ABSTRACT] = abstract_call(outline, parts).messages
    return messages


def project_plan(
    outline: Outline, plan: Plan, settings: Settings, grounding: Grounding = NO_SOURCES
) -> Estimate:
    """The plan with projected tokens and cost per step and in total."""
    prices = PriceTable(settings)
    primary = plan.baseline_provider  # none: no cloud primary, so no baseline and no saving
    baseline_price = prices.price(primary.name, primary.model) if primary else None
    sections: dict[str, Section] = {s.id: s for s in outline.walk()}
    calls: list[EstimatedCall] = []
    messages = _step_messages(outline, grounding)
    for step in plan.steps:
        title = sections[step.section_id].title if step.section_id else None
        words = sections[step.section_id].target_words if step.section_id else ABSTRACT_WORDS
        input_tokens = sum(
            estimate_tokens(str(m.content)) for m in messages[step.section_id, step.phase]
        )
        output_tokens = int(_expected_words(step.phase, words) * TOKENS_PER_WORD)
        calls.append(
            EstimatedCall(
                step=step,
                title=title,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=round(
                    prices.cost(
                        step.provider.name, step.provider.model, input_tokens, output_tokens
                    ),
                    6,
                ),
                baseline_usd=round(baseline_price.cost(input_tokens, output_tokens), 6)
                if baseline_price
                else 0.0,
            )
        )
    cost = sum(call.cost_usd for call in calls)
    baseline = sum(call.baseline_usd for call in calls)
    return Estimate(
        outline=outline.title,
        providers=dict(plan.providers),
        calls=calls,
        cloud_calls=plan.cloud_calls,
        max_cloud_calls=plan.max_cloud_calls,
        projected=ProjectedTotals(
            input_tokens=sum(call.input_tokens for call in calls),
            output_tokens=sum(call.output_tokens for call in calls),
            cost_usd=round(cost, 4),
            baseline_usd=round(baseline, 4),
            saving_usd=round(baseline - cost, 4),
        ),
    )
