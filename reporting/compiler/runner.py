"""The one call path around every model call: budget, retry with backoff, fallback, logs, record."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from reporting.compiler.budget import CloudBudget
from reporting.compiler.cache import CachedResult, cache_key
from reporting.compiler.cleanup import clean_section_text
from reporting.compiler.context import CallContext
from reporting.compiler.prompts import PROMPT_VERSION
from reporting.compiler.shared_budget import (
    Charge,
    SharedBudget,
    SharedBudgetExceeded,
    StateUnavailable,
    from_settings,
)
from reporting.compiler.shared_cache import TieredCache
from reporting.errors import (
    CostLimitExceededError,
    GenerationError,
    ProviderBadResponse,
    ProviderError,
    ReportingError,
)
from reporting.logs import hybrid, hybrid_routine, redact
from reporting.providers.failures import to_provider_error
from reporting.quality.checks import CheckResult
from reporting.routing.plan import Step
from reporting.routing.roles import ProviderSpec, Reason, Role

BREAKER_THRESHOLD = 3


# Characters a reply may hold per output token asked for: about 4 per token in English, and
# 4 times the limit, so only a server that ignores max_tokens is ever cut.
REPLY_CHARS_PER_TOKEN = 16


@dataclass
class StepResult:
    """What one step produced and what it cost."""

    step: Step
    text: str
    provider: ProviderSpec  # the provider that wrote the text
    attempts: int = 0  # requests sent for this step, all providers together
    latency_s: float = 0.0  # time spent in requests, all attempts (queueing excluded)
    elapsed_s: float = 0.0  # the step from start to end: queueing, backoff, fallback
    input_tokens: int = 0
    output_tokens: int = 0
    fallback: str | None = None  # COST_LIMIT, UNAVAILABLE, ERROR or CIRCUIT_OPEN
    errors: list[str] = field(default_factory=list)
    cached: bool = False  # the text came from the cache: no request, no tokens
    cached_usage: tuple[int, int] | None = None  # tokens the cached call had, in and out
    truncated: bool = False  # the provider hit the token limit; cut back to a full sentence
    started_s: float = 0.0  # seconds after the build started
    requests: Counter[str] = field(default_factory=Counter)  # per provider name
    failures: Counter[str] = field(default_factory=Counter)  # failed requests per provider
    reservation_spent: bool = False  # the plan's reserved cloud call was used
    last_error: str | None = None  # the latest provider error, for logs
    sources_given: int = 0  # source chunks the prompt held, numbered 1..sources_given
    citations_removed: int = 0  # citations outside 1..sources_given, removed from the text
    repeats_removed: int = 0  # sentences that repeated an earlier one, removed from the text
    citations_attributed: int = 0  # citations added to sentences that restate a given chunk
    checks: tuple[CheckResult, ...] | None = None  # the final text's checks (None: not checked)
    extra_calls: list[ExtraCall] = field(default_factory=list)  # repairs and escalations
    first_provider: ProviderSpec | None = None  # who wrote the first text, when not `provider`
    kept_previous: bool = False  # REFINE: the EXPAND's text was kept, as it failed fewer checks

    @property
    def repairs(self) -> int:
        """Repair calls made for this step."""
        return sum(1 for call in self.extra_calls if call.kind == "repair")

    @property
    def escalated(self) -> bool:
        """Whether the step was sent to the primary because the secondary's text failed."""
        return any(call.kind == "escalation" for call in self.extra_calls)

    @property
    def failed_checks(self) -> list[str]:
        """Names of the checks the final text fails."""
        return [check.name for check in self.checks or () if not check.passed]


@dataclass(frozen=True)
class ExtraCall:
    """A call the quality gate made after a step's text failed a check."""

    kind: str  # repair or escalation
    provider: ProviderSpec
    input_tokens: int
    output_tokens: int
    requests: int  # requests sent (0: cached or refused)
    latency_s: float  # time spent in its requests
    cached: bool
    findings: int | None  # findings of its text (None: the call failed)


class StepsStopped(GenerationError):
    """A step was not started because another one had already failed the report."""


class CircuitOpen(ProviderError):
    """The primary failed too often in a row; it gets no more calls in this report."""


