"""`report compare`: chosen phase+section calls run on both providers with identical inputs.

Reads as the pipeline: plan what fits under MAX_CLOUD_CALLS → run each section's chain, where
a compared phase runs on both providers and the side the routing picks today feeds the next
phase (so both sides of every pair see the same input) → optional judge → pairs, measures,
quality checks and recommendations.

Each side's text goes through the build's quality checks whatever QUALITY_GATE says: a
comparison is an evaluation, and no repair or escalation follows (each side is its own first
text). The text is tidied (and, for REFINE, its citations attributed) as the build would before
checking; duplication against other sections is not checked, since compare does not write the
whole report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reporting.compare.judge import Verdict, combine, judge_messages, parse_choice
from reporting.compare.measures import measure_text
from reporting.compare.recommend import Pair, Recommendation, Side, recommend
from reporting.compiler.budget import CloudBudget
from reporting.compiler.chain import PhaseCall, abstract_call, write_section
from reporting.compiler.cleanup import tidy_text
from reporting.compiler.context import CallContext
from reporting.compiler.execute import first_error
from reporting.compiler.prompts import ABSTRACT_WORDS, SectionText
from reporting.compiler.runner import Metrics, StepResult, StepRunner
from reporting.errors import ConfigError, GenerationError, InputError
from reporting.logs import hybrid
from reporting.outline.model import Outline, Section
from reporting.phases import SECTION_PHASES, CompilationPhase
from reporting.quality.checks import CheckResult, run_checks
from reporting.quality.given import Given, NamedText
from reporting.routing.plan import Step, make_plan
from reporting.routing.pricing import PriceTable
from reporting.routing.roles import ProviderSpec, Reason, Role
from reporting.settings import Settings
from reporting.sources.citations import attribute, check_citations, format_context
from reporting.sources.grounding import Grounding
from reporting.sources.read import Chunk

JUDGE_MAX_TOKENS = 80
ALL_PHASES = (*SECTION_PHASES, CompilationPhase.ABSTRACT)


@dataclass(frozen=True)
class Target:
    """One phase of one section (or the abstract) to run on both providers."""

    step: Step  # the step as today's routing plans it; its role is the pair's current role
    included: bool  # False when MAX_CLOUD_CALLS leaves no room for it
    cloud_calls: int  # cloud calls it needs: the primary's side, and two judge calls

    @property
    def label(self) -> str:
        """`2/EXPAND` or `ABSTRACT`."""
        return self.step.label


@dataclass(frozen=True)
class ComparePlan:
    """What a comparison will run: the pairs that fit, and the steps that give them inputs."""

    targets: tuple[Target, ...]
    inputs: tuple[Step, ...]  # steps run once, as routed, to feed the compared phases
    providers: dict[Role, ProviderSpec]
    max_cloud_calls: int
    judge: bool

    @property
    def cloud_calls(self) -> int:
        """Cloud calls reserved: included pairs and judges, and the input steps on the cloud."""
        pairs = sum(t.cloud_calls for t in self.targets if t.included)
        return pairs + sum(1 for step in self.inputs if step.provider.is_cloud)


def parse_phases(text: str | None) -> tuple[CompilationPhase, ...]:
    """`DRAFT,EXPAND` → the phases in pipeline order; every phase when not given."""
    if not text:
        return ALL_PHASES
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in CompilationPhase.__members__]
    if unknown or not names:
        known = ",".join(phase.name for phase in ALL_PHASES)
        raise InputError(f"--phases {text!r}: unknown phase {', '.join(unknown)}; use {known}")
    return tuple(phase for phase in ALL_PHASES if phase.name in names)


def parse_sections(text: str | None, outline: Outline) -> frozenset[str | None] | None:
    """`1,2.1,abstract` → those sections (None stands for the abstract); None means all."""
    if not text:
        return None
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    known = [section.id for section in outline.walk()]
    unknown = sorted(w for w in wanted if w not in known and w.lower() != "abstract")
    if unknown or not wanted:
        raise InputError(
            f"--sections {text!r}: no section {', '.join(unknown)}; the outline has "
            + ", ".join(known)
            + " and the abstract"
        )
    return frozenset(None if w.lower() == "abstract" else w for w in wanted)


def plan_compare(
    outline: Outline,
    settings: Settings,
    grounding: Grounding,
    phases: Sequence[CompilationPhase],
    sections: frozenset[str | None] | None,
    judge: bool,
    available: Mapping[Role, bool] | None = None,
) -> ComparePlan:
    """Choose the pairs that fit under MAX_CLOUD_CALLS, in plan order, then their inputs."""
    if available is not None and not all(available.values()):
        down = ", ".join(role.value for role, ok in available.items() if not ok)
        raise ConfigError(f"compare needs both providers; unavailable: {down} (see report doctor)")
    # Today's routing without the budget: the role each step has on its merits.
    unlimited = settings.model_copy(update={"max_cloud_calls": 1_000_000})
    routed = make_plan(outline, unlimited, available, grounding.relevance())
    providers = dict(routed.providers)
    # A pair sends one call to each side, and two to the primary when judged.
    primary_cloud = providers[Role.PRIMARY].is_cloud
    per_pair = sum(spec.is_cloud for spec in providers.values())
    per_pair += 2 if judge and primary_cloud else 0
    secondary = providers[Role.SECONDARY]
    budget = settings.max_cloud_calls

    def cheapest(step: Step) -> Step:
        """An input step on the secondary when that is local and the step would be cloud."""
        if not step.provider.is_cloud or secondary.is_cloud:
            return step
        rule = f"MAX_CLOUD_CALLS={settings.max_cloud_calls} kept for the pairs → secondary"
        return dataclasses.replace(step, provider=secondary, reason=Reason.COST_LIMIT, rule=rule)

    def needed(step: Step) -> list[Step]:
        """The steps whose text a target's call takes as input, in pipeline order."""
        if step.section_id is None:
            return [s for s in routed.steps if s.section_id is not None]
        index = SECTION_PHASES.index(step.phase)
        return [routed.step(step.section_id, phase) for phase in SECTION_PHASES[:index]]

    # Pairs in plan order, each with the inputs it needs at their cheapest; then inputs move
    # back to the provider today's routing picks, while calls are left.
    targets: list[Target] = []
    compared: set[int] = set()
    inputs: dict[int, Step] = {}
    for step in routed.steps:
        if step.phase not in phases:
            continue
        if sections is not None and step.section_id not in sections:
            continue  # with --sections, the abstract only when named ("abstract")
        new = [
            cheapest(s) for s in needed(step) if s.index not in compared and s.index not in inputs
        ]
        cost = per_pair + sum(s.provider.is_cloud for s in new)
        fits = cost <= budget
        if fits:
            budget -= cost
            compared.add(step.index)
            inputs.update((s.index, s) for s in new)
        targets.append(Target(step, fits, per_pair))

    if not any(target.included for target in targets):
        if not targets:
            raise InputError("nothing to compare: no call matches --phases and --sections")
        raise ConfigError(
            f"nothing to compare: MAX_CLOUD_CALLS={settings.max_cloud_calls} leaves no room "
            f"for one pair, which needs {per_pair} cloud calls and its inputs; "
            "raise MAX_CLOUD_CALLS"
        )
    for index, step in sorted(inputs.items()):
        planned = routed.steps[index]
        if step.provider != planned.provider and budget > 0:
            budget -= 1
            inputs[index] = planned
    inputs_in_order = tuple(step for _, step in sorted(inputs.items()))
    return ComparePlan(tuple(targets), inputs_in_order, providers, settings.max_cloud_calls, judge)


