"""The facts check counts a section's query figures as given, and no other figure."""

from __future__ import annotations

from pathlib import Path

from reporting.compiler.prompts import section_messages
from reporting.data.stage import prepare_data
from reporting.outline.loader import load_outline
from reporting.phases import CompilationPhase
from reporting.quality.checks import run_checks
from reporting.quality.given import Given

KPIS = Path(__file__).resolve().parents[2] / "examples" / "outlines" / "payments-kpis.yaml"


def _facts_findings(text: str) -> list[str]:
    outline = load_outline(KPIS)
    prepare_data(outline, KPIS, {})
    volume = outline.sections[1]
    phase = CompilationPhase.REFINE
    messages = section_messages(phase, outline, volume, "A draft.", [])
    assert "2,041,557" in str(messages[-1].content)  # the prompt gives the query's figures
    given = Given.for_call(outline, volume, phase, "A draft.", [], messages)
    [facts] = [check for check in run_checks(text, given) if check.name == "facts"]
    return [finding.message for finding in facts.findings]


def test_figures_of_the_query_and_those_computed_from_it_are_given() -> None:
    text = (
        "Authorizations rose from 2,041,557 in July to 2,091,868 in September, up 2.5%, "
        "a change of 50,311. The p99 latency peaked at 241 ms in 2026-08 and fell to 177 ms."
    )
    assert _facts_findings(text) == []


def test_a_figure_the_data_does_not_hold_is_a_finding() -> None:
    findings = _facts_findings("Authorizations rose 7.4% to 2,300,000 in September.")
    assert any("7.4%" in message for message in findings)
    assert any("2,300,000" in message for message in findings)
