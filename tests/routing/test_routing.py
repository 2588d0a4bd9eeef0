"""The routing matrix, row by row, and the plan that allocates the cloud budget."""

from __future__ import annotations

import pytest

from reporting.errors import ConfigError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline, SectionType
from reporting.phases import CompilationPhase
from reporting.routing.matrix import resolve_route
from reporting.routing.plan import make_plan
from reporting.routing.roles import Reason, Role, provider_specs
from reporting.settings import load_settings

P = CompilationPhase


@pytest.mark.parametrize(
    ("phase", "section_type", "role"),
    [
        (P.REFINE, SectionType.INTRO, Role.PRIMARY),
        (P.REFINE, SectionType.METHOD, Role.PRIMARY),
        (P.EXPAND, SectionType.INTRO, Role.SECONDARY),
        (P.EXPAND, SectionType.ANALYSIS, Role.SECONDARY),
        (P.DRAFT, SectionType.INTRO, Role.PRIMARY),
        (P.DRAFT, SectionType.CONCLUSION, Role.PRIMARY),
        (P.DRAFT, SectionType.ANALYSIS, Role.PRIMARY),
        (P.DRAFT, SectionType.DISCUSSION, Role.PRIMARY),
        (P.DRAFT, SectionType.RECOMMENDATIONS, Role.PRIMARY),
        (P.DRAFT, SectionType.METHOD, Role.SECONDARY),
        (P.DRAFT, SectionType.IMPLEMENTATION, Role.SECONDARY),
        (P.DRAFT, SectionType.BACKGROUND, Role.SECONDARY),
        (P.DRAFT, SectionType.RESULTS, Role.SECONDARY),
        (P.DRAFT, SectionType.APPENDIX, Role.SECONDARY),
        (P.DRAFT, SectionType.OTHER, Role.SECONDARY),
        (P.ABSTRACT, None, Role.PRIMARY),
    ],
)
def test_hybrid_matrix_rows(phase: P, section_type: SectionType | None, role: Role) -> None:
    hybrid = load_settings(vra_hybrid_mode=True)
    decision = resolve_route(phase, section_type, hybrid)
    assert decision.role is role
    expected = ("openai", "gpt-4o") if role is Role.PRIMARY else ("local", "llama3:8b")
    spec = provider_specs(hybrid)[decision.role]
    assert (spec.name, spec.model) == expected


@pytest.mark.parametrize("section_type", list(SectionType))
@pytest.mark.parametrize("phase", [P.DRAFT, P.EXPAND, P.REFINE])
def test_hybrid_off_sends_everything_to_primary(phase: P, section_type: SectionType) -> None:
    decision = resolve_route(phase, section_type, load_settings())
    assert (decision.role, decision.reason) == (Role.PRIMARY, Reason.HYBRID_OFF)


@pytest.mark.parametrize("hybrid", [True, False])
def test_abstract_goes_to_secondary_when_primary_is_local(hybrid: bool) -> None:
    settings = load_settings(vra_hybrid_mode=hybrid, primary_provider="Local")
    decision = resolve_route(P.ABSTRACT, None, settings)
    assert (decision.role, decision.reason) == (Role.SECONDARY, Reason.ABSTRACT_POLICY)


def test_provider_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("primary_provider", "OpenAI")
    monkeypatch.setenv("SECONDARY_PROVIDER", "OLLAMA")
    settings = load_settings()
    assert (settings.primary_provider, settings.secondary_provider) == ("openai", "ollama")


def test_primary_defaults_to_report_provider_then_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().primary_provider == "openai"
    monkeypatch.setenv("REPORT_PROVIDER", "Local")
    assert load_settings().primary_provider == "local"
    monkeypatch.setenv("PRIMARY_PROVIDER", "openai")
    assert load_settings().primary_provider == "openai"


