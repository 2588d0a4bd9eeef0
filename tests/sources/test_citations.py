"""Citations: prompt context, removal of invented citations, and report-wide renumbering."""

from __future__ import annotations

import pytest

from reporting.compiler.prompts import section_messages
from reporting.outline.loader import parse_outline
from reporting.phases import CompilationPhase
from reporting.sources.citations import (
    CitationRegistry,
    Reference,
    attribute,
    check_citations,
    format_context,
)
from reporting.sources.read import Chunk, chunk_id


def chunk(source: str, text: str) -> Chunk:
    """A chunk with its real stable id."""
    return Chunk(chunk_id(source, text), source, text, 0)


A = chunk(
    "a.md", "Alpha describes the ingestion pipeline and its hourly batch jobs in detail today."
)
B = chunk("b.pdf", "Beta covers peak load.")
C = chunk("notes/c.txt", 'Gamma says "quoted" things.')


def test_format_context_numbers_chunks_with_sources() -> None:
    assert format_context([(A, 0.9), (B, 0.5)]) == (
        f"[1] (source: a.md)\n{A.text}\n\n[2] (source: b.pdf)\n{B.text}"
    )
    assert format_context([C]) == f"[1] (source: notes/c.txt)\n{C.text}"
    assert format_context([]) == ""


@pytest.mark.parametrize(
    ("text", "clean", "cited", "removed"),
    [
        ("Fact [1].", "Fact [1].", [1], 0),
        ("Fact [4].", "Fact.", [], 1),
        ("Fact [0], and more [2].", "Fact, and more [2].", [2], 1),
        ("One [1, 3] two [3, 9].", "One [1, 3] two [3].", [1, 3], 1),
        ("One [2][3] two [3][7].", "One [2][3] two [3].", [2, 3], 1),
        ("A [7][8] b [9] c.", "A b c.", [], 3),
        ("[5] Starts here.\nNext [1]", "Starts here.\nNext [1]", [1], 1),
        ("Lead [9] [2] end.", "Lead [2] end.", [2], 1),
        # A citation written as a link is still a citation, checked, and loses the link.
        ("A link [1](http://x) cites.", "A link [1] cites.", [1], 0),
        ("See [99](http://x) too.", "See too.", [], 1),
        ("A range [1-3] is three.", "A range [1, 2, 3] is three.", [1, 2, 3], 0),
        ("A wide range [1-99] cites nothing.", "A wide range cites nothing.", [], 1),
        ("Backwards [3-1] too.", "Backwards too.", [], 1),
        ("A footnote [^1] goes.\n\n[^1]: Its text.", "A footnote goes.\n\n", [], 1),
        ("A link [words](http://x) stays.", "A link [words](http://x) stays.", [], 0),
        (
            "[4]: http://x is a reference definition",
            "[4]: http://x is a reference definition",
            [],
            0,
        ),
        # Mid-line, "[4]:" is a citation followed by a colon.
        ("As shown in [4]: the rollout.", "As shown in: the rollout.", [], 1),
    ],
)
def test_check_citations(text: str, clean: str, cited: list[int], removed: int) -> None:
    assert check_citations(text, given=3) == (clean, cited, removed)


def test_removed_citations_leave_no_double_spaces_or_space_before_punctuation() -> None:
    clean, _, removed = check_citations("X [9] is true [8] , y [7] ; z [6]!", given=2)
    assert removed == 4
    assert "  " not in clean and " ," not in clean and " ;" not in clean and " !" not in clean
    assert clean == "X is true, y; z!"


def test_registry_renumbers_across_sections_by_chunk() -> None:
    registry = CitationRegistry()
    first = registry.register("1", "Intro [2] then [1]. Fake [5].", [A, B])
    second = registry.register("2", "Peak [1, 2] again [3][2].", [C, B, A])
    assert first == "Intro [1] then [2]. Fake."
    # section 2's [1]=C is new (3), [2]=B is global 1, [3]=A is global 2
    assert second == "Peak [1, 3] again [2][1]."
    assert registry.cited == [B, A, C]
    assert registry.removed == {"1": 1, "2": 0}
    with pytest.raises(ValueError, match="already registered"):
        registry.register("1", "again", [A])