@dataclass
class PairRun:
    """One compared call: both sides' results, the judge's verdict, and the pair record."""

    target: Target
    results: dict[Role, StepResult]
    pair: Pair
    judge_replies: list[str] = field(default_factory=list)
    # Each side's quality checks; None for a side whose call failed.
    checks: dict[Role, tuple[CheckResult, ...] | None] = field(default_factory=dict)


@dataclass
class CompareRun:
    """Everything a comparison produced."""

    outline: Outline
    plan: ComparePlan
    pairs: list[PairRun]
    metrics: Metrics
    started_at: dt.datetime
    finished_at: dt.datetime
    recommendations: list[Recommendation]


def _side(
    result: StepResult,
    target_words: int,
    prices: PriceTable,
    checks: tuple[CheckResult, ...] | None,
) -> Side:
    """One provider's answer as the recommendation rules see it."""
    # A side from the cache cost nothing this time; what it would cost is what matters here,
    # so its tokens are the ones the cached call reported. Its latency is unknown (0).
    spec = result.provider
    tokens_in, tokens_out = result.cached_usage or (result.input_tokens, result.output_tokens)
    return Side(
        provider=spec.name,
        model=spec.model,
        measures=measure_text(result.text, target_words),
        latency_s=round(result.latency_s, 3),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=round(prices.cost(spec.name, spec.model, tokens_in, tokens_out), 6),
        ok=bool(result.text) and not result.errors,
        failed_checks=None
        if checks is None
        else tuple(check.name for check in checks if not check.passed),
    )


