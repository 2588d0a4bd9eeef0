"""Query results as pipe tables: number formats, alignment, caption, the row-limit note, DOCX."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypandoc
import pytest
from lxml import etree

from reporting.render.docx import PANDOC_INPUT_FORMAT, render_docx
from reporting.render.tables import MISSING, format_number, format_value, table_markdown

REFERENCE_DOCX = Path(__file__).resolve().parents[2] / "templates" / "reference.docx"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

COLUMNS = ("month", "region", "authorizations", "p99_ms")
ROWS: list[tuple[Any, ...]] = [
    (dt.date(2026, 7, 1), "EU", 1_204_331, Decimal("85.40")),
    (dt.date(2026, 8, 1), "EU", 1_251_902, 91.256),
    (dt.date(2026, 9, 1), "EU", 1_317_455, None),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (1234, "1,234"),
        (1_234_567, "1,234,567"),
        (-1_234_567, "-1,234,567"),
        (1.5, "1.5"),
        (2.0, "2"),
        (1234.567, "1,234.57"),
        (0.1 + 0.2, "0.3"),
        (-0.004, "0"),
        (-0.0, "0"),
        (-12.345678, "-12.35"),
        (1e20, "100,000,000,000,000,000,000"),
        (float("nan"), "NaN"),
        (float("inf"), "∞"),
        (float("-inf"), "-∞"),
        (Decimal("85.40"), "85.4"),
        (Decimal("0.125"), "0.13"),  # Decimals round half up
        (Decimal("-1234.50"), "-1,234.5"),
        (Decimal("12"), "12"),
        (Decimal("1E+30"), "1,000,000,000,000,000,000,000,000,000,000"),
        (Decimal("-0.001"), "0"),
    ],
)
def test_format_number(value: int | float | Decimal, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize("value", [True, "12", None, dt.date(2026, 1, 1)])
def test_format_number_takes_numbers_only(value: Any) -> None:
    with pytest.raises(TypeError):
        format_number(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "\N{EN DASH}"),
        (True, "yes"),
        (False, "no"),
        (1234, "1,234"),
        (dt.date(2026, 7, 1), "2026-07-01"),
        (dt.datetime(2026, 7, 1, 9, 30), "2026-07-01 09:30"),
        (dt.datetime(2026, 7, 1, 9, 30, 5), "2026-07-01 09:30:05"),
        ("a | b", "a | b"),  # escaped by the table, not here
    ],
)
def test_format_value(value: Any, expected: str) -> None:
    assert format_value(value) == expected


def test_the_table_is_a_padded_pipe_table_with_numbers_right_aligned() -> None:
    text = table_markdown(COLUMNS, ROWS, caption=None, max_rows=20)
    assert text == (
        "| month      | region | authorizations | p99\\_ms |\n"
        "|------------|--------|---------------:|--------:|\n"
        "| 2026-07-01 | EU     |      1,204,331 |    85.4 |\n"
        "| 2026-08-01 | EU     |      1,251,902 |   91.26 |\n"
        "| 2026-09-01 | EU     |      1,317,455 |       \N{EN DASH} |"
    )


def test_the_caption_follows_as_pandocs_table_line() -> None:
    text = table_markdown(COLUMNS, ROWS, caption="Monthly *volume*", max_rows=20)
    assert text.endswith("\n\nTable: Monthly \\*volume\\*")


def test_more_rows_than_the_limit_are_cut_with_a_note() -> None:
    rows = [(n, f"row {n}") for n in range(57)]
    text = table_markdown(("n", "label"), rows, caption="Rows", max_rows=20)
    body = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(body) == 21  # the header and 20 rows
    assert "|  19 | row 19 |" in text
    assert "row 20" not in text
    assert text.endswith("Table: Rows\n\nFirst 20 of 57 rows.")


def test_total_rows_counts_rows_the_caller_did_not_fetch() -> None:
    text = table_markdown(COLUMNS, ROWS, caption=None, max_rows=20, total_rows=12_345)
    assert text.endswith("\n\nFirst 3 of 12,345 rows.")


def test_no_note_when_every_row_is_shown() -> None:
    assert "First" not in table_markdown(COLUMNS, ROWS, caption=None, max_rows=3)


@pytest.mark.parametrize(("columns", "rows"), [(COLUMNS, []), ((), [])])
def test_an_empty_result_is_a_no_data_paragraph(columns: tuple[str, ...], rows: list[Any]) -> None:
    assert table_markdown(columns, rows, caption=None, max_rows=20) == "No data."
    assert table_markdown(columns, rows, caption="Volume", max_rows=20) == "Volume: no data."


def test_markdown_in_headers_and_cells_stays_literal() -> None:
    text = table_markdown(
        ("a|b", "*name*"), [("x | y", "[link](http://e.test)"), ("`c`", "<b>")], caption=None,
        max_rows=5,
    )  # fmt: skip
    cells = _pandoc_table(text)
    assert cells["head"] == ["a|b", "*name*"]
    assert cells["rows"] == [["x | y", "[link](http://e.test)"], ["`c`", "<b>"]]


def test_a_line_break_in_a_cell_stays_in_its_row() -> None:
    text = table_markdown(("note",), [("two\nlines",)], caption=None, max_rows=5)
    assert _pandoc_table(text)["rows"] == [["two lines"]]


def test_a_column_of_midnight_datetimes_shows_dates() -> None:
    rows = [(dt.datetime(2026, 7, 1),), (dt.datetime(2026, 8, 1),)]
    assert "| 2026-07-01 |" in table_markdown(("month",), rows, caption=None, max_rows=5)
    rows.append((dt.datetime(2026, 8, 1, 12, 0),))
    assert "| 2026-07-01 00:00 |" in table_markdown(("month",), rows, caption=None, max_rows=5)


def test_a_column_with_text_is_not_numeric() -> None:
    text = table_markdown(("v",), [(1,), ("n/a",)], caption=None, max_rows=5)
    assert text.splitlines()[1] == "|-----|"


def test_a_row_of_the_wrong_width_is_an_error() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 values for 2 columns"):
        table_markdown(("a", "b"), [(1, 2), (3,)], caption=None, max_rows=5)


def test_max_rows_below_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        table_markdown(COLUMNS, ROWS, caption=None, max_rows=0)


def _pandoc_json(markdown: str) -> Any:
    result = subprocess.run(
        [str(pypandoc.get_pandoc_path()), f"--from={PANDOC_INPUT_FORMAT}", "--to=json"],
        input=markdown.encode("utf-8"),
        capture_output=True,
        check=True,
    )
    return json.loads(result.stdout)


def _plain(inlines: list[Any]) -> str:
    parts: list[str] = []
    for inline in inlines:
        kind = inline["t"]
        if kind == "Str":
            parts.append(inline["c"])
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        else:
            raise AssertionError(f"markup in a cell: {inline}")
    return "".join(parts)


def _cell_text(cell: Any) -> str:
    blocks = cell[4]
    return " ".join(_plain(block["c"]) for block in blocks)


def _pandoc_table(markdown: str) -> dict[str, Any]:
    """The single table pandoc reads from `markdown`: alignments, caption, header, rows."""
    tables = [block for block in _pandoc_json(markdown)["blocks"] if block["t"] == "Table"]
    assert len(tables) == 1
    _attr, caption, specs, head, bodies, _foot = tables[0]["c"]
    return {
        "align": [spec[0]["t"] for spec in specs],
        "caption": " ".join(_plain(block["c"]) for block in caption[1]),
        "head": [_cell_text(cell) for cell in head[1][0][1]],
        "rows": [[_cell_text(cell) for cell in row[1]] for row in bodies[0][3]],
    }


def test_pandoc_reads_a_table_with_its_alignments_and_caption() -> None:
    text = table_markdown(COLUMNS, ROWS, caption="Volume and latency", max_rows=2)
    table = _pandoc_table(text)
    assert table["align"] == ["AlignDefault", "AlignDefault", "AlignRight", "AlignRight"]
    assert table["caption"] == "Volume and latency"
    assert table["head"] == ["month", "region", "authorizations", "p99_ms"]
    assert table["rows"] == [
        ["2026-07-01", "EU", "1,204,331", "85.4"],
        ["2026-08-01", "EU", "1,251,902", "91.26"],
    ]
    paragraphs = [b for b in _pandoc_json(text)["blocks"] if b["t"] == "Para"]
    assert [_plain(p["c"]) for p in paragraphs] == ["First 2 of 3 rows."]


def _jc(cell: Any) -> str | None:
    """The paragraph alignment of a table cell's paragraph (None: the style's, left)."""
    jc = cell.find(f"{W}p/{W}pPr/{W}jc")
    return None if jc is None else str(jc.get(f"{W}val"))


def test_the_docx_has_a_real_table_with_right_aligned_numbers_and_a_caption(
    tmp_path: Path,
) -> None:
    table = table_markdown(COLUMNS, ROWS, caption="Volume and latency", max_rows=20)
    markdown = f"# Report\n\n## 1 Volume\n\nThe volume grew.\n\n{table}\n\nAfter the table.\n"
    out = tmp_path / "report.docx"
    render_docx(
        markdown,
        out,
        title="Report",
        author=None,
        created=dt.datetime(2026, 12, 31, tzinfo=dt.UTC),
        reference_docx=REFERENCE_DOCX,
    )
    with zipfile.ZipFile(out) as docx:
        root = etree.fromstring(docx.read("word/document.xml"))
    tables = root.findall(f".//{W}tbl")
    assert len(tables) == 1
    caption = tables[0].find(f"{W}tblPr/{W}tblCaption")
    assert caption is not None and caption.get(f"{W}val") == "Volume and latency"
    before = tables[0].getprevious()
    assert before.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "TableCaption"
    assert "".join(before.itertext()) == "Volume and latency"
    rows = tables[0].findall(f"{W}tr")
    assert len(rows) == 4
    for row in rows:
        cells = row.findall(f"{W}tc")
        aligns = [_jc(cell) for cell in cells]
        assert aligns[2:] == ["right", "right"]
        assert all(align in (None, "left") for align in aligns[:2])
    texts = ["".join(cell.itertext()) for cell in rows[2].findall(f"{W}tc")]
    assert texts == ["2026-08-01", "EU", "1,251,902", "91.26"]
    assert "".join(rows[3].findall(f"{W}tc")[3].itertext()) == MISSING
