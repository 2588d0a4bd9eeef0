"""The SectionCompiler: an outline becomes a plan, the plan becomes text, the text a report.

Reads as the pipeline: plan → (DRAFT → EXPAND → REFINE for every section, side by side)
→ ABSTRACT over all refined sections → the compiled report, ready to render.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from reporting.compiler.budget import CloudBudget
from reporting.compiler.cache import PhaseCache
from reporting.compiler.concurrency import ProviderLimits
from reporting.compiler.models import ChatModels
from reporting.compiler.prompts import (
    SectionText,
    abstract_messages,
    max_output_tokens,
    section_messages,
)
from reporting.compiler.runner import Metrics, Observer, Sleep, StepResult, StepRunner, StepsStopped
from reporting.errors import ReportingError
from reporting.logs import hybrid
from reporting.outline.model import Outline, Section, SectionType
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.routing.plan import Plan, Reason, Role, make_plan, resolve_provider
from reporting.settings import Settings
from reporting.sources.citations import CitationRegistry, attribute, check_citations
from reporting.sources.grounding import NO_SOURCES, Grounding
from reporting.text import drop_empty_list_items, drop_repeated_sentences


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
    state: dict[str, dict[str, object]] = field(default_factory=dict)
    grounding: Grounding = NO_SOURCES
    citations: CitationRegistry = field(default_factory=CitationRegistry)
    bodies: dict[str, str] = field(default_factory=dict)  # refined text, citations renumbered

    def body(self, section_id: str) -> str:
        """The refined text of a section, its citations numbered across the whole report."""
        if section_id in self.bodies:
            return self.bodies[section_id]
        return self._text(section_id, CompilationPhase.REFINE)

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


class SectionCompiler:
    """Executes a plan: each section's chain runs side by side, the abstract once all are done."""

    def __init__(
        self,
        settings: Settings,
        *,
        models: ChatModels | None = None,
        available: Mapping[Role, bool] | None = None,
        sleep: Sleep = asyncio.sleep,
        limits: ProviderLimits | None = None,
        cache: PhaseCache | None = None,
        refresh: frozenset[str] = frozenset(),
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.observer = observer
        self.cache = cache
        self.refresh = refresh
        self._owns_models = models is None  # then each compile closes the pools it opened
        self.models = models or ChatModels(settings)
        self.available = dict(available) if available else None
        self.sleep = sleep
        self.limits = limits

    def _resolve_provider(
        self, phase: CompilationPhase, section_type: SectionType | None
    ) -> tuple[str, str]:
        """The (provider, model) the routing matrix names for a phase and section type."""
        return resolve_provider(phase, section_type, self.settings)

    def plan(self, outline: Outline, grounding: Grounding = NO_SOURCES) -> Plan:
        """The plan this compiler will follow for an outline and its retrieved sources."""
        return make_plan(outline, self.settings, self.available, grounding.relevance())

    def compile(
        self, outline: Outline, plan: Plan | None = None, grounding: Grounding = NO_SOURCES
    ) -> CompiledReport:
        """Compile an outline synchronously (runs the async pipeline to completion)."""
        return asyncio.run(self.acompile(outline, plan, grounding))

    async def acompile(
        self, outline: Outline, plan: Plan | None = None, grounding: Grounding = NO_SOURCES
    ) -> CompiledReport:
        """Compile an outline: sections side by side, then the abstract."""
        try:
            return await self._acompile(outline, plan, grounding)
        finally:
            if self._owns_models:
                await self.models.aclose()

    async def _acompile(
        self, outline: Outline, plan: Plan | None, grounding: Grounding
    ) -> CompiledReport:
        started = _now()
        plan = plan or self.plan(outline, grounding)
        for spec in {step.provider for step in plan.steps}:
            self.models.get(spec.name, spec.model)  # a missing key fails here, before any call
        self._log_unavailable(plan)
        if self.observer is not None:
            self.observer.planned(outline, plan)
        metrics = Metrics()
        budget = CloudBudget(plan.max_cloud_calls, reserved=plan.cloud_calls)
        runner = StepRunner(
            self.settings,
            plan,
            self.models,
            budget,
            metrics,
            self.sleep,
            self.limits,
            self.cache,
            self.refresh,
            self.observer,
        )

        # Draft, expand, refine: every section's chain side by side. When one fails, no new
        # step starts, but calls already in flight finish and are kept (and cached).
        results: dict[int, StepResult] = {}
        outcomes = await asyncio.gather(
            *(
                self._run_section(runner, plan, outline, s, grounding, results)
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

        # Abstract: over all refined sections, in outline order; it cites nothing.
        refined = [
            SectionText(s.id, s.title, check_citations(bodies[s.id], 0)[0]) for s in outline.walk()
        ]
        step = plan.step(None, CompilationPhase.ABSTRACT)
        messages = abstract_messages(outline, refined)
        tokens = max_output_tokens(CompilationPhase.ABSTRACT, 0)
        results[step.index] = _checked(await runner.run(step, messages, tokens, None), 0)

        ordered = [results[index] for index in sorted(results)]
        return CompiledReport(
            outline=outline,
            plan=plan,
            results=ordered,
            metrics=metrics,
            started_at=started,
            finished_at=_now(),
            state={"metrics": metrics.as_dict()},
            grounding=grounding,
            citations=citations,
            bodies=bodies,
        )

    async def _run_section(
        self,
        runner: StepRunner,
        plan: Plan,
        outline: Outline,
        section: Section,
        grounding: Grounding,
        results: dict[int, StepResult],
    ) -> None:
        """One section's DRAFT → EXPAND → REFINE, each phase fed the previous one's text."""
        # Every phase gets the same numbered chunks, so [n] means the same source throughout.
        given = grounding.for_section(section.id).chunks
        previous: str | None = None
        for phase in SECTION_PHASES:
            step = plan.step(section.id, phase)
            messages = section_messages(phase, outline, section, previous, given)
            tokens = max_output_tokens(phase, section.target_words)
            result = _checked(await runner.run(step, messages, tokens, section.title), len(given))
            if phase is CompilationPhase.REFINE and self.settings.citation_attribution:
                result.text, result.citations_attributed = attribute(result.text, given)
            results[step.index] = result
            previous = result.text

    @staticmethod
    def _log_unavailable(plan: Plan) -> None:
        """Say once that an unavailable primary is routed around from the start."""
        rerouted = [step for step in plan.steps if step.reason is Reason.UNAVAILABLE]
        if rerouted:
            primary = plan.providers[Role.PRIMARY]
            hybrid(
                Event="FALLBACK",
                Reason="UNAVAILABLE",
                Provider=primary.label,
                To=plan.providers[Role.SECONDARY].label,
                Steps=len(rerouted),
            )


def _checked(result: StepResult, given: int) -> StepResult:
    """Remove repeated sentences, and citations of sources the step was not given; count both."""
    text, repeats = drop_repeated_sentences(drop_empty_list_items(result.text))
    text, _, removed = check_citations(text, given)
    result.text, result.sources_given, result.citations_removed = text, given, removed
    result.repeats_removed = repeats
    if removed:
        hybrid(
            Phase=result.step.phase.name,
            Section=result.step.section_id or "-",
            Event="CITATIONS",
            Removed=removed,
            Given=given,
        )
    return result


def first_error(failures: list[BaseException]) -> BaseException:
    """The error to report: a real failure before the steps it stopped."""
    real = [exc for exc in failures if not isinstance(exc, StepsStopped)]
    ours = [exc for exc in real if isinstance(exc, ReportingError)]
    return (ours or real or failures)[0]