def test_references_list_numbers_sources_and_quotes() -> None:
    registry = CitationRegistry()
    assert registry.references() == []
    registry.register("s", "See [2] and [1].", [A, C])
    assert registry.references() == [
        Reference(1, "notes/c.txt", "Gamma says 'quoted' things.", C.id),
        Reference(
            2,
            "a.md",
            "Alpha describes the ingestion pipeline and its hourly batch jobs in detail…",
            A.id,
        ),
    ]
    assert registry.by_section == {"s": [1, 2]}
    assert registry.number_of(A.id) == 2


def test_code_is_not_mistaken_for_citations() -> None:
    text = "Use `rows[2]` here [1]. Bad [7].\n\n```\nvalues[3] = 0\n```\nEnd [2]."
    clean, cited, removed = check_citations(text, 1)
    assert clean == "Use `rows[2]` here [1]. Bad.\n\n```\nvalues[3] = 0\n```\nEnd."
    assert (cited, removed) == ([1], 2)


def test_prompts_carry_numbered_sources_only_when_given() -> None:
    outline = parse_outline({"title": "T", "sections": [{"title": "Intro"}]}, "t.yaml")
    section = next(outline.walk())
    for phase in (CompilationPhase.DRAFT, CompilationPhase.EXPAND, CompilationPhase.REFINE):
        bare = str(section_messages(phase, outline, section, "text")[1].content)
        grounded = str(section_messages(phase, outline, section, "text", [A, C])[1].content)
        assert "[1]" not in bare and "sources" not in bare
        assert grounded.startswith("Numbered sources:\n\n[1] (source: a.md)\nAlpha describes")
        assert "[2] (source: notes/c.txt)" in grounded
        assert "cite only the number" in grounded


LATENCY = chunk(
    "timeline.md", "At 07:14 UTC the PUT latency of the bucket tier rose to 2.4 seconds."
)
TICKETS = chunk(
    "impact.txt", "Customer impact: 1,840 customers failed uploads; support got 312 tickets."
)


@pytest.mark.parametrize(
    ("text", "expected", "added"),
    [
        (
            "The PUT latency of the bucket tier rose to 2.4 seconds.",
            "The PUT latency of the bucket tier rose to 2.4 seconds [1].",
            1,
        ),
        (
            "Support got 312 tickets from 1,840 customers with failed uploads!",
            "Support got 312 tickets from 1,840 customers with failed uploads [2]!",
            1,
        ),
        # Already cited, unsupported, or too short: left alone.
        ("Latency of the bucket tier rose [2].", "Latency of the bucket tier rose [2].", 0),
        (
            "The team enjoyed the offsite and the pasta.",
            "The team enjoyed the offsite and the pasta.",
            0,
        ),
        ("Latency rose.", "Latency rose.", 0),
        # Lists and code are not prose.
        ("- PUT latency of the bucket tier rose", "- PUT latency of the bucket tier rose", 0),
        (
            "```\nPUT latency of the bucket tier rose\n```",
            "```\nPUT latency of the bucket tier rose\n```",
            0,
        ),
    ],
)
def test_attribution_cites_sentences_that_restate_one_chunk(
    text: str, expected: str, added: int
) -> None:
    assert attribute(text, [LATENCY, TICKETS]) == (expected, added)


def test_attribution_needs_chunks_and_only_cites_what_was_given() -> None:
    sentence = "The PUT latency of the bucket tier rose to 2.4 seconds."
    assert attribute(sentence, []) == (sentence, 0)
    cited, added = attribute(sentence + " " + sentence.replace("PUT", "GET"), [LATENCY])
    assert added == 2 and check_citations(cited, 1)[2] == 0