@dataclass
class Metrics:
    """Counters of one build; `cloud_calls` is every request sent to a cloud provider."""

    cloud_calls: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)
    circuit_open: bool = False
    cache_hits: int = 0
    shared_budget: SharedUse | None = None  # CLOUD_BUDGET_DAILY's part in this build

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counters."""
        return {
            "cloud_calls": self.cloud_calls,
            "requests": dict(sorted(self.requests.items())),
            "retries": self.retries,
            "fallbacks": dict(sorted(self.fallbacks.items())),
            "circuit_open": self.circuit_open,
            "cache_hits": self.cache_hits,
            "shared_budget": dataclasses.asdict(self.shared_budget) if self.shared_budget else None,
        }


@dataclass
class SharedUse:
    """What this build took from the shared budget, and what the budget said."""

    scope: str
    cap: int
    charged: int = 0  # requests charged and sent (refunds taken off)
    refused: int = 0  # requests the shared budget refused (spent, or Redis unreachable)
    used_today: int | None = None  # the scope's count after this build's last charge


def _is_retryable(cap: float) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or not exc.retryable:
            return False
        # A server that asks us to wait longer than RETRY_BACKOFF_MAX is not waited for.
        return exc.retry_after is None or exc.retry_after <= cap

    return check


def _label(step: Step) -> dict[str, str | None]:
    call = step.reason.value if step.reason in (Reason.COMPARE, Reason.JUDGE) else None
    return {"Phase": step.phase.name, "Section": step.section_id or "-", "Call": call}


class StepRunner:
    """Runs steps through one call path, sharing a budget, a breaker, limits and the cache."""

    def __init__(
        self,
        context: CallContext,
        providers: Mapping[Role, ProviderSpec],
        budget: CloudBudget,
        metrics: Metrics,
    ) -> None:
        self.settings = context.settings
        self.observer = context.observer
        self.cache = context.cache
        self.refresh = context.refresh
        self.models = context.models
        self.sleep = context.sleep
        self.limits = context.limits
        self.providers = providers
        self.budget = budget
        self.metrics = metrics
        # CLOUD_BUDGET_DAILY: charged in Redis before each cloud request, on top of `budget`.
        self.shared: SharedBudget | None = from_settings(self.settings)
        if self.shared is not None and metrics.shared_budget is None:
            metrics.shared_budget = SharedUse(self.shared.scope, self.shared.cap)
        self.stopped = False  # set by the first failed step: no new step starts after it
        self.t0 = time.monotonic()
        self._failures_in_a_row = 0
        self._backoff = wait_exponential_jitter(
            multiplier=min(1.0, self.settings.retry_backoff_max),
            max=self.settings.retry_backoff_max,
            jitter=1,
        )

    def _longest_call_s(self) -> float:
        """How long another build's call may take, every retry and backoff included."""
        tries = self.settings.max_retries + 1
        return tries * (self.settings.request_timeout + self.settings.retry_backoff_max) + 15.0

    def _retryable_on(self, spec: ProviderSpec) -> Callable[[BaseException], bool]:
        """Retry transient errors, but not on a cloud provider whose budget has no call left."""
        transient = _is_retryable(self.settings.retry_backoff_max)

        def check(exc: BaseException) -> bool:
            return transient(exc) and (not spec.is_cloud or self.budget.spare > 0)

        return check

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.retry_backoff_max)
        return float(self._backoff(state))

    async def run(
        self, step: Step, messages: list[BaseMessage], max_tokens: int, title: str | None
    ) -> StepResult:
        """Run one step on its planned provider, falling back to the secondary when it fails."""
        if self.stopped:
            raise StepsStopped(f"{step.label} not started: the report had already failed")
        started = time.monotonic()
        result = StepResult(step=step, text="", provider=step.provider)
        result.started_s = round(started - self.t0, 3)
        self._tell("start", step, None)
        secondary = self.providers[Role.SECONDARY]
        spec = step.provider
        if step.reason in (Reason.COST_LIMIT, Reason.UNAVAILABLE):
            result.fallback = step.reason.value
            if step.reason is Reason.COST_LIMIT:
                hybrid(
                    **_label(step),
                    Event="FALLBACK",
                    Reason="COST_LIMIT",
                    From="PRIMARY",
                    To="SECONDARY",
                )
        if spec.role is Role.PRIMARY and self.metrics.circuit_open:
            if spec.is_cloud:
                self.budget.release()
            result.fallback, spec = "CIRCUIT_OPEN", secondary
            hybrid(
                **_label(step),
                Event="FALLBACK",
                Reason="CIRCUIT_OPEN",
                From="PRIMARY",
                To="SECONDARY",
            )
        if spec.role is Role.PRIMARY:
            try:
                await self._attempt(step, spec, messages, max_tokens, title, result)
                self._failures_in_a_row = 0
                return self._finish(result, started)
            except (ProviderError, CostLimitExceededError) as exc:
                if spec.is_cloud and not result.reservation_spent:
                    self.budget.release()
                if isinstance(exc, CircuitOpen):
                    result.fallback = "CIRCUIT_OPEN"
                    hybrid(
                        **_label(step),
                        Event="FALLBACK",
                        Reason="CIRCUIT_OPEN",
                        From="PRIMARY",
                        To="SECONDARY",
                    )
                else:
                    result.errors.append(f"{spec.label}: {exc}")
                    # A retry refused by the budget still means the primary failed.
                    failed = result.attempts > 0
                    result.fallback = "ERROR" if failed else "COST_LIMIT"
                    error: str | None = str(exc)
                    shared = exc if isinstance(exc, SharedBudgetExceeded) else None
                    if shared is not None and not failed:
                        error = None  # Budget= and Why= say it
                    if failed and isinstance(exc, CostLimitExceededError):
                        error = f"{result.last_error}; no retry: {exc}"
                    elif (
                        failed
                        and spec.is_cloud
                        and self.budget.spare <= 0
                        and getattr(exc, "retryable", False)
                    ):
                        error = f"{exc}; no retry: no spare call under MAX_CLOUD_CALLS"
                    hybrid(
                        **_label(step),
                        Event="FALLBACK",
                        Reason=result.fallback,
                        From="PRIMARY",
                        To="SECONDARY",
                        Budget=shared.budget if shared else None,
                        Why=shared.why if shared else None,
                        Error=error,
                    )
                    if failed:
                        self._primary_failed(spec)
            spec = secondary
        try:
            await self._attempt(step, spec, messages, max_tokens, title, result)
        except (ProviderError, CostLimitExceededError) as exc:  # a cloud secondary may be capped
            result.errors.append(f"{spec.label}: {exc}")
            # The secondary is the last resort, whether the step fell back to it or was planned
            # on it: its failure is FALLBACK_FAILED either way (After= says what came before).
            hybrid(
                **_label(step),
                Event="FALLBACK_FAILED",
                Provider=spec.label,
                After=result.fallback,
                Error=exc,
            )
            self.stopped = True
            self._tell("failed", step, result)
            raise GenerationError(f"{step.label} failed: {'; '.join(result.errors)}") from None
        return self._finish(result, started)

    async def call(
        self, step: Step, messages: list[BaseMessage], max_tokens: int, title: str | None
    ) -> StepResult:
        """Run one step on its own provider only: retries but no fallback, failures recorded."""
        # For `report compare`, where each side must be the provider it claims to be.
        started = time.monotonic()
        result = StepResult(step=step, text="", provider=step.provider)
        result.started_s = round(started - self.t0, 3)
        spec = step.provider
        try:
            await self._attempt(step, spec, messages, max_tokens, title, result)
        except (ProviderError, CostLimitExceededError) as exc:
            if spec.is_cloud and not result.reservation_spent:
                self.budget.release()
            result.text = ""
            result.errors.append(f"{spec.label}: {exc}")
            hybrid(**_label(step), Event="FAILED", Provider=spec.label, Error=exc)
        return self._finish(result, started)

    async def extra(
        self,
        step: Step,
        spec: ProviderSpec,
        messages: list[BaseMessage],
        max_tokens: int,
        title: str | None,
    ) -> StepResult:
        """One more call for a step already written: on `spec` only, never falling back.

        For the quality gate's repairs and escalations. A cloud call spends the one call the gate
        claimed for it (`CloudBudget.claim`) and is not retried, so it never takes another
        section's share; a claim it did not send is given back. A failure is logged and returned
        as an empty text, never raised, and does not count towards the circuit breaker: the call
        was optional, and its longer prompt may fail where a planned one would not.
        """
        started = time.monotonic()
        result = StepResult(step=step, text="", provider=spec)
        result.started_s = round(started - self.t0, 3)
        try:
            await self._attempt(
                step,
                spec,
                messages,
                max_tokens,
                title,
                result,
                planned=spec.is_cloud,
                retries=not spec.is_cloud,
            )
        except (ProviderError, CostLimitExceededError) as exc:
            if spec.is_cloud and not result.reservation_spent:
                self.budget.release()
            result.text = ""
            result.errors.append(f"{spec.label}: {exc}")
            hybrid(**_label(step), Event="QUALITY_CALL_FAILED", Provider=spec.label, Error=exc)
        result.elapsed_s = round(time.monotonic() - started, 3)
        result.latency_s = round(result.latency_s, 3)
        return result

    def _finish(self, result: StepResult, started: float) -> StepResult:
        result.elapsed_s = round(time.monotonic() - started, 3)
        result.latency_s = round(result.latency_s, 3)
        if result.fallback:
            self.metrics.fallbacks[result.fallback] += 1
        self._tell("done", result.step, result)
        return result

    def _tell(self, event: str, step: Step, result: StepResult | None) -> None:
        if self.observer is not None:
            self.observer.step(event, step, result)

    def _primary_failed(self, spec: ProviderSpec) -> None:
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= BREAKER_THRESHOLD and not self.metrics.circuit_open:
            self.metrics.circuit_open = True
            hybrid(
                Event="CIRCUIT_OPEN",
                Provider=spec.label,
                Failures=self._failures_in_a_row,
                Action="primary skipped for the rest of the report",
            )

    async def _attempt(
        self,
        step: Step,
        spec: ProviderSpec,
        messages: list[BaseMessage],
        max_tokens: int,
        title: str | None,
        result: StepResult,
        *,
        planned: bool | None = None,
        retries: bool = True,
    ) -> None:
        """Call one provider with retries; fill `result` on success, raise on final failure."""
        model = self.models.get(spec.name, spec.model)
        # A planned call spends the step's reserved cloud call (a quality call: the one claimed).
        planned = spec == step.provider if planned is None else planned
        key = None
        if self.cache is not None:
            params = {"max_tokens": max_tokens, "temperature": self.settings.temperature}
            key = cache_key(messages, spec.name, spec.model, params, PROMPT_VERSION)
            hit = None if step.section_id in self.refresh else self.cache.get(key)
            if (
                hit is None
                and isinstance(self.cache, TieredCache)
                and step.section_id not in self.refresh
            ):
                # Another worker may be making this very call: wait for its result, or take
                # the in-flight lock and make it (released in `finally` below).
                hit = await self.cache.claim(key, self._longest_call_s())
            if hit is not None:
                if spec.is_cloud and planned:
                    self.budget.release()  # a cached step costs no cloud call
                    result.reservation_spent = True
                result.text, result.provider, result.cached = hit.text, spec, True
                result.cached_usage = (hit.input_tokens, hit.output_tokens)
                self.metrics.cache_hits += 1
                hybrid_routine(**_label(step), Provider=spec.label, Model=spec.model, Cached="true")
                return
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries + 1 if retries else 1),
            wait=self._wait,
            retry=retry_if_exception(self._retryable_on(spec)),
            reraise=True,
            sleep=self.sleep,
            before_sleep=lambda state: self._log_retry(step, spec, state),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    async with self.limits.slot(spec):
                        if self.stopped:  # the report failed while this step waited for a slot
                            raise StepsStopped(
                                f"{step.label} not sent: the report had already failed"
                            )
                        # Checked once a slot is free: the breaker may have opened while waiting.
                        if spec.role is Role.PRIMARY and self.metrics.circuit_open:
                            raise CircuitOpen("primary circuit open")
                        if spec.is_cloud:
                            # The shared budget first (Redis, atomic), then the report's own; a call
                            # the report's budget refuses was never sent, so its charge is refunded.
                            charge = self._charge_shared()
                            try:
                                self.budget.spend(reserved=planned and number == 1)
                            except CostLimitExceededError:
                                self._refund_shared(step, charge)
                                raise
                            self.metrics.cloud_calls += 1
                            if planned and number == 1:
                                result.reservation_spent = True
                        self.metrics.requests[spec.name] += 1
                        if number > 1:  # a retry counts once it is really sent
                            self.metrics.retries += 1
                        result.requests[spec.name] += 1
                        result.attempts += 1
                        line = hybrid_routine if number == 1 else hybrid  # a retry is news
                        line(
                            **_label(step),
                            Provider=spec.label,
                            Model=spec.model,
                            Attempt=number if number > 1 else None,
                        )
                        self._tell("sent", step, None)
                        options = spec.kind.call_options(
                            max_tokens, self.settings.temperature, number
                        )
                        sent = time.monotonic()
                        try:
                            reply = await self._invoke(model, messages, options, spec)
                        except ProviderError as exc:
                            result.last_error = str(exc)
                            result.failures[spec.name] += 1
                            raise
                        finally:
                            result.latency_s += time.monotonic() - sent
                    content = _content(reply)
                    truncated = _finish_reason(reply) == "length"
                    # A server that ignores max_tokens must not fill the report (or memory):
                    # the reply is cut at a generous multiple of the limit, as if it had stopped.
                    if len(content) > max_tokens * REPLY_CHARS_PER_TOKEN:
                        content, truncated = content[: max_tokens * REPLY_CHARS_PER_TOKEN], True
                    text = clean_section_text(
                        content,
                        title,
                        abstract=step.section_id is None,
                        truncated=truncated,
                    )
                    result.truncated = truncated
                    if not text:
                        result.failures[spec.name] += 1
                        raise ProviderBadResponse("empty response")
                    usage = reply.usage_metadata
                    # A model may echo the key: redacted before anything reads the text, so
                    # the next phase's prompt is the same on a rebuild that reads the cache.
                    text = redact(text, self.settings.secrets)
                    result.text = text
                    result.provider = spec
                    if usage:
                        result.input_tokens += usage["input_tokens"]
                        result.output_tokens += usage["output_tokens"]
                    if self.cache is not None and key is not None:
                        # Stored at once: a build that dies later keeps this call.
                        self.cache.put(
                            key,
                            CachedResult(
                                text,
                                result.input_tokens,
                                result.output_tokens,
                                spec.name,
                                spec.model,
                                time.time(),
                            ),
                        )
        finally:
            if isinstance(self.cache, TieredCache) and key is not None:
                self.cache.release(key)  # the in-flight lock: others may look now

    def _charge_shared(self) -> Charge | None:
        """One call from the shared budget (None: there is none); SharedBudgetExceeded if refused.

        A blocking Redis round trip (well under a millisecond on a LAN), made after the slot is
        taken and right before the request: no await stands between the charge and the send, so
        a cancelled step cannot leave a charge whose request never went out.
        """
        if self.shared is None:
            return None
        use = self.metrics.shared_budget
        try:
            charge = self.shared.charge()
        except SharedBudgetExceeded:
            if use is not None:
                use.refused += 1
            raise
        if use is not None:
            use.charged += 1
            use.used_today = charge.used
        return charge

    def _refund_shared(self, step: Step, charge: Charge | None) -> None:
        """Give back a shared charge whose request was never sent."""
        if self.shared is None or charge is None:
            return
        try:
            if self.shared.refund(charge) and self.metrics.shared_budget is not None:
                self.metrics.shared_budget.charged -= 1
        except StateUnavailable as exc:  # the call stays counted: over-counting, never overspend
            hybrid(**_label(step), Event="REFUND_FAILED", Budget=self.shared.name, Why=exc)

    async def _invoke(
        self, model: Any, messages: list[BaseMessage], options: dict[str, Any], spec: ProviderSpec
    ) -> AIMessage:
        try:
            reply = await model.ainvoke(messages, **options)
        except ReportingError:
            raise
        except Exception as exc:
            mapped = to_provider_error(exc, spec.model)
            # A server may echo the key back in its error text: no secret leaves this call.
            mapped.args = (redact(str(mapped), self.settings.secrets),)
            raise mapped from exc
        if not isinstance(reply, AIMessage):
            raise ProviderBadResponse(f"unexpected reply type {type(reply).__name__}")
        return reply

    def _log_retry(self, step: Step, spec: ProviderSpec, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        hybrid(
            **_label(step),
            Event="RETRY",
            Provider=spec.label,
            Attempt=state.attempt_number + 1,
            Wait=f"{wait:.1f}s",
            Error=exc,
        )


def _finish_reason(reply: AIMessage) -> str | None:
    """Why the provider stopped: OpenAI's finish_reason, Ollama's done_reason."""
    meta = reply.response_metadata or {}
    reason = meta.get("finish_reason") or meta.get("done_reason")
    return str(reason) if reason else None


def _content(reply: AIMessage) -> str:
    """The text of a reply, whether content is a string or a list of parts."""
    if isinstance(reply.content, str):
        return reply.content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in reply.content]
    return "".join(parts)
