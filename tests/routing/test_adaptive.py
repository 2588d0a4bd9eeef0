"""ROUTING_POLICY=adaptive: DRAFT and EXPAND by source relevance and section complexity."""

from __future__ import annotations

import pytest

from reporting.errors import ConfigError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Section
from reporting.phases import CompilationPhase
from reporting.routing.adaptive import adaptive_route, section_complexity
from reporting.routing.plan import make_plan
from reporting.routing.roles import Reason, Role
from reporting.settings import load_settings

P = CompilationPhase
ADAPTIVE = {"vra_hybrid_mode": True, "routing_policy": "adaptive", "_env_file": None}


@pytest.mark.parametrize(
    ("relevance", "complexity", "role", "why"),
    [
        (0.90, 0.20, Role.SECONDARY, "relevance 0.90 ≥ 0.60, complexity 0.20 ≤ 0.50"),
        (0.60, 0.50, Role.SECONDARY, "relevance 0.60 ≥ 0.60, complexity 0.50 ≤ 0.50"),
        (0.59, 0.10, Role.PRIMARY, "relevance 0.59 < 0.60"),
        (0.95, 0.51, Role.PRIMARY, "relevance 0.95, complexity 0.51 > 0.50"),
        (0.0, 0.10, Role.PRIMARY, "relevance 0.00 < 0.60"),
        (None, 0.10, Role.PRIMARY, "no sources"),
    ],
)
@pytest.mark.parametrize("phase", [P.DRAFT, P.EXPAND])
def test_adaptive_table(
    phase: P, relevance: float | None, complexity: float, role: Role, why: str
) -> None:
    decision = adaptive_route(phase, relevance, complexity, load_settings(**ADAPTIVE))
    assert (decision.role, decision.reason) == (role, Reason.ADAPTIVE)
    assert decision.rule == f"{phase.name} {why} → {role.value}"


def test_thresholds_are_settings() -> None:
    strict = load_settings(**ADAPTIVE, adaptive_min_relevance=0.95, adaptive_max_complexity=0.1)
    assert adaptive_route(P.DRAFT, 0.9, 0.05, strict).role is Role.PRIMARY
    assert adaptive_route(P.DRAFT, 0.96, 0.2, strict).role is Role.PRIMARY
    assert adaptive_route(P.DRAFT, 0.96, 0.05, strict).role is Role.SECONDARY


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"title": "Glossary", "words": 20}, 0.06),  # 0.5*0.1 + 0.25*0.02
        ({"title": "Results", "words": 200, "points": ["a", "b"]}, 0.26),
        ({"title": "Recommendations", "words": 1000, "points": list("abcdefgh")}, 0.95),
        ({"title": "Analysis", "words": 5000, "points": list("abcdefghijkl")}, 0.9),
    ],
)
def test_complexity_weighs_type_length_and_points(
    section: dict[str, object], expected: float
) -> None:
    assert section_complexity(Section.model_validate(section)) == expected


OUTLINE = {
    "title": "T",
    "sections": [
        {"title": "Results", "words": 100},
        {"title": "Recommendations", "words": 900, "points": list("abcdefg")},
        {"title": "Appendix", "words": 50},
    ],
}


def _roles(
    settings_overrides: dict[str, object], relevance: dict[str, float | None]
) -> dict[str, str]:
    outline = parse_outline(OUTLINE, "t.yaml")
    plan = make_plan(outline, load_settings(**settings_overrides), relevance=relevance)
    return {step.label: f"{step.role.value}/{step.reason.value}" for step in plan.steps}


def test_adaptive_plan_decides_draft_and_expand_keeps_refine_and_abstract() -> None:
    roles = _roles(ADAPTIVE, {"1": 0.9, "2": 0.9, "3": None})
    assert roles == {
        "1/DRAFT": "secondary/ADAPTIVE",
        "1/EXPAND": "secondary/ADAPTIVE",
        "1/REFINE": "primary/MATRIX",
        "2/DRAFT": "primary/ADAPTIVE",  # complex
        "2/EXPAND": "primary/ADAPTIVE",
        "2/REFINE": "primary/MATRIX",
        "3/DRAFT": "primary/ADAPTIVE",  # no sources
        "3/EXPAND": "primary/ADAPTIVE",
        "3/REFINE": "primary/MATRIX",
        "ABSTRACT": "primary/ABSTRACT_POLICY",
    }


def test_matrix_policy_ignores_relevance() -> None:
    matrix = {"vra_hybrid_mode": True, "_env_file": None}
    assert _roles(matrix, {"1": 0.9}) == _roles(matrix, {"1": 0.1})
    assert _roles(matrix, {})["1/EXPAND"] == "secondary/MATRIX"


def test_hybrid_off_ignores_the_adaptive_policy() -> None:
    roles = _roles({"routing_policy": "adaptive", "_env_file": None}, {"1": 0.99})
    assert set(roles.values()) == {"primary/HYBRID_OFF", "primary/ABSTRACT_POLICY"}


def test_the_budget_still_caps_adaptive_steps() -> None:
    roles = _roles({**ADAPTIVE, "max_cloud_calls": 2}, {})
    assert roles["ABSTRACT"] == "primary/ABSTRACT_POLICY"
    assert list(roles.values()).count("secondary/COST_LIMIT") == 10 - 2


def test_plan_records_the_scores() -> None:
    outline = parse_outline(OUTLINE, "t.yaml")
    plan = make_plan(outline, load_settings(**ADAPTIVE), relevance={"1": 0.8123})
    step = plan.step("1", P.DRAFT)
    assert (step.relevance, step.complexity) == (0.8123, 0.17)  # 0.5*0.3 + 0.25*0.1
    assert plan.step(None, P.ABSTRACT).complexity is None


@pytest.mark.parametrize("value", ["Adaptive", " MATRIX "])
def test_policy_is_case_insensitive(value: str) -> None:
    assert (
        load_settings(routing_policy=value, _env_file=None).routing_policy == value.strip().lower()
    )


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ROUTING_POLICY"):
        load_settings(routing_policy="smart", _env_file=None)
