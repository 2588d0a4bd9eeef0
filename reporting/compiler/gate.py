"""The quality gate: every phase's text is checked; a failing one is repaired, escalated or flagged.

QUALITY_GATE=repair (the default) sends up to QUALITY_MAX_REPAIRS repair calls to the provider
that wrote the text, each naming what the checks found. A text that still fails and was written
by the secondary goes to the primary (`Reason=QUALITY`) when the cloud budget has a call that no
planned step needs. The attempt with the fewest findings is kept, and its checks are recorded, so
a text that never passed is flagged. `strict` is `repair` whose build exits 3 when a final text
still fails; `report` checks and records only; `off` checks nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from langchain_core.messages import BaseMessage

from reporting.compiler.chain import PhaseCall
from reporting.compiler.prompts import repair_messages
from reporting.compiler.runner import ExtraCall, StepResult, StepRunner
from reporting.logs import hybrid
from reporting.phases import CompilationPhase
from reporting.quality.checks import (
    CITATIONS,
    CITED_FIGURES,
    ECHO,
    FACTS,
    LEAKS,
    CheckResult,
    run_checks,
)
from reporting.quality.given import Given
from reporting.routing.plan import Step
from reporting.routing.roles import ProviderSpec, Role

# Tidies (and for REFINE attributes) one attempt's text, as the step's first text is.
Finish = Callable[[StepResult], StepResult]
# Fallbacks after which the primary has already failed this step: no escalation to it.
_PRIMARY_FAILED = ("ERROR", "CIRCUIT_OPEN", "UNAVAILABLE")
# What is worth another call in a DRAFT or EXPAND text: what the next phase would carry into
# the report (a figure, the prompt's words). Its length, its form and repeats of other sections
# are the next phase's to rewrite, so they are recorded, not repaired (measured on the embedded
# model, repairing them too took a repair call for nearly every step).
CARRIED = frozenset({FACTS, CITED_FIGURES, CITATIONS, ECHO, LEAKS})
FINAL_PHASES = frozenset({CompilationPhase.REFINE, CompilationPhase.ABSTRACT})


@dataclass
class Attempt:
    """One text written for a step and what the checks found in it."""

    result: StepResult
    checks: tuple[CheckResult, ...]
    kind: str = "first"  # first, repair or escalation

    @property
    def findings(self) -> int:
        """Problems found, all checks together."""
        return sum(len(check.findings) for check in self.checks)

    @property
    def to_fix(self) -> list[CheckResult]:
        """The failed checks worth another call in this phase."""
        final = self.result.step.phase in FINAL_PHASES
        return [c for c in self.checks if not c.passed and (final or c.name in CARRIED)]

    @property
    def rank(self) -> tuple[int, int]:
        """Fewer findings worth a call first, then fewer findings in all."""
        return sum(len(check.findings) for check in self.to_fix), self.findings


@dataclass(frozen=True)
class GatedStep:
    """One step as the gate runs it: its call, what it was given, and how a text is tidied."""

    runner: StepRunner
    step: Step
    call: PhaseCall
    given: Given
    title: str | None
    finish: Finish

    async def extra(self, spec: ProviderSpec, messages: list[BaseMessage]) -> StepResult:
        """One more call for this step on `spec`; its text tidied, or empty when it failed."""
        result = await self.runner.extra(
            self.step, spec, messages, self.call.max_tokens, self.title
        )
        return self.finish(result) if result.text else result


async def run_checked(
    runner: StepRunner,
    step: Step,
    call: PhaseCall,
    given: Given,
    title: str | None,
    finish: Finish,
    escalate_to: ProviderSpec | None,
    previous: StepResult | None = None,
) -> StepResult:
    """Run a step, check its text and act on the findings as QUALITY_GATE says.

    `previous` is the EXPAND a REFINE polishes: when every REFINE attempt still fails and that
    text, checked as the REFINE, fails less, it is kept (a polish that made the section worse
    is undone, at no call).
    """
    first = finish(await runner.run(step, call.messages, call.max_tokens, title))
    gate = runner.settings.quality_gate
    if gate == "off":
        return first
    attempts = [Attempt(first, run_checks(first.text, given))]
    if gate in ("repair", "strict"):
        job = GatedStep(runner, step, call, given, title, finish)
        await _repair(job, attempts)
        await _escalate(job, attempts, escalate_to)
        if previous is not None and _best(attempts).to_fix:
            unpolished = finish(dataclasses.replace(previous, step=step, extra_calls=[]))
            attempts.append(Attempt(unpolished, run_checks(unpolished.text, given), "previous"))
    return _merge(attempts)


async def _repair(job: GatedStep, attempts: list[Attempt]) -> None:
    """Up to QUALITY_MAX_REPAIRS calls to the provider that wrote the text, naming each finding."""
    for _ in range(job.runner.settings.quality_max_repairs):
        current = attempts[-1]
        if not current.to_fix:
            return
        spec = current.result.provider
        failed = ",".join(check.name for check in current.to_fix)
        if spec.role is Role.PRIMARY and job.runner.metrics.circuit_open:
            return  # the primary gets no more calls in this report
        if spec.is_cloud and not job.runner.budget.claim(job.step.section_id):
            # No spare call is this section's (the rest are reserved for planned steps or dealt
            # to other sections): the text stays flagged.
            hybrid(
                **_label(job.step),
                Event="REPAIR_SKIPPED",
                Reason="COST_LIMIT",
                Provider=spec.label,
                Failed=failed,
            )
            return
        problems = [finding.message for check in current.to_fix for finding in check.findings]
        messages = repair_messages(job.call.messages, current.result.text, problems)
        hybrid(**_label(job.step), Event="REPAIR", Provider=spec.label, Failed=failed)
        result = await job.extra(spec, messages)
        # The repair message's own words are now part of the prompt: echoing them is an echo.
        # The sentences its findings quote are not: keeping a good one of them is no echo.
        repaired = dataclasses.replace(job.given, prompt=f"{job.given.prompt}\n\n{_repair_words()}")
        attempts.append(_checked(result, repaired, "repair"))
        if not result.text:
            return


async def _escalate(job: GatedStep, attempts: list[Attempt], primary: ProviderSpec | None) -> None:
    """The primary writes the step when the secondary's best text still fails and a call is free."""
    best = _best(attempts)
    if (
        primary is None
        or not best.to_fix
        or best.result.provider.role is not Role.SECONDARY
        or (primary.name, primary.model) == (best.result.provider.name, best.result.provider.model)
        or attempts[0].result.fallback in _PRIMARY_FAILED
        or job.runner.metrics.circuit_open
    ):
        return
    # Last, as it takes one of the section's spare calls (the abstract's reservation is kept).
    if primary.is_cloud and not job.runner.budget.claim(job.step.section_id):
        hybrid(
            **_label(job.step),
            Event="ESCALATE_SKIPPED",
            Reason="COST_LIMIT",
            Failed=",".join(check.name for check in best.to_fix),
        )
        return
    hybrid(
        **_label(job.step),
        Event="ESCALATE",
        Reason="QUALITY",
        From="SECONDARY",
        To="PRIMARY",
        Failed=",".join(check.name for check in best.to_fix),
    )
    result = await job.extra(primary, job.call.messages)
    attempts.append(_checked(result, job.given, "escalation"))


