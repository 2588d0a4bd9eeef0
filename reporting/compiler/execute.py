"""Executes a plan: every section's chain side by side, the abstract once all are written.

Reads as the stage: (DRAFT → EXPAND → REFINE for every section, side by side) → citations
numbered across the report → ABSTRACT over all refined sections → the compiled report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from reporting.compiler.budget import CloudBudget, shares
from reporting.compiler.chain import PhaseCall, abstract_call, write_section
from reporting.compiler.cleanup import tidy_step_text
from reporting.compiler.context import CallContext
from reporting.compiler.gate import run_checked
from reporting.compiler.prompts import ABSTRACT_WORDS, SectionText
from reporting.compiler.runner import Metrics, StepResult, StepRunner, StepsStopped
from reporting.errors import ReportingError
from reporting.logs import hybrid
from reporting.outline.model import Outline, Section
from reporting.phases import CompilationPhase
from reporting.quality.checks import check_across_sections, unsupported_figures, with_check
from reporting.quality.figures import Figure
from reporting.quality.given import Given, NamedText, outline_dates
from reporting.routing.plan import Plan
from reporting.routing.roles import ProviderSpec, Reason, Role
from reporting.settings import Settings
from reporting.sources.citations import CitationRegistry, attribute, check_citations
from reporting.sources.grounding import Grounding


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class CompiledReport:
    """Everything a build produced: the text of every step and what it cost."""

    outline: Outline
    plan: Plan
    results: list[StepResult]
    metrics: Metrics
    started_at: dt.datetime
    finished_at: dt.datetime
    grounding: Grounding
    citations: CitationRegistry
    bodies: dict[str, str]  # refined text, citations renumbered across the report

    def body(self, section_id: str) -> str:
        """The refined text of a section, its citations numbered across the whole report."""
        return self.bodies[section_id]

    def demonstration_model(self, settings: Settings) -> str | None:
        """The demonstration model that wrote any of the kept texts, None when none did."""
        for result in self.results:
            name = result.provider.kind.demonstration_model(settings)
            if name is not None:
                return name
        return None

    def written_by(self, section_id: str) -> list[StepResult]:
        """The results of a section's DRAFT, EXPAND and REFINE, in that order."""
        return [r for r in self.results if r.step.section_id == section_id]

    @property
    def abstract(self) -> str:
        """The abstract's text."""
        return self._text(None, CompilationPhase.ABSTRACT)

    def _text(self, section_id: str | None, phase: CompilationPhase) -> str:
        for result in self.results:
            if result.step.section_id == section_id and result.step.phase is phase:
                return result.text
        raise KeyError(f"no result for {section_id}/{phase.name}")


