"""Figures found in text and normalised as a reader compares them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st

from reporting.quality.figures import FigureIndex, extract, identifier_key, words_to_numbers


def found(text: str) -> list[tuple[str, object]]:
    """(kind, value) of every figure of a text, in order."""
    return [(figure.kind, figure.value) for figure in extract(text)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("9 incidents", "nine incidents"),
        ("1,200 users", "1200 users"),
        ("12% of calls", "12 percent of calls"),
        ("12% of calls", "12 per cent of calls"),
        ("$71k", "$71,000"),
        ("$71k", "71 thousand dollars"),
        ("$71k", "USD 71,000"),
        ("$1.84M", "1.84 million dollars"),
        ("2.4 s", "2.4 seconds"),
        ("3 November 2026", "2026-11-03"),
        ("3 November 2026", "November 3, 2026"),
        ("3 November 2026", "the 3rd of Nov 2026"),
        ("twenty-one racks", "21 racks"),
        ("one hundred and twelve", "112"),
        ("seventy one thousand", "71,000"),
        ("07:39", "7:39"),
        ("412 million", "412M"),
        ("6.50%", "6.5%"),
    ],
)
def test_what_a_reader_takes_as_equal_is_equal(a: str, b: str) -> None:
    assert found(a) == found(b)
    assert FigureIndex.of([a]).supports(extract(b)[0])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("12", "12%"),  # a count is not a share
        ("$71k", "€71k"),  # nor a currency another
        ("3 November 2026", "3 November 2025"),
        ("07:14", "07:41"),
        ("p99", "p95"),
        ("1.84", "1.8"),
    ],
)
def test_different_figures_stay_different(a: str, b: str) -> None:
    assert not FigureIndex.of([a]).supports(extract(b)[0])


@pytest.mark.parametrize(
    "text",
    [
        "1. Introduction\n2) Results\n(3) Next",
        "- 1. nested numbering",
        "**2. Results**",
        "See section 2.1, sections 3 and 4, and §5.",
        "Latency fell [1]. Errors fell [2, 3].",
        "The one risk that remains.",
        "Run `retry --count 5` and read https://example.com/v2/page2.",
        "First, second and third steps.",
    ],
)
def test_structure_and_words_that_are_no_figures(text: str) -> None:
    assert found(text) == []


def test_list_and_section_numbers_count_in_what_was_given() -> None:
    assert found("1. Introduction\nsee §3") == []
    assert [f.value for f in extract("1. Introduction\nsee §3", structure=True)] == [
        Decimal(1),
        Decimal(3),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p99 in us-east-1 for Q3 with v7", ["p99", "useast1", "q3", "v7"]),
        ("moved to EJB-8 and SEV-1", ["ejb8", "sev1"]),
        ("racks B01 to B12", ["b01", "b12"]),
    ],
)
def test_identifiers_are_one_figure_each(text: str, expected: list[str]) -> None:
    figures = extract(text)
    assert [f.kind for f in figures] == ["identifier"] * len(expected)
    assert [f.value for f in figures] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a 3-day outage", [("number", Decimal(3))]),
        ("210ms at p99", [("number", Decimal(210)), ("identifier", "p99")]),
        ("a 10x gain", [("number", Decimal(10))]),
        ("in 2026", [("year", Decimal(2026))]),
        ("In December 2021", [("date", (2021, 12, None))]),
        ("on 22 July", [("date", (None, 7, 22))]),
        ("down 5%", [("percent", Decimal(5))]),
        ("two or three", [("number", Decimal(2)), ("number", Decimal(3))]),
        ("twelve percent", [("percent", Decimal(12))]),
        ("€30k a month", [("money", Decimal(30000))]),
    ],
)
def test_kinds_and_values(text: str, expected: list[tuple[str, object]]) -> None:
    assert found(text) == expected


def test_words_to_numbers_keeps_spans() -> None:
    run = "one hundred and twelve twenty-one one"
    assert [(n, run[a:b]) for n, a, b in words_to_numbers(run)] == [
        (112, "one hundred and twelve"),
        (21, "twenty-one"),
    ]
    assert [n for n, _, _ in words_to_numbers("five twenty")] == [5, 20]


@pytest.mark.parametrize(
    ("given", "text", "supported"),
    [
        ("22 July", "22 July 2026", False),  # the year is not given
        ("22 July; report of 2026-10-09", "22 July 2026", True),
        ("2026-11-03", "November 2026", True),
        ("2026-11-03", "in 2026", True),
        ("November 2026", "3 November 2026", False),
        ("2026-11-03", "3 November", True),
        ("cost 96k", "$96k", True),  # the amount is given; its currency is the outline's usual
    ],
)
def test_dates_and_amounts_are_supported_by_what_says_as_much(
    given: str, text: str, supported: bool
) -> None:
    assert FigureIndex.of([given]).supports(extract(text)[-1]) is supported


def test_identifier_key_ignores_case_and_joiners() -> None:
    assert identifier_key("SEV-1") == identifier_key("sev1") == identifier_key("Sev_1")


_FIGURE = st.one_of(
    st.integers(0, 10**9).map(lambda n: f"{n:,}"),
    st.integers(0, 10**6).map(str),
    st.decimals(0, 1000, places=2, allow_nan=False).map(lambda d: f"{d}%"),
    st.integers(1, 999).map(lambda n: f"${n}k"),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["nine", "twenty-one", "one hundred and five", "p99", "us-east-1", "Q3"]),
)


@for_all(st.lists(_FIGURE, min_size=1, max_size=6))
def test_a_figure_copied_from_the_facts_is_always_supported(figures: list[str]) -> None:
    facts = "The facts: " + "; ".join(f"item {figure} here" for figure in figures) + "."
    index = FigureIndex.of([facts])
    text = " and ".join(f"we saw {figure} there" for figure in reversed(figures))
    assert all(index.supports(figure) for figure in extract(text))
