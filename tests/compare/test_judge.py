"""Judge prompts, reply parsing, and the position-bias-cancelling combination of two orders."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from reporting.compare.judge import Verdict, combine, judge_messages, parse_choice
from reporting.phases import CompilationPhase

TEXT_A = "Alpha text: the primary's answer about ingestion."
TEXT_B = "Beta text: the secondary's answer about ingestion."


def _user(phase: CompilationPhase, **overrides: str) -> str:
    args = {"title": "Introduction", "brief": "Why the platform was rebuilt."}
    args.update(overrides)
    messages = judge_messages(phase, args["title"], args["brief"], 120, TEXT_A, TEXT_B)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage]
    content = messages[1].content
    assert isinstance(content, str)
    return content


@pytest.mark.parametrize("phase", list(CompilationPhase))
def test_prompt_holds_both_texts_in_order(phase: CompilationPhase) -> None:
    user = _user(phase)
    assert user.count(TEXT_A) == 1
    assert user.count(TEXT_B) == 1
    assert user.index("TEXT A") < user.index(TEXT_A) < user.index("TEXT B") < user.index(TEXT_B)
    assert "Introduction" in user
    assert "Why the platform was rebuilt." in user
    assert "exactly one letter, A or B" in user


def test_swapped_texts_swap_places() -> None:
    m = judge_messages(CompilationPhase.EXPAND, "T", "", 100, TEXT_B, TEXT_A)
    user = str(m[1].content)
    assert user.index(TEXT_B) < user.index(TEXT_A)


@pytest.mark.parametrize(
    ("phase", "job"),
    [
        (CompilationPhase.DRAFT, "bullet points"),
        (CompilationPhase.EXPAND, "full prose"),
        (CompilationPhase.REFINE, "polish"),
        (CompilationPhase.ABSTRACT, "abstract"),
    ],
)
def test_prompt_names_the_phase_job(phase: CompilationPhase, job: str) -> None:
    user = _user(phase)
    assert job in user
    others = {"bullet points", "full prose", "polish"} - {job}
    assert not any(other in user for other in others)


@pytest.mark.parametrize("phase", [CompilationPhase.EXPAND, CompilationPhase.REFINE])
def test_prose_phases_state_the_target_words(phase: CompilationPhase) -> None:
    assert "about 120 words" in _user(phase)


def test_system_message_asks_for_one_letter() -> None:
    system = judge_messages(CompilationPhase.REFINE, "T", "B", 50, "x", "y")[0]
    assert "exactly one letter, A or B" in str(system.content)


@pytest.mark.parametrize(
    "hostile",
    ["{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}", "{{ ''.__class__ }}", "{# c #}"],
)
def test_outline_and_model_text_are_not_template_evaluated(hostile: str) -> None:
    messages = judge_messages(
        CompilationPhase.EXPAND, f"Title {hostile}", f"Brief {hostile}", 80, hostile, hostile
    )
    user = str(messages[1].content)
    assert f"Title {hostile}" in user
    assert f"Brief {hostile}" in user
    assert user.count(hostile) == 4
    assert "49" not in user
    assert "looploop" not in user


def test_empty_brief_leaves_no_dangling_sentence() -> None:
    user = _user(CompilationPhase.EXPAND, brief="")
    assert "must say this:" not in user


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("A", "A"),
        ("B", "B"),
        ("b", "B"),
        ("**B**", "B"),
        ("`A`", "A"),
        ("(A)", "A"),
        ('"B"', "B"),
        ("A.", "A"),
        ("B\nIt covers the brief.", "B"),
        ("Answer: A", "A"),
        ("**Answer:** B", "B"),
        ("Verdict - a", "A"),
        ("The answer is **B**.", "B"),
        ("Text B is better", "B"),
        ("I prefer text a.", "A"),
        ("Option A", "A"),
        ("B's plan covers more.", "B"),
        # The letter first, then a reason naming the other text on the same or a later line.
        ("A. Text B repeats itself.", "A"),
        ("A\nText B repeats itself.", "A"),
        # No letter on the first line: the whole reply decides.
        ("Having read both.\nText A is clearer.", "A"),
        ("<think>A or B? Hmm.</think>\nB", "B"),
        # A leading letter as the subject of a verdict: "A is better than B".
        ("A is better than B.", "A"),
        ("B wins.", "B"),
        ("b wins", "B"),
        ("A was clearer than B.", "A"),
        ("B clearly wins, A is fine too.", "B"),
        ("A is better, though B is not bad.", "A"),
        ("**Answer:** B is the better text.", "B"),
        # An explicit preference names the letter even when the reason names the other.
        ("I would go with Text B because A rambles.", "B"),
        ("I'd go with B.", "B"),
        ("I choose A over B.", "A"),
        ("I chose option b; A repeats itself.", "B"),
        ("I prefer **B**, as A misses the brief.", "B"),
        ("I pick b.", "B"),
        ("Voted for A, B is too long.", "A"),
        ("I select response A.", "A"),
        ("I wouldn't choose A; I'd go with B.", "B"),
        ("Having read both.\nI would go with Text B because A rambles.", "B"),
        ("I prefer a shorter text, so B.", "B"),  # "prefer a" is an article, not a choice
        # Both letters, or neither: no choice.
        ("Both A and B are good.", None),
        ("A or B", None),
        ("Text A and text B tie.", None),
        ("Neither", None),
        ("I cannot decide.", None),
        ("", None),
        ("   \n  ", None),
        ("a clear tie", None),
        ("Both are fine.", None),
        ("Neither A nor B.", None),
        ("A and B are equal.", None),
        # A verdict against the leading letter, or a tie, is no choice.
        ("A is worse than B.", None),
        ("A doesn't follow the brief.", None),
        ("B is as good as A.", None),
        ("A is tied with B.", None),
        # A refused preference, or one naming both letters, is no choice.
        ("I would not pick Text A.", None),
        ("I'd pick A or B.", None),
        ("I chose A, but I'd go with B next time.", None),
    ],
)
def test_parse_choice(reply: str, expected: Literal["A", "B"] | None) -> None:
    assert parse_choice(reply) == expected


Choice = Literal["A", "B"] | None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # First order: A = primary, B = secondary. Second order: A = secondary, B = primary.
        ("A", "B", Verdict.PRIMARY),
        ("B", "A", Verdict.SECONDARY),
        ("A", "A", Verdict.TIE),  # always the first position: position bias
        ("B", "B", Verdict.TIE),  # always the second position: position bias
        # No letter in either order is no verdict, never a tie.
        ("A", None, None),
        ("B", None, None),
        (None, "A", None),
        (None, "B", None),
        (None, None, None),
    ],
)
def test_combine_all_nine(first: Choice, second: Choice, expected: Verdict | None) -> None:
    assert combine(first, second) is expected


def test_a_judge_that_cannot_decide_gives_no_verdict() -> None:
    reply = "I cannot decide; both have merits."
    assert combine(parse_choice(reply), parse_choice(reply)) is None


def test_verdict_values() -> None:
    assert [v.value for v in Verdict] == ["primary", "secondary", "tie"]


def test_judge_prompt_carries_the_sources_when_given() -> None:
    bare = judge_messages(CompilationPhase.EXPAND, "Timeline", "When", 100, "one", "two")
    grounded = judge_messages(
        CompilationPhase.EXPAND, "Timeline", "When", 100, "one", "two", "[1] (source: a.md)\nFact."
    )
    assert "sources" not in str(bare[1].content)
    user = str(grounded[1].content)
    assert "[1] (source: a.md)\nFact." in user
    assert user.index("Fact.") < user.index("<<<TEXT A>>>")
    assert "states the sources' facts correctly" in user
