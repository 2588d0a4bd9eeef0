"""Properties over random outlines, settings and failure patterns, with langchain-core fakes."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fakes import FakeProviders, Script, compile_outline
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from reporting.build import report_markdown
from reporting.compiler.models import ChatModels
from reporting.errors import ProviderRateLimited, ProviderRejected, ProviderServerError
from reporting.observe.manifest import build_manifest
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline, SectionType
from reporting.phases import CompilationPhase
from reporting.quality.figures import given_figures, text_figures
from reporting.routing.plan import make_plan
from reporting.routing.roles import Reason, Role
from reporting.settings import Settings, load_settings

# The autouse fixture only clears the environment and changes folder once per test: every
# example of a test sees the same clean state, so sharing it across examples is safe.
PROPERTY = hsettings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DATE = dt.date(2026, 11, 23)

# Safe printable text: letters and digits of any script, joined by single spaces (Markdown
# syntax is escaped in headings and covered elsewhere; here the heading must be the title).
WORD = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Lt", "Lo", "Nd"]), min_size=1, max_size=10
)
TITLE = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
TYPE = st.one_of(st.none(), st.sampled_from([kind.value for kind in SectionType]))


@st.composite
def section_data(draw: st.DrawFn, depth: int = 1) -> dict[str, Any]:
    """One section; top-level sections get 0-2 subsections."""
    data: dict[str, Any] = {"title": draw(TITLE), "words": draw(st.integers(20, 400))}
    kind = draw(TYPE)
    if kind is not None:
        data["type"] = kind
    if draw(st.booleans()):
        data["brief"] = draw(TITLE)
    if depth == 1:
        subsections = draw(st.lists(section_data(depth=2), min_size=0, max_size=2))
        if subsections:
            data["sections"] = subsections
    return data


OUTLINE_DATA = st.builds(
    lambda title, sections: {"title": title, "sections": sections},
    TITLE,
    st.lists(section_data(), min_size=1, max_size=6),
)


@dataclass(frozen=True)
class Knobs:
    """The settings a property varies."""

    hybrid: bool
    max_cloud_calls: int
    max_retries: int
    primary: str

    def settings(self) -> Settings:
        return load_settings(
            vra_hybrid_mode=self.hybrid,
            openai_api_key="sk-test-0000",
            max_cloud_calls=self.max_cloud_calls,
            max_retries=self.max_retries,
            primary_provider=self.primary,
            retry_backoff_max=0,
        )


KNOBS = st.builds(
    Knobs,
    hybrid=st.booleans(),
    max_cloud_calls=st.integers(0, 12),
    max_retries=st.integers(0, 3),
    primary=st.sampled_from(["openai", "local"]),
)

# Which calls of the primary fake fail, and how: none, a set of call numbers, or every call.
ERRORS = st.sampled_from(
    [
        ProviderServerError("HTTP 500 server error: boom"),
        ProviderRateLimited("HTTP 429 rate limited: slow down"),
        ProviderRejected("HTTP 400: bad request"),
    ]
)
FAILURES = st.one_of(
    st.just(frozenset[int]()),
    st.frozensets(st.integers(1, 60), max_size=20),
    st.just(frozenset(range(1, 1000))),
)


def expected_headings(data: dict[str, Any]) -> list[str]:
    """`id title` of every section in reading order, numbered independently of the code."""
    headings = []
    for i, section in enumerate(data["sections"], start=1):
        headings.append(f"{i} {section['title']}")
        for j, sub in enumerate(section.get("sections", []), start=1):
            headings.append(f"{i}.{j} {sub['title']}")
    return headings


def markdown_headings(markdown: str) -> list[str]:
    return [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("##")]


async def no_sleep(_seconds: float) -> None:
    """Backoff without waiting."""


def failing_script(failures: frozenset[int], error: Exception) -> Script:
    def script(n: int) -> str | BaseException:
        return error if n in failures else f"openai text {n}."

    return script


def compile_with_fakes(
    outline: Outline, settings: Settings, scripts: dict[str, Script]
) -> tuple[Any, FakeProviders]:
    fakes = FakeProviders(scripts=scripts)
    return compile_outline(outline, settings, ChatModels(settings, fakes), sleep=no_sleep), fakes


def manifest_of(report: Any, settings: Settings, data: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "outline.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        names = {"markdown": "x.md", "docx": "x.docx", "manifest": "x.run.json"}
        return build_manifest(report, settings, path, names)


# --------------------------------------------------------------------------- compile


@PROPERTY
@given(data=OUTLINE_DATA, knobs=KNOBS, failures=FAILURES, error=ERRORS)
def test_compiling_keeps_the_budget_the_headings_and_the_books(
    data: dict[str, Any], knobs: Knobs, failures: frozenset[int], error: Exception
) -> None:
    outline = parse_outline(data, "x.yaml")
    settings = knobs.settings()
    scripts = {"openai": failing_script(failures, error)} if knobs.primary == "openai" else {}
    report, fakes = compile_with_fakes(outline, settings, scripts)

    # The guardrail: every cloud request counted, never more than MAX_CLOUD_CALLS.
    cloud = fakes.calls("openai")
    assert cloud <= knobs.max_cloud_calls
    assert cloud == report.metrics.cloud_calls
    if knobs.primary == "local":
        assert cloud == 0

    # Headings: the outline's, in order, whatever the models wrote or failed to write.
    markdown = report_markdown(report, DATE, settings)
    assert markdown_headings(markdown) == expected_headings(data)
    steps = 3 * len(expected_headings(data)) + 1
    assert len(report.results) == steps
    assert all(result.text for result in report.results)

    # The books: the manifest's requests per provider are the requests the fakes received.
    manifest = manifest_of(report, settings, data)
    metrics = manifest["metrics"]
    assert metrics["cloud_calls"] == cloud
    assert metrics["steps"] == steps
    sent: Counter[str] = Counter()
    for call in manifest["calls"]:
        sent.update(call["requests"])
        assert call["attempts"] == sum(call["requests"].values())
    for provider in ("openai", "local"):
        assert sent[provider] == fakes.calls(provider)
        assert metrics["requests"].get(provider, 0) == fakes.calls(provider)
    assert sum(call["attempts"] for call in manifest["calls"]) == sum(
        fakes.calls(p) for p in ("openai", "local")
    )
    # Every request beyond a provider's first for a step is a retry; a retry counted but not
    # sent (refused by the budget or the breaker) ends in a fallback.
    resent = sum(c["attempts"] - len(c["requests"]) for c in manifest["calls"])
    fallen = metrics["fallbacks"].get("ERROR", 0) + metrics["fallbacks"].get("CIRCUIT_OPEN", 0)
    assert resent <= metrics["retries"] <= resent + fallen


@PROPERTY
@given(data=OUTLINE_DATA, knobs=KNOBS)
def test_without_failures_the_build_follows_the_plan(data: dict[str, Any], knobs: Knobs) -> None:
    outline = parse_outline(data, "x.yaml")
    settings = knobs.settings()
    plan = make_plan(outline, settings)
    report, fakes = compile_with_fakes(outline, settings, {})
    assert [r.provider for r in report.results] == [s.provider for s in plan.steps]
    assert fakes.calls("openai") == plan.cloud_calls == report.metrics.cloud_calls
    assert all(r.fallback in (None, "COST_LIMIT") for r in report.results)
    assert report.metrics.retries == 0
    # The plan of an outline is the same after a compile as before it.
    assert make_plan(outline, settings) == plan


# --------------------------------------------------------------------------- plan


@hsettings(max_examples=40, deadline=None, database=None)
@given(first=OUTLINE_DATA, second=OUTLINE_DATA, knobs=KNOBS)
def test_plan_is_deterministic_and_independent_of_call_order(
    first: dict[str, Any], second: dict[str, Any], knobs: Knobs
) -> None:
    settings = knobs.settings()
    a, b = parse_outline(first, "a.yaml"), parse_outline(second, "b.yaml")
    plan_a = make_plan(a, settings)
    plan_b = make_plan(b, settings)
    assert make_plan(b, settings) == plan_b
    assert make_plan(a, settings) == plan_a
    # A fresh parse of the same data and a fresh read of the same settings change nothing.
    assert make_plan(parse_outline(first, "a.yaml"), knobs.settings()) == plan_a
    assert make_plan(a, settings, {Role.PRIMARY: True, Role.SECONDARY: True}) == plan_a


@hsettings(max_examples=40, deadline=None, database=None)
@given(data=OUTLINE_DATA, knobs=KNOBS)
def test_plan_spends_the_budget_on_the_abstract_then_in_outline_order(
    data: dict[str, Any], knobs: Knobs
) -> None:
    settings = knobs.settings()
    plan = make_plan(parse_outline(data, "x.yaml"), settings)
    assert plan.cloud_calls <= knobs.max_cloud_calls
    steps = list(plan.steps)
    assert steps[-1].phase is CompilationPhase.ABSTRACT
    assert [s.index for s in steps] == list(range(len(steps)))
    if knobs.primary == "local":
        assert plan.cloud_calls == 0
        return
    # Steps the matrix gives the cloud primary, the abstract's first.
    wanted = [steps[-1], *(s for s in steps[:-1] if s.matrix_role is Role.PRIMARY)]
    funded = wanted[: knobs.max_cloud_calls]
    assert [s for s in wanted if s.provider.is_cloud] == funded
    assert all(s.reason is Reason.COST_LIMIT for s in wanted[len(funded) :])
    assert all(s.role is Role.SECONDARY for s in steps if s.matrix_role is Role.SECONDARY)


# --------------------------------------------------------------------------- examples


def _fleet() -> dict[str, Any]:
    return {
        "title": "Fleet",
        "sections": [
            {"title": "Introduction", "brief": "Why."},
            {"title": "Results", "brief": "What."},
            {"title": "Conclusion", "brief": "So."},
        ],
    }


def test_by_provider_requests_are_the_requests_each_provider_received() -> None:
    data = _fleet()
    settings = Knobs(True, 12, 0, "openai").settings()
    scripts: dict[str, Script] = {
        "openai": failing_script(frozenset({1}), ProviderServerError("x"))
    }
    report, fakes = compile_with_fakes(parse_outline(data, "x.yaml"), settings, scripts)
    assert report.metrics.fallbacks["ERROR"] == 1
    by_provider = manifest_of(report, settings, data)["metrics"]["by_provider"]
    assert by_provider["openai"]["requests"] == fakes.calls("openai")
    assert by_provider["local"]["requests"] == fakes.calls("local")


def test_retries_count_only_retries_that_were_sent() -> None:
    data = {"title": "One", "sections": [{"title": "Only"}]}
    settings = Knobs(False, 1, 1, "openai").settings()  # the abstract's call, no spare one
    scripts: dict[str, Script] = {
        "openai": failing_script(frozenset({1}), ProviderServerError("x"))
    }
    report, fakes = compile_with_fakes(parse_outline(data, "x.yaml"), settings, scripts)
    assert fakes.calls("openai") == 1
    assert report.results[-1].fallback == "ERROR"
    assert report.metrics.retries == fakes.calls("openai") - 1


# --------------------------------------------------------------------------- quality gate

FIGURES = st.lists(st.integers(0, 5000).map(str) | st.sampled_from(["12%", "$71k", "2031"]))


def figure_script(figures: list[str], failures: frozenset[int], error: Exception) -> Script:
    """Replies that carry random figures (some invented), failing on the chosen calls."""

    def script(n: int) -> str | BaseException:
        if n in failures:
            return error
        shown = figures[n % len(figures)] if figures else "no"
        return f"The count was {shown} this quarter. Work went on as planned for call {n}."

    return script


def figures_in(text: str) -> set[str]:
    """The figures of a written text, as written."""
    return {figure.text for figure in text_figures(text)}


def given_figures_in(text: str) -> set[str]:
    """The figures of a given text, list and section numbers included, as written."""
    return {figure.text for figure in given_figures(text)}


def strings_of(data: Any) -> list[str]:
    """Every string of an outline's data."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in strings_of(value)]
    if isinstance(data, list):
        return [s for value in data for s in strings_of(value)]
    return []