def test_attribution_needs_the_sentence_numbers_in_the_chunk() -> None:
    wrong = "The PUT latency of the bucket tier rose to 3.1 seconds at 07:14 UTC."
    right = "The PUT latency of the bucket tier rose to 2.4 seconds at 07:14 UTC."
    assert attribute(wrong, [LATENCY]) == (wrong, 0)
    assert attribute(right, [LATENCY]) == (right[:-1] + " [1].", 1)


@pytest.mark.parametrize(
    ("text", "given", "clean", "removed"),
    [
        (
            "~~~python\nvalues = arr[1]\n~~~\n\nCites [9].",
            1,
            "~~~python\nvalues = arr[1]\n~~~\n\nCites.",
            1,
        ),
        ("Text.\n\n    x = arr[7]\n\nMore [1].", 1, "Text.\n\n    x = arr[7]\n\nMore [1].", 0),
        ("In [2023] the rate fell.", 0, "In [2023] the rate fell.", 0),
        (
            "Arabic-Indic [\u0661] is not a citation.",
            1,
            "Arabic-Indic [\u0661] is not a citation.",
            0,
        ),
        ("Huge [" + "9" * 5000 + "] stays text.", 1, "Huge [" + "9" * 5000 + "] stays text.", 0),
        ("A list:\n\n- item [9]\n- item [1]", 1, "A list:\n\n- item\n- item [1]", 1),
    ],
)
def test_citations_in_code_and_odd_brackets(
    text: str, given: int, clean: str, removed: int
) -> None:
    assert check_citations(text, given)[0] == clean
    assert check_citations(text, given)[2] == removed


def test_renumbering_leaves_code_alone() -> None:
    registry = CitationRegistry()
    assert registry.register("1", "See [1].", [A]) == "See [1]."
    text = "~~~python\nvalues = arr[1]\n~~~\n\n    x = arr[1]\n\nCites [1]."
    # B becomes source 2 of the report; the code keeps its own [1].
    assert registry.register("2", text, [B, A]) == text.replace("Cites [1]", "Cites [2]")
    assert registry.register("3", "Now [2] and `arr[2]`.", [B, A]) == "Now [1] and `arr[2]`."


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        (
            "First line of para\n[9]\nsecond line of para.",
            "First line of para\nsecond line of para.",
        ),
        ("Hard break [9]  \nnext line.", "Hard break  \nnext line."),
        ("Word [9]\r\nnext [1].", "Word\nnext [1]."),
        ("Code ``b[9]`` stays, [9] goes.", "Code ``b[9]`` stays, goes."),
        ("a\rb\rc\n```\nx = arr[9]\n```\nEnd [9].", "a\nb\nc\n```\nx = arr[9]\n```\nEnd."),
    ],
)
def test_removal_keeps_the_block_structure(text: str, clean: str) -> None:
    assert check_citations(text, 1)[0] == clean


def test_a_mid_line_citation_before_a_colon_is_renumbered() -> None:
    registry = CitationRegistry()
    registry.register("1", "Only cites three [3].", [A, B, C])
    second = registry.register("2", "As shown in [2]: the rollout. Also [3] and [1].", [A, B, C])
    # B is new (2), C was cited by section 1 (1), A is new (3): the colon changes nothing.
    assert second == "As shown in [2]: the rollout. Also [1] and [3]."


def test_attribution_cites_a_wrapped_sentence_once_and_never_inside_code() -> None:
    wrapped = "The PUT latency of the bucket\ntier rose to 2.4 seconds."
    assert attribute(wrapped, [LATENCY]) == (wrapped[:-1] + " [1].", 1)
    code = "Run `PUT latency of the bucket tier rose. 2.4 seconds` now."
    assert attribute(code, [LATENCY])[0].count("`") == 2
    assert "seconds [1]`" not in attribute(code, [LATENCY])[0]
