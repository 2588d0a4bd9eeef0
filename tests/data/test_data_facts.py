"""The facts a model is given for a query result: its rows and the figures computed for them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from reporting.data.facts import attach_facts, facts_text, format_cell, format_number
from reporting.data.query import result_sha256
from reporting.data.results import DataResults, QueryResult
from reporting.outline.loader import parse_outline


def result(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> QueryResult:
    return QueryResult(
        section_id="1",
        place='sections[1] "Volume".query',
        sql="select …",
        engine="duckdb",
        columns=columns,
        rows=tuple(rows),
        sha256=result_sha256(columns, rows),
    )


VOLUME = result(
    ("month", "authorizations", "p99_ms"),
    [("2026-07", 1204000, 182.0), ("2026-08", 1310500, 191.5), ("2026-09", 1355250, 240.0)],
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (1234567, "1,234,567"),
        (-1234567, "-1,234,567"),
        (2.0, "2"),
        (191.5, "191.5"),
        (1234.567, "1,234.57"),
        (-1234.5, "-1,234.5"),
        (0.996, "1"),
        (0.0042, "0.0042"),
        (-0.0, "0"),
        (Decimal("12.50"), "12.5"),
        (Decimal("1E+3"), "1,000"),
        (Decimal("61.75"), "61.75"),
        (float("nan"), "nan"),
        (True, "true"),
        ("EU", "EU"),
    ],
)
def test_format_number(value: Any, text: str) -> None:
    assert format_number(value) == text


def test_format_cell() -> None:
    assert format_cell(None) == "n/a"
    assert format_cell(dt.date(2026, 7, 1)) == "2026-07-01"
    assert format_cell(dt.datetime(2026, 7, 1)) == "2026-07-01"
    assert format_cell(dt.datetime(2026, 7, 1, 10, 30)) == "2026-07-01 10:30"
    assert format_cell(dt.datetime(2026, 7, 1, 10, 30, 5)) == "2026-07-01 10:30:05"
    assert format_cell("a | b\nc") == "a / b c"
    assert format_cell("x" * 100) == "x" * 39 + "…"
    assert format_cell(1234.5) == "1,234.5"


def test_facts_of_a_monthly_series() -> None:
    assert facts_text(VOLUME) == (
        "Query result, 3 rows:\n"
        "month | authorizations | p99_ms\n"
        "2026-07 | 1,204,000 | 182\n"
        "2026-08 | 1,310,500 | 191.5\n"
        "2026-09 | 1,355,250 | 240\n"
        "Figures computed from all rows (restate them; do not calculate):\n"
        "- authorizations: 1,204,000 (2026-07) to 1,355,250 (2026-09); change +151,250 "
        "(+12.6%); lowest 1,204,000 (2026-07), highest 1,355,250 (2026-09); average "
        "1,289,916.67; total 3,869,750; share of total: 2026-07 31.1%, 2026-08 33.9%, "
        "2026-09 35.0%.\n"
        "- p99_ms: 182 (2026-07) to 240 (2026-09); change +58 (+31.9%); lowest 182 (2026-07), "
        "highest 240 (2026-09); average 204.5."
    )


def test_rows_not_in_time_order_get_no_change_and_a_lone_value_keeps_its_separators() -> None:
    regions = facts_text(result(("region", "authorizations"), [("US", 900), ("EU", 600)]))
    assert "change" not in regions and " to " not in regions
    assert "share of total: US 60.0%, EU 40.0%" in regions
    assert "6,188,579" in facts_text(result(("authorizations", "rate_pct"), [(6188579, 95.8)]))
    assert "2026 | 5" in facts_text(result(("year", "n"), [(2026, 5), (2027, 6)]))


def test_no_rows_and_one_row() -> None:
    assert facts_text(result(("month", "n"), [])) == "The query returned no rows."
    # One row: nothing to compare, the row is the fact.
    assert facts_text(result(("region", "n"), [("EU", 1234)])) == (
        "Query result, 1 row:\nregion | n\nEU | 1,234"
    )


def test_falling_negative_and_missing_values() -> None:
    text = facts_text(
        result(
            ("year", "margin", "loss", "note"),
            [(2024, 0.5, -10, "a"), (2025, None, -4, None), (2026, 0.25, 0, "c")],
        )
    )
    lines = text.splitlines()
    assert lines[2:5] == ["2024 | 0.5 | -10 | a", "2025 | n/a | -4 | n/a", "2026 | 0.25 | 0 | c"]
    # A year labels its row as 2024, not 2,024; a missing value is skipped, not zero.
    assert lines[6] == (
        "- margin: 0.5 (2024) to 0.25 (2026); change -0.25 (-50.0%); lowest 0.25 (2026), "
        "highest 0.5 (2024); average 0.38; total 0.75; share of total: 2024 66.7%, 2026 33.3%."
    )
    # Negative values have no shares; a change from a negative start is against its size.
    assert lines[7] == (
        "- loss: -10 (2024) to 0 (2026); change +10 (+100.0%); lowest -10 (2024), "
        "highest 0 (2026); average -4.67; total -14."
    )
    assert len(lines) == 8  # `note` is text: no figures


def test_a_start_of_zero_has_no_percent_change() -> None:
    text = facts_text(result(("day", "n"), [("mon", 0), ("tue", 5)]))
    assert "change +5; lowest 0 (mon)" in text
    assert "%);" not in text.splitlines()[-1].split("change")[1].split(";")[0]


def test_decimals_add_up_exactly() -> None:
    text = facts_text(result(("k", "v"), [("a", 0.1), ("b", 0.2), ("c", Decimal("0.3"))]))
    assert "total 0.6;" in text


def test_a_single_column_is_all_values() -> None:
    text = facts_text(result(("n",), [(10,), (30,)]))
    assert text.splitlines()[-1] == (
        "- n: 10 (row 1) to 30 (row 2); change +20 (+200.0%); lowest 10 (row 1), "
        "highest 30 (row 2); average 20; total 40; share of total: row 1 25.0%, row 2 75.0%."
    )


def test_long_results_are_cut_but_figures_use_every_row() -> None:
    rows = [(f"d{i:03}", i) for i in range(1, 101)]
    text = facts_text(result(("day", "n"), rows))
    lines = text.splitlines()
    assert lines[0] == "Query result, 100 rows:"
    assert lines[2] == "d001 | 1"
    assert lines[21] == "d020 | 20"
    assert lines[22] == "… 70 rows not shown …"
    assert lines[23] == "d091 | 91"
    assert lines[32] == "d100 | 100"
    assert lines[34] == (
        "- n: 1 (d001) to 100 (d100); change +99 (+9,900.0%); lowest 1 (d001), "
        "highest 100 (d100); average 50.5; total 5,050."
    )
    assert len(lines) == 35
    # Short enough for a small model's prompt.
    assert len(text.split()) < 300


def test_wide_results_are_cut() -> None:
    columns = ("k", *(f"c{i}" for i in range(15)))
    rows = [("a", *range(15)), ("b", *range(1, 16))]
    lines = facts_text(result(columns, rows)).splitlines()
    assert lines[0] == "Query result, 2 rows (and 6 more columns):"
    assert lines[1] == "k | c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8"
    assert lines[2] == "a | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8"
    figures = lines[
        lines.index("Figures computed from all rows (restate them; do not calculate):") :
    ]
    assert len(figures) == 1 + 6


def test_facts_are_deterministic() -> None:
    assert facts_text(VOLUME) == facts_text(result(VOLUME.columns, list(VOLUME.rows)))


def test_attach_facts_gives_each_section_its_facts() -> None:
    outline = parse_outline(
        {
            "title": "T",
            "sections": [
                {"title": "A", "query": "select 1"},
                {"title": "B"},
            ],
        },
        "x.yaml",
    )
    attach_facts(outline, DataResults(queries={"1": VOLUME}))
    assert outline.sections[0].data_facts == facts_text(VOLUME)
    assert outline.sections[1].data_facts == ""