@PROPERTY
@given(
    data=OUTLINE_DATA,
    knobs=KNOBS,
    figures=FIGURES,
    failures=FAILURES,
    error=ERRORS,
    gate=st.sampled_from(["repair", "strict", "report"]),
    repairs=st.integers(0, 2),
)
def test_every_figure_of_a_final_text_is_given_or_flagged(
    data: dict[str, Any],
    knobs: Knobs,
    figures: list[str],
    failures: frozenset[int],
    error: Exception,
    gate: str,
    repairs: int,
) -> None:
    outline = parse_outline(data, "x.yaml")
    settings = knobs.settings().model_copy(
        update={"quality_gate": gate, "quality_max_repairs": repairs}
    )
    scripts = {
        "openai": figure_script(figures, failures, error),
        "local": figure_script(figures, frozenset(), error),
    }
    report, fakes = compile_with_fakes(outline, settings, scripts)

    # Repairs and escalations stay under the cap, and are in the books.
    assert fakes.calls("openai") == report.metrics.cloud_calls <= knobs.max_cloud_calls
    manifest = manifest_of(report, settings, data)
    sent: Counter[str] = Counter()
    for call in manifest["calls"]:
        sent.update(call["requests"])
    for provider in ("openai", "local"):
        assert sent[provider] == fakes.calls(provider)
    if gate == "report":
        assert manifest["quality"]["repairs"] == 0 and manifest["quality"]["escalations"] == 0

    # Every figure of a final text is in its call's inputs, or listed as unsupported.
    flagged = {
        (item["section"], figure)
        for item in manifest["quality"]["unsupported_figures"]
        for figure in figures_in(item["sentence"])
    }
    given = set().union(*(given_figures_in(text) for text in strings_of(data)))
    # A number word given ("THIRTEEN") supports its digits ("13"): compare plain numbers by value.
    given_values = {
        f.value for text in strings_of(data) for f in given_figures(text) if f.kind == "number"
    }
    for result in report.results:
        if result.step.phase not in (CompilationPhase.REFINE, CompilationPhase.ABSTRACT):
            continue
        for found in text_figures(result.text):
            figure = found.text
            if figure in given or (found.kind == "number" and found.value in given_values):
                continue
            assert (result.step.section_id, figure) in flagged, (figure, result.text)
