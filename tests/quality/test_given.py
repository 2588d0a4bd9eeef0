"""What a call was given, made from the compiler's own inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from reporting.compiler.prompts import section_messages
from reporting.outline.loader import load_outline
from reporting.phases import CompilationPhase
from reporting.quality.given import Given, NamedText, message_text, word_grams
from reporting.sources.read import Chunk

OUTLINE = load_outline(
    Path(__file__).resolve().parents[2] / "examples" / "outlines" / "quarterly-review.yaml"
)
INTRO = OUTLINE.sections[0]
CHUNK = Chunk("c1", "notes.md", "Deploys rose to 31 per week.", 0)


def test_for_call_takes_the_outline_section_sources_and_prompt() -> None:
    messages = section_messages(CompilationPhase.EXPAND, OUTLINE, INTRO, "- plan", [CHUNK])
    given = Given.for_call(OUTLINE, INTRO, CompilationPhase.EXPAND, "- plan", [CHUNK], messages)
    assert given.report_title == OUTLINE.title
    assert given.section_title == "Introduction"
    assert given.points == tuple(INTRO.points)
    assert given.outline_date == "2026-10-09"
    assert given.chunks == ("Deploys rose to 31 per week.",)
    assert given.previous == "- plan"
    assert given.target_words == 100
    assert "Follow this plan" in given.prompt
    assert "Results" in given.section_titles


def test_the_abstract_needs_its_target_and_takes_the_sections_as_facts() -> None:
    with pytest.raises(ValueError, match="target words"):
        Given.for_call(OUTLINE, None, CompilationPhase.ABSTRACT, None, [], [])
    others = (NamedText("Results", "Deploys rose to 31 per week."),)
    abstract = Given.for_call(
        OUTLINE, None, CompilationPhase.ABSTRACT, None, [], [], others=others, target_words=180
    )
    assert "Deploys rose to 31 per week." in abstract.facts
    section = Given.for_call(OUTLINE, INTRO, CompilationPhase.REFINE, "x", [], [], others=others)
    assert "Deploys rose to 31 per week." not in section.facts


def test_instructions_are_the_prompts_word_runs_the_facts_do_not_hold() -> None:
    given = Given(
        phase=CompilationPhase.REFINE,
        report_title="Fleet Review",
        brief="Explain the fleet rollout in detail.",
        prompt="Rewrite this draft as polished prose. Explain the fleet rollout in detail.",
    )
    assert "rewrite this draft as" in given.instruction_grams
    assert "explain the fleet rollout" not in given.instruction_grams
    assert given.instruction_grams is given.instruction_grams  # built once


def test_message_text_reads_string_and_part_contents() -> None:
    assert message_text(SystemMessage("plain")) == "plain"
    parts = HumanMessage(content=[{"type": "text", "text": "a"}, "b"])
    assert message_text(parts) == "a\nb"


def test_word_grams_need_a_content_word() -> None:
    assert word_grams("and then it was", 4) == set()
    assert word_grams("the rollout was paused", 4) == {"the rollout was paused"}


def test_a_sections_unsupported_figure_supports_nothing_in_the_abstract_only_its_own() -> None:
    from reporting.compiler.execute import abstract_inputs
    from reporting.outline.loader import parse_outline
    from reporting.quality.checks import check_facts

    outline = parse_outline(
        {
            "title": "Platform Review",
            "sections": [
                {"title": "Costs", "brief": "What we spent."},
                {"title": "Services", "brief": "What runs.", "points": ["40 services run"]},
            ],
        },
        "x.yaml",
    )
    bodies = {"1": "Costs rose for 40 teams in the year.", "2": "Today 40 services run here."}
    abstract = "Today 40 services run on the platform, and costs rose."
    # Section 1's 40 was invented: it supports nothing, but section 2's own 40 still does.
    _, given = abstract_inputs(outline, bodies, untrusted={"1": frozenset({"40"})})
    assert check_facts(abstract, given).passed
    _, given = abstract_inputs(
        outline, bodies, untrusted={"1": frozenset({"40"}), "2": frozenset({"40"})}
    )
    assert not check_facts(abstract, given).passed
