"""The deterministic checks of issue 14: every bad example it quotes is caught, good texts pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from reporting.compiler.prompts import (
    ABSTRACT_WORDS,
    SectionText,
    abstract_messages,
    section_messages,
)
from reporting.outline.loader import load_outline
from reporting.outline.model import Outline
from reporting.phases import CompilationPhase
from reporting.quality.checks import (
    CITATIONS,
    CITED_FIGURES,
    DUPLICATION,
    ECHO,
    FACTS,
    FORM,
    LEAKS,
    LENGTH,
    CheckResult,
    check_facts,
    check_length,
    length_bounds,
    run_checks,
)
from reporting.quality.given import Given, NamedText
from reporting.sources.read import Chunk

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "outlines"
QUARTERLY = load_outline(EXAMPLES / "quarterly-review.yaml")
OUTAGE = load_outline(EXAMPLES / "storage-outage.yaml")
TIMELINE = (EXAMPLES / "sources" / "storage-outage" / "timeline.md").read_text(encoding="utf-8")
FIRMWARE = (EXAMPLES / "sources" / "storage-outage" / "firmware-review.md").read_text(
    encoding="utf-8"
)
CHUNKS = (
    Chunk("t", "sources/storage-outage/timeline.md", TIMELINE, 0),
    Chunk("f", "sources/storage-outage/firmware-review.md", FIRMWARE, 0),
    Chunk("i", "sources/storage-outage/impact.txt", "About 1,900 customers were affected.", 0),
)


def section_given(
    outline: Outline,
    number: int,
    phase: CompilationPhase,
    previous: str | None = None,
    chunks: tuple[Chunk, ...] = (),
    others: tuple[NamedText, ...] = (),
) -> Given:
    """What the compiler gives section `number` (0-based, reading order) in `phase`."""
    section = list(outline.walk())[number]
    messages = section_messages(phase, outline, section, previous, chunks)
    return Given.for_call(outline, section, phase, previous, chunks, messages, others=others)


def abstract_given(outline: Outline, sections: dict[str, str]) -> Given:
    """What the compiler gives the abstract over these section texts."""
    parts = [SectionText(s.id, s.title, sections.get(s.title, "")) for s in outline.walk()]
    others = tuple(NamedText(title, text) for title, text in sections.items())
    messages = abstract_messages(outline, parts)
    return Given.for_call(
        outline,
        None,
        CompilationPhase.ABSTRACT,
        None,
        (),
        messages,
        others=others,
        target_words=ABSTRACT_WORDS,
    )


def failed(results: tuple[CheckResult, ...]) -> set[str]:
    """Names of the checks that found something."""
    return {result.name for result in results if not result.passed}


def messages(results: tuple[CheckResult, ...], name: str) -> list[str]:
    """The messages of one check."""
    [result] = [r for r in results if r.name == name]
    return [finding.message for finding in result.findings]


def words(count: int, sentence: str) -> str:
    """About `count` words of prose made of one figure-free sentence repeated with variation."""
    parts = sentence.split()
    filler = (parts * (count // len(parts) + 1))[: max(0, count)]
    return " ".join(filler).rstrip(".") + "."


INTRO_EXPAND = section_given(QUARTERLY, 0, CompilationPhase.EXPAND, "- covers the quarter")
INTRO_REFINE = section_given(QUARTERLY, 0, CompilationPhase.REFINE, "The review covers Q3.")

# --- the examples, each caught by the right check --------------------------------------


def test_invented_incident_counts_are_named_against_the_facts() -> None:
    result = check_facts("15 incidents in Q3, down from 18 in Q2", INTRO_EXPAND)
    [finding] = result.findings
    assert finding.message == (
        'The text gives 15 and 18 ("15 incidents in Q3, down from 18 in Q2"); '
        'the facts say 9 and 14 ("9 incidents in Q3, down from 14 in Q2").'
    )
    assert finding.sentence == "15 incidents in Q3, down from 18 in Q2"


def test_a_date_and_a_name_from_nowhere() -> None:
    text = "In December 2021, the system was moved to EJB-8."
    [finding] = check_facts(text, INTRO_EXPAND).findings
    assert "December 2021 and EJB-8" in finding.message
    assert finding.sentence == text
    # The same name, given, is no finding.
    given = section_given(QUARTERLY, 0, CompilationPhase.EXPAND, "Moved to EJB-8 in December 2021.")
    assert check_facts(text, given).passed


def test_an_instruction_that_is_not_the_outlines() -> None:
    text = "The quarter went well. It must write 8 to 10 bullet points on every page."
    results = run_checks(text, abstract_given(QUARTERLY, {"Introduction": "The quarter."}))
    assert LEAKS in failed(results)
    [leak] = messages(results, LEAKS)
    assert '"It must write"' in leak
    assert '"It must write 8 to 10 bullet points on every page."' in leak


def test_the_introduction_is_the_abstract_word_for_word() -> None:
    abstract = (
        "This review covers the card authorization, ledger and settlement services from July "
        "to September 2026. Latency and reliability targets were met, but one regression and "
        "rising data-transfer costs need attention before the holiday peak."
    )
    given = section_given(
        QUARTERLY, 0, CompilationPhase.REFINE, "x", others=(NamedText("Abstract", abstract),)
    )
    [finding] = [
        f for r in run_checks(abstract, given) if r.name == DUPLICATION for f in r.findings
    ]
    assert finding.message.startswith('This paragraph already stands in section "Abstract"')
    # And the abstract that copies the introduction's paragraph is caught from its side too.
    from_abstract = abstract_given(QUARTERLY, {"Introduction": abstract})
    [copied] = messages(run_checks(abstract, from_abstract), DUPLICATION)
    assert copied.startswith('The abstract copies a paragraph of section "Introduction"')


def test_the_prompt_came_back_as_the_conclusion() -> None:
    text = (
        "1. Introduction\n2. Context and Q3 Objectives\n3. Results\n4. Analysis\n"
        "5. Conclusion\n\nRewrite this text to keep only facts, no extra words are needed."
    )
    given = section_given(QUARTERLY, 10, CompilationPhase.REFINE, "The platform is faster.")
    results = run_checks(text, given)
    assert {FORM, LEAKS, LENGTH} <= failed(results)
    assert any("list of the report's section titles" in m for m in messages(results, FORM))
    assert any('"Rewrite this text"' in m for m in messages(results, LEAKS))


def test_section_labels_in_the_abstract() -> None:
    text = (
        "Section 1: Introduction covers the quarter's outcomes for the payments platform. "
        "Section 2: Implementation describes how the team met its latency targets."
    )
    results = run_checks(text, abstract_given(QUARTERLY, {"Introduction": "The quarter."}))
    labels = messages(results, FORM)
    assert len(labels) == 2
    assert '"Section 1:"' in labels[0]
    assert '"Section 2:"' in labels[1]


def test_an_introduction_that_is_a_numbered_list() -> None:
    text = "\n".join(
        f"{n}. The review covers the card authorization, ledger and settlement services."
        for n in range(1, 6)
    )
    results = run_checks(text, INTRO_REFINE)
    assert messages(results, FORM) == [
        "The text is a list, not prose; write it as paragraphs of full sentences."
    ]
    assert FACTS not in failed(results)  # the list's numbering is no figure


def test_a_body_that_is_only_a_source_label() -> None:
    text = "[2] (source: sources/storage-outage/timeline.md)"
    given = section_given(OUTAGE, 1, CompilationPhase.REFINE, "Rollout started.", CHUNKS)
    results = run_checks(text, given)
    assert {LEAKS, LENGTH} <= failed(results)
    assert messages(results, LEAKS)[0].startswith(
        'Remove the prompt\'s words "[2] (source: sources/storage-outage/timeline.md)"'
    )


def test_scaffolding_in_the_middle_of_a_paragraph() -> None:
    text = (
        "The team will test every firmware change on a canary rack first. "
        "[3] (source: sources/storage-outage/timeline.md) Rewrite this draft as polished prose "
        "of 100 words for engineering leadership and customer support leads. Here is a "
        "rewritten version with no additional edits…"
    )
    given = section_given(OUTAGE, 4, CompilationPhase.REFINE, "Test on a canary.", CHUNKS)
    results = run_checks(text, given)
    leaks = " ".join(messages(results, LEAKS))
    for scaffolding in (
        "[3] (source: sources/storage-outage/timeline.md)",
        "Rewrite this draft",
        "Here is a rewritten version",
    ):
        assert f'"{scaffolding}"' in leaks
    assert ECHO in failed(results)  # "as polished prose … for engineering leadership" is the prompt


def test_a_citation_that_makes_a_false_figure_look_sourced() -> None:
    text = "The firmware caused a 90% failure rate [1]."
    given = section_given(OUTAGE, 3, CompilationPhase.REFINE, "Firmware.", CHUNKS)
    results = run_checks(text, given)
    assert messages(results, CITED_FIGURES) == [
        '"The firmware caused a 90% failure rate [1]." gives 90%, which source [1] does not '
        "have; [1] says 6.5%. Cite only what the source says."
    ]
    assert FACTS in failed(results)


def test_a_true_figure_cited_to_the_wrong_source() -> None:
    text = "On-call saw the PUT error rate reach 6.5% [3]."
    given = section_given(OUTAGE, 3, CompilationPhase.REFINE, "Firmware.", CHUNKS)
    results = run_checks(text, given)
    assert FACTS not in failed(results)  # 6.5% is in what was given …
    assert CITED_FIGURES in failed(results)  # … but not in source [3]


def test_a_citation_of_a_source_not_given() -> None:
    given = section_given(OUTAGE, 3, CompilationPhase.REFINE, "Firmware.", CHUNKS)
    [message] = messages(run_checks("The rollout paused [7].", given), CITATIONS)
    assert message == (
        '"The rollout paused [7]." cites [7], but the call was given sources [1] to [3].'
    )


@pytest.mark.parametrize(
    ("phase", "count", "ok"),
    [
        (CompilationPhase.EXPAND, 42, False),
        (CompilationPhase.EXPAND, 75, True),
        (CompilationPhase.EXPAND, 125, True),
        (CompilationPhase.EXPAND, 126, False),
        (CompilationPhase.REFINE, 27, False),
        (CompilationPhase.DRAFT, 40, True),
        (CompilationPhase.DRAFT, 10, False),
        (CompilationPhase.DRAFT, 126, False),
    ],
)
def test_length_within_the_phases_tolerance(phase: CompilationPhase, count: int, ok: bool) -> None:
    given = section_given(QUARTERLY, 0, phase, None if phase is CompilationPhase.DRAFT else "x")
    text = words(count, "The team shipped the change and watched the service closely.")
    assert check_length(text, given).passed is ok


def test_length_messages_are_repair_instructions() -> None:
    text = words(42, "The review covers the quarter and its outcomes for the platform.")
    [finding] = check_length(text, INTRO_EXPAND).findings
    assert finding.message == "Write about 100 words; this has 42."
    assert length_bounds(CompilationPhase.ABSTRACT, 180) == (108, 252)


# --- good texts pass -----------------------------------------------------------------------------

GOOD_INTRO = (
    "This review covers the card authorization, ledger and settlement services from July to "
    "September 2026. The quarter's p99 authorization latency target of 300 ms was met in "
    "September, and there were nine incidents in Q3, down from 14 in Q2. Reliability improved "
    "across all of them, and the team enters the holiday peak in better shape than it "
    "left the spring.\n\n"
    "One latency regression in August and rising data-transfer costs need attention before "
    "the holiday peak. The sections that follow explain both in turn, set out what the "
    "team learned, and give owned actions for the fourth quarter, with the Black Friday peak as "
    "the main constraint."
)


def test_a_good_introduction_passes_every_check() -> None:
    given = section_given(
        QUARTERLY,
        0,
        CompilationPhase.REFINE,
        "The review covers the quarter.",
        others=(NamedText("Results", "Two of three objectives were fully met this quarter."),),
    )
    results = run_checks(GOOD_INTRO, given)
    assert failed(results) == set(), [f.message for r in results for f in r.findings]


@pytest.mark.parametrize(
    "text",
    [
        # List numbering, section numbers, identifiers of the input.
        "Plan:\n\n1. Cover p99 latency in us-east-1 and us-west-2.\n2. Cover Q3 against Q2.",
        "Section 2.1 and §3 explain fraud-scoring model v7, as section 4 shows.",
        # A figure from the previous phase, one written as a word in the brief, a citation.
        "The change reached 77 services, as the draft said.",
        "The review covers July to September 2026 and names three squads.",
        "Transaction volume grew 19 percent to 412 million authorizations.",
        "Cost per 1,000 authorizations fell from $0.212 to $0.189.",
        "Data transfer rose to $71,000 from $28,000, and the outline is dated 9 October 2026.",
    ],
)
def test_no_false_alarm_on_what_was_given(text: str) -> None:
    sections = list(QUARTERLY.walk())
    given = Given(
        phase=CompilationPhase.REFINE,
        report_title=QUARTERLY.title,
        section_title="Everything",
        brief=" ".join(s.brief for s in sections) + " The team has three squads.",
        points=tuple(point for s in sections for point in s.points),
        outline_date="2026-10-09",
        previous="The draft says the change reached 77 services.",
        target_words=100,
        section_titles=tuple(s.title for s in sections),
    )
    result = check_facts(text, given)
    assert result.passed, result.findings


def test_a_good_draft_and_a_good_abstract_pass_form() -> None:
    draft = "\n".join(
        f"- The section explains point {word} of the quarter's review in one full sentence."
        for word in ("one", "two", "three", "four")
    )
    draft_given = section_given(QUARTERLY, 0, CompilationPhase.DRAFT)
    assert FORM not in failed(run_checks(draft, draft_given))
    abstract = GOOD_INTRO
    assert FORM not in failed(run_checks(abstract, abstract_given(QUARTERLY, {})))


def test_prose_as_a_draft_and_a_listed_abstract_fail_form() -> None:
    prose = "The section explains the quarter in prose, not as a plan of bullet points."
    assert FORM in failed(run_checks(prose, section_given(QUARTERLY, 0, CompilationPhase.DRAFT)))
    listed = "**Summary**\n\n- The quarter went well overall for the whole platform team."
    form = messages(run_checks(listed, abstract_given(QUARTERLY, {})), FORM)
    assert any("heading" in m for m in form)
    assert any("list" in m for m in form)


def test_an_empty_text_fails_form_and_length() -> None:
    results = run_checks("", INTRO_EXPAND)
    assert failed(results) == {FORM, LENGTH}


def test_run_checks_runs_every_check_in_order() -> None:
    names = [result.name for result in run_checks(GOOD_INTRO, INTRO_EXPAND)]
    assert names == [FACTS, CITED_FIGURES, CITATIONS, ECHO, LEAKS, FORM, LENGTH, DUPLICATION]


def test_the_abstract_may_use_the_sections_figures() -> None:
    sections = {"Results": "Deploys rose from 18 to 31 per week; MTTR fell to 47 minutes."}
    text = "Deploys rose from 18 to 31 per week, and restores took 47 minutes on average."
    assert check_facts(text, abstract_given(QUARTERLY, sections)).passed
    # A section is not given the other sections' texts: their figures are not its facts.
    given = section_given(QUARTERLY, 0, CompilationPhase.REFINE, "x", others=())
    assert not check_facts(text, given).passed


@settings(max_examples=60, deadline=None)
@for_all(
    st.lists(st.sampled_from(sorted(set(QUARTERLY.sections[2].sections[0].points))), min_size=1)
)
def test_figures_copied_from_the_points_never_fail_facts(points: list[str]) -> None:
    given = section_given(QUARTERLY, 3, CompilationPhase.EXPAND, "- plan")
    text = " ".join(f"The team reports that {point}." for point in points)
    assert check_facts(text, given).passed