class Comparison:
    """Runs a compare plan through the one call path (cache, budget, retries, logs)."""

    def __init__(
        self,
        context: CallContext,
        plan: ComparePlan,
        outline: Outline,
        grounding: Grounding,
        *,
        report: str = "",
    ) -> None:
        self.settings, self.plan, self.outline, self.grounding = (
            context.settings,
            plan,
            outline,
            grounding,
        )
        self.metrics = Metrics()
        self.prices = PriceTable(context.settings)
        self.report = report
        self.run_id = report
        budget = CloudBudget(plan.max_cloud_calls, reserved=plan.cloud_calls)
        self.runner = StepRunner(context, plan.providers, budget, self.metrics)
        self.pairs: list[PairRun] = []

    async def run(self) -> CompareRun:
        """Run every section's chain side by side, then the abstract."""
        started = dt.datetime.now(dt.UTC)
        # Pairs of one run share an id, so pooled savings are per report run, not per outline.
        self.run_id = f"{self.report}@{started:%Y-%m-%dT%H:%M:%S.%f}"
        texts: dict[str, str] = {}
        sections = list(self.outline.walk())
        # As in a build: when one chain fails, calls in flight finish before the error.
        outcomes = await asyncio.gather(
            *(self._section(s, texts) for s in sections), return_exceptions=True
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise first_error(failures)
        abstract = self._target(None, CompilationPhase.ABSTRACT)
        if abstract is not None:
            refined = [
                SectionText(s.id, s.title, check_citations(texts[s.id], 0)[0]) for s in sections
            ]
            call = abstract_call(self.outline, refined)
            given = Given.for_call(
                self.outline,
                None,
                CompilationPhase.ABSTRACT,
                None,
                (),
                call.messages,
                others=[NamedText(s.title, s.text) for s in refined],
                target_words=ABSTRACT_WORDS,
            )
            await self._pair(abstract, call, None, ABSTRACT_WORDS, (), given)
        order = {t.step.index: i for i, t in enumerate(self.plan.targets)}
        self.pairs.sort(key=lambda run: order[run.target.step.index])
        return CompareRun(
            outline=self.outline,
            plan=self.plan,
            pairs=self.pairs,
            metrics=self.metrics,
            started_at=started,
            finished_at=dt.datetime.now(dt.UTC),
            recommendations=recommend([run.pair for run in self.pairs]),
        )

    def _target(self, section_id: str | None, phase: CompilationPhase) -> Target | None:
        for target in self.plan.targets:
            if target.included and (target.step.section_id, target.step.phase) == (
                section_id,
                phase,
            ):
                return target
        return None

    def _input(self, section_id: str, phase: CompilationPhase) -> Step | None:
        for step in self.plan.inputs:
            if (step.section_id, step.phase) == (section_id, phase):
                return step
        return None

    async def _section(self, section: Section, texts: dict[str, str]) -> None:
        """A section's chain: compared phases on both sides, inputs once, as far as needed."""
        given = self.grounding.for_section(section.id).chunks
        previous: str | None = None  # the text the next phase is given

        async def write(call: PhaseCall) -> str | None:
            nonlocal previous
            target, step = self._target(section.id, call.phase), self._input(section.id, call.phase)
            if target is not None:
                checked = Given.for_call(
                    self.outline, section, call.phase, previous, given, call.messages
                )
                previous = await self._pair(
                    target, call, section.title, section.target_words, given, checked
                )
                return previous
            if step is None:
                return None  # nothing further of this section is compared or needed
            result = await self.runner.run(step, call.messages, call.max_tokens, section.title)
            previous = check_citations(result.text, len(given))[0]
            return previous

        texts[section.id] = await write_section(self.outline, section, given, write) or ""

    async def _pair(
        self,
        target: Target,
        call: PhaseCall,
        title: str | None,
        target_words: int,
        chunks: Sequence[Chunk],
        given: Given,
    ) -> str:
        """Both sides of one target with the same messages; return the text that feeds on."""
        sides = {role: self._as(target.step, role) for role in Role}
        primary, secondary = await asyncio.gather(
            *(self.runner.call(sides[role], call.messages, call.max_tokens, title) for role in Role)
        )
        results = {Role.PRIMARY: primary, Role.SECONDARY: secondary}
        for result in results.values():
            result.text = check_citations(result.text, len(chunks))[0]
        checks = {role: self._checks(result, given, chunks) for role, result in results.items()}
        verdict: Verdict | None = None
        replies: list[str] = []
        if self.plan.judge and all(r.text for r in results.values()):
            verdict, replies = await self._judge(target, title, target_words, results)
        current = target.step.role
        pair = Pair(
            phase=target.step.phase.name,
            section_id=target.step.section_id,
            section_type=target.step.section_type.value if target.step.section_type else "abstract",
            current_role=current.value,
            primary=_side(primary, target_words, self.prices, checks[Role.PRIMARY]),
            secondary=_side(secondary, target_words, self.prices, checks[Role.SECONDARY]),
            verdict=verdict,
            report=self.run_id,
        )
        self.pairs.append(PairRun(target, results, pair, replies, checks))
        hybrid(
            Phase=target.step.phase.name,
            Section=target.step.section_id or "-",
            Event="COMPARED",
            Primary=f"{pair.primary.measures.words}w",
            Secondary=f"{pair.secondary.measures.words}w",
            Verdict=verdict.value if verdict else None,
            PrimaryFailed=",".join(pair.primary.failed_checks or ()) or None,
            SecondaryFailed=",".join(pair.secondary.failed_checks or ()) or None,
        )
        # The side today's routing would use feeds the next phase; the other if it failed.
        chosen = results[current].text or results[current.other].text
        if not chosen:
            raise GenerationError(f"{target.label}: both providers failed; nothing to go on with")
        return chosen

    def _checks(
        self, result: StepResult, given: Given, chunks: Sequence[Chunk]
    ) -> tuple[CheckResult, ...] | None:
        """The build's checks of one side's text, tidied as a build tidies it; None if it failed."""
        if not result.text or result.errors:
            return None
        text = tidy_text(result.text, len(chunks))[0]
        if given.phase is CompilationPhase.REFINE and self.settings.citation_attribution:
            text = attribute(text, chunks)[0]
        return run_checks(text, given)

    def _as(self, step: Step, role: Role) -> Step:
        """The step sent to one role's provider."""
        spec = self.plan.providers[role]
        return dataclasses.replace(
            step, provider=spec, reason=Reason.COMPARE, rule=f"compare → {role.value}"
        )

    async def _judge(
        self,
        target: Target,
        title: str | None,
        target_words: int,
        results: dict[Role, StepResult],
    ) -> tuple[Verdict | None, list[str]]:
        """Ask the primary twice, both orders, so a preference for one position cancels out."""
        section = next((s for s in self.outline.walk() if s.id == target.step.section_id), None)
        brief = section.brief if section else "the abstract of the whole report"
        name = title or self.outline.title
        judge = dataclasses.replace(
            target.step,
            provider=self.plan.providers[Role.PRIMARY],
            reason=Reason.JUDGE,
            rule="judge",
        )
        primary, secondary = results[Role.PRIMARY].text, results[Role.SECONDARY].text
        given = self.grounding.for_section(target.step.section_id or "").chunks
        sources = format_context(given)
        # First order: A is the primary's text; second order: A is the secondary's.
        orders = [(primary, secondary), (secondary, primary)]
        replies = await asyncio.gather(
            *(
                self.runner.call(
                    judge,
                    judge_messages(target.step.phase, name, brief, target_words, a, b, sources),
                    JUDGE_MAX_TOKENS,
                    None,
                )
                for a, b in orders
            )
        )
        choices = [parse_choice(reply.text) for reply in replies]
        verdict = combine(choices[0], choices[1])
        return verdict, [reply.text for reply in replies]
