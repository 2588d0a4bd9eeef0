"""Plan execution with langchain-core fake chat models: routing, guardrail, fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fakes import EVERYONE, FakeProviders, compile_outline

from reporting.build import build_report
from reporting.compiler.execute import CompiledReport
from reporting.compiler.models import ChatModels
from reporting.errors import (
    ConfigError,
    GenerationError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderServerError,
)
from reporting.outline.loader import load_outline
from reporting.outline.model import Outline
from reporting.routing.plan import make_plan
from reporting.routing.roles import Role
from reporting.settings import Settings, load_settings

HYBRID = {"vra_hybrid_mode": True, "openai_api_key": "sk-test-0000", "retry_backoff_max": 0}


def _compile(
    settings: Settings, fakes: FakeProviders, outline: Outline, sleeps: list[float] | None = None
) -> CompiledReport:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return compile_outline(outline, settings, ChatModels(settings, fakes), sleep=sleep)


def test_every_step_goes_where_the_plan_says(outline_file: Path) -> None:
    settings = load_settings(**HYBRID)
    fakes = FakeProviders()
    outline = load_outline(outline_file)
    plan = make_plan(outline, settings)
    report = _compile(settings, fakes, outline)
    assert [r.provider.name for r in report.results] == [s.provider.name for s in plan.steps]
    assert fakes.calls("openai") == plan.cloud_calls == report.metrics.cloud_calls
    assert fakes.calls("local") == len(plan.steps) - plan.cloud_calls
    assert all(r.fallback is None for r in report.results)


def test_sections_chain_draft_expand_refine(outline_file: Path) -> None:
    settings = load_settings(**HYBRID)
    report = _compile(settings, FakeProviders(), load_outline(outline_file))
    assert report.body("1").startswith("openai text")  # REFINE is the primary's
    assert report.abstract.startswith("openai text")
    assert len(report.results) == 9 * 3 + 1


def test_cloud_calls_never_exceed_the_limit_and_abstract_is_primary(outline_file: Path) -> None:
    settings = load_settings(**HYBRID, max_cloud_calls=3)
    fakes = FakeProviders()
    report = _compile(settings, fakes, load_outline(outline_file))
    assert fakes.calls("openai") == 3
    assert report.results[-1].provider.role is Role.PRIMARY
    assert report.metrics.fallbacks["COST_LIMIT"] > 0


def test_retries_count_as_cloud_calls_and_stop_at_the_limit(outline_file: Path) -> None:
    # Every primary call fails with a retryable error: retries may only use spare calls.
    settings = load_settings(**HYBRID, max_cloud_calls=5, max_retries=2)
    fakes = FakeProviders(scripts={"openai": lambda n: ProviderServerError("HTTP 500")})
    report = _compile(settings, fakes, load_outline(outline_file))
    assert fakes.calls("openai") <= 5
    assert report.metrics.cloud_calls == fakes.calls("openai")
    assert all(r.provider.role is Role.SECONDARY for r in report.results)


def test_failing_primary_falls_back_and_opens_the_breaker(
    outline_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(**HYBRID, max_retries=1, primary_max_concurrency=1)
    fakes = FakeProviders(scripts={"openai": lambda n: ProviderServerError("HTTP 500 boom")})
    caplog.set_level(logging.INFO, logger="reporting")
    report = _compile(settings, fakes, load_outline(outline_file))
    # Steps already queued for the primary when it failed still try; then the breaker holds.
    assert report.metrics.circuit_open
    assert report.metrics.fallbacks["ERROR"] >= 3
    assert report.metrics.fallbacks["CIRCUIT_OPEN"] >= 1
    primary_steps = report.plan.cloud_calls
    assert report.metrics.fallbacks["ERROR"] + report.metrics.fallbacks["CIRCUIT_OPEN"] == (
        primary_steps
    )
    assert fakes.calls("openai") == report.metrics.cloud_calls < primary_steps
    assert all(r.provider.role is Role.SECONDARY for r in report.results)
    assert "Event=FALLBACK | Reason=ERROR | From=PRIMARY | To=SECONDARY | Error=HTTP 500" in (
        caplog.text
    )
    assert "Event=CIRCUIT_OPEN" in caplog.text


def test_non_retryable_errors_are_not_retried(outline_file: Path) -> None:
    settings = load_settings(**HYBRID, max_retries=2, max_cloud_calls=50, primary_max_concurrency=1)
    fakes = FakeProviders(
        scripts={"openai": lambda n: ProviderRejected("HTTP 404: model 'gpt-x' not found")}
    )
    report = _compile(settings, fakes, load_outline(outline_file))
    assert fakes.calls("openai") == 3  # one per step until the breaker opens
    assert report.metrics.retries == 0


def test_breaker_under_concurrency_stops_after_the_calls_in_flight(outline_file: Path) -> None:
    settings = load_settings(**HYBRID, max_retries=0, primary_max_concurrency=4)
    fakes = FakeProviders(scripts={"openai": lambda n: ProviderServerError("HTTP 500")})
    report = _compile(settings, fakes, load_outline(outline_file))
    assert report.metrics.circuit_open
    assert 3 <= fakes.calls("openai") <= 3 + 4 - 1


def test_retry_after_is_honoured(outline_file: Path) -> None:
    settings = load_settings(**{**HYBRID, "retry_backoff_max": 5, "max_cloud_calls": 20})

    def flaky(n: int) -> str | BaseException:
        return ProviderRateLimited("HTTP 429", retry_after=2) if n == 1 else "openai ok."

    sleeps: list[float] = []
    fakes = FakeProviders(scripts={"openai": flaky})
    report = _compile(settings, fakes, load_outline(outline_file), sleeps)
    assert sleeps == [2]
    assert report.metrics.retries == 1
    assert report.results[0].attempts == 2


def test_retry_after_longer_than_the_cap_falls_back_at_once(outline_file: Path) -> None:
    settings = load_settings(**{**HYBRID, "retry_backoff_max": 1})

    def limited(n: int) -> str | BaseException:
        return ProviderRateLimited("HTTP 429", retry_after=60) if n == 1 else "openai ok."

    fakes = FakeProviders(scripts={"openai": limited})
    report = _compile(settings, fakes, load_outline(outline_file))
    assert report.results[0].fallback == "ERROR"
    assert report.results[0].provider.role is Role.SECONDARY


def test_both_failing_raises_and_writes_nothing(
    outline_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(**HYBRID, max_retries=0)
    fakes = FakeProviders(
        scripts={
            "openai": lambda n: ProviderServerError("HTTP 500"),
            "local": lambda n: ProviderServerError("HTTP 503"),
        }
    )
    out = tmp_path / "out"
    caplog.set_level(logging.INFO, logger="reporting")
    with pytest.raises(GenerationError, match="failed"):
        build_report(
            outline_file,
            out,
            settings,
            models=ChatModels(settings, fakes),
            available=EVERYONE,
            use_cache=False,
        )
    assert not out.exists() or not any(out.iterdir())
    assert "Event=FALLBACK_FAILED" in caplog.text
    assert "Event=FAILED" not in caplog.text


def test_missing_api_key_is_a_config_error_before_any_call(outline_file: Path) -> None:
    settings = load_settings(vra_hybrid_mode=True)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        compile_outline(load_outline(outline_file), settings, ChatModels(settings))


def test_model_headings_are_demoted(outline_file: Path) -> None:
    settings = load_settings(**HYBRID)
    fakes = FakeProviders(
        scripts={"openai": lambda n: "# Introduction\n\n## My own heading\n\nBody text."}
    )
    report = _compile(settings, fakes, load_outline(outline_file))
    body = report.body("1")
    assert "#" not in body
    assert body == "**My own heading**\n\nBody text."


def test_a_looping_model_reaches_the_reader_once_and_the_loop_is_counted(
    outline_file: Path,
) -> None:
    settings = load_settings(**HYBRID)
    loop = "The queue drains at noon every day. " * 4 + "Then traffic falls."
    fakes = FakeProviders({"openai": lambda n: loop, "local": lambda n: loop})
    report = _compile(settings, fakes, load_outline(outline_file))
    assert report.body("1") == "The queue drains at noon every day. Then traffic falls."
    assert all(result.repeats_removed == 3 for result in report.results)


def test_a_capped_cloud_secondary_fails_the_step_with_both_causes(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("title: T\nsections:\n  - title: Introduction\n")
    settings = load_settings(
        **HYBRID,
        secondary_provider="openai",
        secondary_model="gpt-4o-mini",
        max_cloud_calls=4,
        max_retries=0,
    )
    fakes = FakeProviders({"openai": lambda n: ProviderServerError("HTTP 500 server error")})
    with pytest.raises(GenerationError) as failure:
        _compile(settings, fakes, load_outline(path))
    message = str(failure.value)
    assert "HTTP 500 server error" in message and "MAX_CLOUD_CALLS=4 reached" in message