def _checked(result: StepResult, given: Given, kind: str) -> Attempt:
    """An attempt and its checks (none for a call that failed)."""
    return Attempt(result, run_checks(result.text, given) if result.text else (), kind)


def _best(attempts: Sequence[Attempt]) -> Attempt:
    """The written attempt with the fewest findings worth a call; the earliest among equals."""
    written = [attempt for attempt in attempts if attempt.result.text] or list(attempts[:1])
    return min(written, key=lambda attempt: attempt.rank)


def _merge(attempts: list[Attempt]) -> StepResult:
    """The best attempt's text, with what every attempt cost and its own checks."""
    first, best = attempts[0].result, _best(attempts)
    final = first
    if best is not attempts[0]:
        # The step is the first result's (its start, fallback and plan), the text the best's.
        final = dataclasses.replace(
            first,
            text=best.result.text,
            provider=best.result.provider,
            truncated=best.result.truncated,
            citations_removed=best.result.citations_removed,
            repeats_removed=best.result.repeats_removed,
            citations_attributed=best.result.citations_attributed,
            first_provider=first.provider,
            requests=first.requests.copy(),
            failures=first.failures.copy(),
            errors=list(first.errors),
        )
    final.checks = best.checks
    final.kept_previous = best.kind == "previous"
    final.extra_calls = []
    for attempt in attempts[1:]:
        if attempt.kind == "previous":  # a text already written and counted: no call
            continue
        extra = attempt.result
        final.extra_calls.append(
            ExtraCall(
                kind=attempt.kind,
                provider=extra.provider,
                input_tokens=extra.input_tokens,
                output_tokens=extra.output_tokens,
                requests=extra.attempts,
                latency_s=extra.latency_s,
                cached=extra.cached,
                findings=attempt.findings if extra.text else None,
            )
        )
        final.attempts += extra.attempts
        final.latency_s = round(final.latency_s + extra.latency_s, 3)
        final.elapsed_s = round(final.elapsed_s + extra.elapsed_s, 3)
        final.input_tokens += extra.input_tokens
        final.output_tokens += extra.output_tokens
        final.requests.update(extra.requests)
        final.failures.update(extra.failures)
        final.errors += extra.errors
        final.cached = final.cached and (extra.cached or not extra.attempts)
    return final


@cache
def _repair_words() -> str:
    """The repair message with no finding: its own words, which a repaired text must not echo."""
    return str(repair_messages([], "", [])[-1].content)


def _label(step: Step) -> dict[str, str]:
    return {"Phase": step.phase.name, "Section": step.section_id or "-"}