async def execute(
    plan: Plan, outline: Outline, grounding: Grounding, context: CallContext
) -> CompiledReport:
    """Run every step of a plan through one runner; the report, or the first real error."""
    started = _now()
    for spec in {step.provider for step in plan.steps}:
        context.models.get(spec.name, spec.model)  # a missing key fails here, before any call
    _log_unavailable(plan)
    if context.observer is not None:
        context.observer.planned(outline, plan)
    metrics = Metrics()
    budget = CloudBudget(plan.max_cloud_calls, reserved=plan.cloud_calls)
    budget.allot(shares(budget.spare, [section.id for section in outline.walk()]))
    runner = StepRunner(context, plan.providers, budget, metrics)
    # A failing secondary text may go to the primary, unless the primary cannot be reached.
    escalate_to = plan.providers[Role.PRIMARY] if plan.available.get(Role.PRIMARY, True) else None
    dates = outline_dates(outline)  # any section may name the report's period

    # Draft, expand, refine: every section's chain side by side. When one fails, no new
    # step starts, but calls already in flight finish and are kept (and cached).
    results: dict[int, StepResult] = {}
    outcomes = await asyncio.gather(
        *(
            _run_section(runner, plan, outline, s, grounding, results, escalate_to, dates)
            for s in outline.walk()
        ),
        return_exceptions=True,
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        raise first_error(failures)

    # Citations: every section's [n] renumbered across the report, in outline order.
    citations = CitationRegistry()
    bodies = {
        s.id: citations.register(
            s.id,
            results[plan.step(s.id, CompilationPhase.REFINE).index].text,
            grounding.for_section(s.id).chunks,
        )
        for s in outline.walk()
    }

    # Duplication between sections: each refined text against the sections before it, in
    # outline order, once all are written (so the finding does not depend on which ran first).
    _check_across_sections(plan, outline, results)

    # Abstract: over all refined sections, in outline order; it cites nothing.
    step = plan.step(None, CompilationPhase.ABSTRACT)
    # Each section's figures its final text holds unsupported support nothing in the abstract.
    untrusted = {
        s.id: unsupported_figures(results[plan.step(s.id, CompilationPhase.REFINE).index].checks)
        for s in outline.walk()
    }
    call, given = abstract_inputs(outline, bodies, dates=dates, untrusted=untrusted)
    results[step.index] = await run_checked(
        runner, step, call, given, None, lambda result: tidy_step_text(result, 0), escalate_to
    )

    return CompiledReport(
        outline=outline,
        plan=plan,
        results=[results[index] for index in sorted(results)],
        metrics=metrics,
        started_at=started,
        finished_at=_now(),
        grounding=grounding,
        citations=citations,
        bodies=bodies,
    )


async def _run_section(
    runner: StepRunner,
    plan: Plan,
    outline: Outline,
    section: Section,
    grounding: Grounding,
    results: dict[int, StepResult],
    escalate_to: ProviderSpec | None,
    dates: tuple[Figure, ...],
) -> None:
    """One section's chain on the runner, each phase fed the previous one's text."""
    # Every phase gets the same numbered chunks, so [n] means the same source throughout.
    given = grounding.for_section(section.id).chunks
    attribution = runner.settings.citation_attribution
    previous: str | None = None
    untrusted: frozenset[str] = frozenset()  # unsupported figures the texts so far kept

    async def write(call: PhaseCall) -> str:
        nonlocal previous, untrusted
        step = plan.step(section.id, call.phase)

        def finish(result: StepResult) -> StepResult:
            result = tidy_step_text(result, len(given))
            if call.phase is CompilationPhase.REFINE and attribution:
                result.text, result.citations_attributed = attribute(result.text, given)
            return result

        checked = Given.for_call(
            outline,
            section,
            call.phase,
            previous,
            given,
            call.messages,
            untrusted=untrusted,
            dates=dates,
        )
        expand = plan.step(section.id, CompilationPhase.EXPAND)
        unpolished = results.get(expand.index) if call.phase is CompilationPhase.REFINE else None
        result = await run_checked(
            runner, step, call, checked, section.title, finish, escalate_to, unpolished
        )
        results[step.index] = result
        previous = result.text
        untrusted |= unsupported_figures(result.checks)
        return result.text

    await write_section(outline, section, given, write)


def abstract_inputs(
    outline: Outline,
    bodies: Mapping[str, str],
    *,
    dates: tuple[Figure, ...] = (),
    untrusted: Mapping[str, frozenset[str]] | None = None,
) -> tuple[PhaseCall, Given]:
    """The abstract's call over every section's body, and what its text is checked against."""
    refined = [
        SectionText(s.id, s.title, check_citations(bodies[s.id], 0)[0]) for s in outline.walk()
    ]
    call = abstract_call(outline, refined)
    given = Given.for_call(
        outline,
        None,
        CompilationPhase.ABSTRACT,
        None,
        (),
        call.messages,
        others=[
            NamedText(s.title, s.text, (untrusted or {}).get(s.id, frozenset())) for s in refined
        ],
        target_words=ABSTRACT_WORDS,
        dates=dates,
    )
    return call, given


def _check_across_sections(plan: Plan, outline: Outline, results: dict[int, StepResult]) -> None:
    """Add to each refined section's checks the sentences and paragraphs of earlier sections."""
    refined = [results[plan.step(s.id, CompilationPhase.REFINE).index] for s in outline.walk()]
    if all(result.checks is None for result in refined):
        return
    texts = [NamedText(s.title, r.text) for s, r in zip(outline.walk(), refined, strict=True)]
    for result, found in zip(refined, check_across_sections(outline.title, texts), strict=True):
        if result.checks is not None:
            result.checks = with_check(result.checks, found)


def _log_unavailable(plan: Plan) -> None:
    """Say once that an unavailable primary is routed around, or that there is no primary."""
    primary, secondary = plan.providers[Role.PRIMARY].label, plan.providers[Role.SECONDARY].label
    rerouted = [step for step in plan.steps if step.reason is Reason.UNAVAILABLE]
    if rerouted:
        hybrid(
            Event="FALLBACK",
            Reason="UNAVAILABLE",
            Provider=primary,
            To=secondary,
            Steps=len(rerouted),
        )
    # Not a fallback: with no primary configured, these steps were planned on the secondary.
    planned = [step for step in plan.steps if step.reason is Reason.NO_PRIMARY]
    if planned:
        hybrid(
            Event="NO_PRIMARY",
            Provider=primary,
            Missing=plan.primary_missing,
            To=secondary,
            Steps=len(planned),
        )


def first_error(failures: list[BaseException]) -> BaseException:
    """The error to report: a real failure before the steps it stopped."""
    real = [exc for exc in failures if not isinstance(exc, StepsStopped)]
    ours = [exc for exc in real if isinstance(exc, ReportingError)]
    return (ours or real or failures)[0]
