"""Run parameters: values read as their type, checked, and put into the outline's text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reporting.data.params import format_value, resolve_params, substitute
from reporting.errors import OutlineError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline

PARAMS: dict[str, Any] = {
    "region": {"type": "str", "default": "EU", "choices": ["EU", "US", "APAC"]},
    "quarter": {"type": "str", "default": "2026Q3", "pattern": r"^\d{4}Q[1-4]$"},
}


def outline(params: dict[str, Any] | None = None, **section: Any) -> Outline:
    """An outline with the given parameters and one section (a query when table/chart given)."""
    return parse_outline(
        {
            "title": "Payments in {region}",
            "params": PARAMS if params is None else params,
            "sections": [{"title": "Volume in {region}", **section}],
        },
        "kpis.yaml",
    )


def problems(given: dict[str, str], params: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(OutlineError) as caught:
        resolve_params(outline(params), given, "kpis.yaml")
    assert caught.value.exit_code == 2
    assert caught.value.path == "kpis.yaml"
    return caught.value.problems


def test_defaults_and_given_values() -> None:
    assert resolve_params(outline(), {}, "kpis.yaml") == {"region": "EU", "quarter": "2026Q3"}
    given = {"region": "US", "quarter": "2026Q2"}
    assert resolve_params(outline(), given, "kpis.yaml") == given


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "42", 42),
        ("int", "-7", -7),
        ("float", "2.5", 2.5),
        ("float", "3", 3.0),
        ("bool", "true", True),
        ("bool", "No", False),
        ("bool", "1", True),
        ("bool", "0", False),
        ("bool", "yes", True),
        ("date", "2026-07-01", dt.date(2026, 7, 1)),
        ("str", "a b", "a b"),
    ],
)
def test_values_are_read_as_their_type(kind: str, text: str, value: Any) -> None:
    resolved = resolve_params(outline({"p": {"type": kind}}), {"p": text}, "kpis.yaml")
    assert resolved == {"p": value}
    assert type(resolved["p"]) is type(value)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("int", "abc", "--param p=abc: not an int"),
        ("int", "1.5", "--param p=1.5: not an int"),
        ("float", "x", "--param p=x: not a number"),
        ("float", "nan", "--param p=nan: not a number"),
        ("bool", "maybe", "--param p=maybe: not a bool (true/false, yes/no, 1/0)"),
        ("date", "2026-02-30", "--param p=2026-02-30: not a date (YYYY-MM-DD)"),
        ("date", "20260101", "--param p=20260101: not a date (YYYY-MM-DD)"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_parameter(kind: str, text: str, expected: str) -> None:
    assert problems({"p": text}, {"p": {"type": kind}}) == [expected]


def test_an_unknown_name_suggests_the_close_one_and_lists_the_declared() -> None:
    assert problems({"regoin": "EU"}) == [
        "--param regoin: no such parameter (did you mean 'region'?); "
        "the outline declares region, quarter"
    ]
    assert problems({"x": "1"}, {}) == [
        "--param x: no such parameter; the outline declares no parameters"
    ]


def test_choices_and_pattern() -> None:
    assert problems({"region": "EMEA", "quarter": "Q3"}) == [
        "--param region=EMEA: not one of EU, US, APAC",
        r"--param quarter=Q3: does not match the pattern ^\d{4}Q[1-4]$",
    ]


def test_a_parameter_with_no_value_and_no_default() -> None:
    assert problems({}, {"region": {}}) == ["params.region: no value; give --param region=…"]
    assert resolve_params(outline({"region": {}}), {"region": "EU"}, "x") == {"region": "EU"}


def test_defaults_are_checked_like_given_values() -> None:
    found = problems(
        {},
        {
            "n": {"type": "int", "default": "ten"},
            "region": {"default": "EMEA", "choices": ["EU", "US"]},
            "quarter": {"default": "Q3", "pattern": r"\d{4}Q[1-4]"},
        },
    )
    assert found == [
        "params.n.default: 'ten' is not an int",
        "params.region.default: 'EMEA' not one of EU, US",
        r"params.quarter.default: 'Q3' does not match the pattern \d{4}Q[1-4]",
    ]


def test_yaml_values_of_another_type_are_read_as_the_declared_one() -> None:
    params = {
        "year": {"type": "str", "default": 2026},
        "limit": {"type": "float", "default": 5, "choices": [5, 10]},
        "day": {"type": "date", "default": dt.date(2026, 1, 2)},
        "on": {"type": "bool", "default": "yes"},
    }
    assert resolve_params(outline(params), {}, "x") == {
        "year": "2026",
        "limit": 5.0,
        "day": dt.date(2026, 1, 2),
        "on": True,
    }
    # YAML 1.1 reads an unquoted NO (Norway) as false: said so, not silently "false".
    found = problems({}, {"country": {"default": "SE", "choices": ["SE", False]}})
    assert found == [
        "params.country.choices[2]: 'false' is not a str "
        "(YAML reads yes/no/on/off as true/false: quote the value)"
    ]
    assert problems({}, {"n": {"type": "int", "default": True}}) == [
        "params.n.default: 'true' is not an int"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"regoin": "EU", "quarter": "2026Q9"}, {**PARAMS, "n": {"type": "int"}})
    assert len(found) == 3
    assert found[0].startswith("--param regoin:")
    assert found[1].startswith("--param quarter=2026Q9:")
    assert found[2] == "params.n: no value; give --param n=…"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("EU", "EU"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.0, "2"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (dt.date(2026, 7, 1), "2026-07-01"),
    ],
)
def test_values_in_text(value: Any, text: str) -> None:
    assert format_value(value) == text


def test_substitute_fills_the_declared_names_in_every_text() -> None:
    model = outline(
        brief="Volume in {region} for {quarter}; {other} and {{region}} stay as braces.",
        points=["{region} grew", "no placeholder"],
        query="select 1 as month, 2 as n",
        table={"caption": "Monthly volume, {region}"},
        chart={"x": "month", "y": "n", "title": "{region} by month", "alt": "A line ({region})"},
    )
    # The table of contents is read before, as a build may: it follows the new titles.
    assert model.table_of_contents() == ["1 Volume in {region}"]
    substitute(model, {"region": "US", "quarter": "2026Q2"})
    section = model.sections[0]
    assert model.title == "Payments in US"
    assert section.title == "Volume in US"
    assert section.brief == "Volume in US for 2026Q2; {other} and {US} stay as braces."
    assert section.points == ["US grew", "no placeholder"]
    assert section.table is not None and section.table.caption == "Monthly volume, US"
    assert section.chart is not None
    assert (section.chart.title, section.chart.alt) == ("US by month", "A line (US)")
    assert model.table_of_contents() == ["1 Volume in US"]
    assert model.section_lines == ("1 Volume in US",)
    # The query is never touched: parameters are bound there, not pasted.
    assert section.query == "select 1 as month, 2 as n"


def test_substitute_is_plain_replacement_never_a_template() -> None:
    model = outline(brief="{region.__class__} {region!r} {0} {region}")
    substitute(model, {"region": "{quarter}", "quarter": "2026Q3"})
    # One pass: a value that looks like a placeholder is not filled in again.
    assert model.sections[0].brief == "{region.__class__} {region!r} {0} {quarter}"


def test_substitute_only_declared_names() -> None:
    model = outline(brief="{region} {undeclared}")
    substitute(model, {"region": "EU", "undeclared": "x"})
    assert model.sections[0].brief == "EU {undeclared}"
    substitute(model, {})
    assert model.sections[0].brief == "EU {undeclared}"