@pytest.mark.parametrize("variable", ["PRIMARY_PROVIDER", "SECONDARY_PROVIDER", "REPORT_PROVIDER"])
def test_unknown_provider_is_a_config_error(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "watson")
    with pytest.raises(ConfigError, match=f"{variable}: unknown provider 'watson'"):
        load_settings()


def _outline(*types: str) -> Outline:
    sections = [{"title": f"Part {i}", "type": kind} for i, kind in enumerate(types, start=1)]
    return parse_outline({"title": "R", "sections": sections}, "r.yaml")


def test_plan_reserves_the_abstract_before_sections() -> None:
    outline = _outline("intro", "analysis", "conclusion")
    plan = make_plan(outline, load_settings(vra_hybrid_mode=True, max_cloud_calls=3))
    abstract = plan.step(None, P.ABSTRACT)
    assert abstract.role is Role.PRIMARY
    assert plan.cloud_calls == 3
    primary_sections = [s.label for s in plan.steps[:-1] if s.role is Role.PRIMARY]
    assert primary_sections == ["1/DRAFT", "1/REFINE"]
    limited = [s for s in plan.steps if s.reason is Reason.COST_LIMIT]
    assert [s.label for s in limited] == ["2/DRAFT", "2/REFINE", "3/DRAFT", "3/REFINE"]
    assert all(s.role is Role.SECONDARY for s in limited)


def test_plan_with_zero_budget_sends_even_the_abstract_local() -> None:
    plan = make_plan(_outline("intro"), load_settings(vra_hybrid_mode=True, max_cloud_calls=0))
    assert plan.cloud_calls == 0
    assert plan.step(None, P.ABSTRACT).reason is Reason.COST_LIMIT


def test_plan_is_deterministic() -> None:
    outline = _outline("intro", "method", "results", "conclusion")
    settings = load_settings(vra_hybrid_mode=True, max_cloud_calls=4)
    assert make_plan(outline, settings) == make_plan(outline, settings)


def test_unavailable_primary_is_routed_around() -> None:
    # A configured primary (its key is set) that preflight could not reach: a fallback.
    plan = make_plan(
        _outline("intro", "method"),
        load_settings(vra_hybrid_mode=True, openai_api_key="sk-test-key-1234"),
        {Role.PRIMARY: False, Role.SECONDARY: True},
    )
    assert plan.cloud_calls == 0
    assert all(step.role is Role.SECONDARY for step in plan.steps)
    assert {s.reason for s in plan.steps if s.matrix_role is Role.PRIMARY} == {Reason.UNAVAILABLE}
    assert plan.primary_missing is None
    assert plan.baseline_provider == plan.providers[Role.PRIMARY]


@pytest.mark.parametrize("hybrid", [True, False])
def test_no_primary_configured_plans_on_the_secondary(hybrid: bool) -> None:
    # The shipped .env: no OPENAI_API_KEY. Not a fallback: there was never a primary to try.
    plan = make_plan(
        _outline("intro", "method"),
        load_settings(vra_hybrid_mode=hybrid, secondary_provider="embedded"),
        {Role.PRIMARY: False, Role.SECONDARY: True},
    )
    assert plan.cloud_calls == 0
    assert all(step.role is Role.SECONDARY for step in plan.steps)
    primary_steps = [s for s in plan.steps if s.matrix_role is Role.PRIMARY]
    assert primary_steps  # the abstract at least
    assert {s.reason for s in primary_steps} == {Reason.NO_PRIMARY}
    assert {s.rule for s in primary_steps} == {"OPENAI_API_KEY unset → secondary"}
    assert plan.primary_missing == "OPENAI_API_KEY"
    assert plan.baseline_provider is None  # no cloud option: nothing to save against
    assert not plan.available[Role.PRIMARY]  # so no escalation to it either


def test_all_cloud_configuration_over_budget_is_a_config_error() -> None:
    settings = load_settings(secondary_provider="openai", max_cloud_calls=2)
    with pytest.raises(ConfigError, match="MAX_CLOUD_CALLS=2 is too small"):
        make_plan(_outline("intro"), settings)
