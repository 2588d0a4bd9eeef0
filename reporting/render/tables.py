"""A query result as a pandoc pipe table: escaped text, formatted and right-aligned numbers.

The report's Markdown is read by pandoc and shown as it is to Markdown readers, so the table is
a pipe table with its columns padded to one width, its caption on pandoc's `Table: ...` line
(a table caption in the DOCX, a plain line elsewhere) and, when the result is cut, a note
saying how many of its rows are shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reporting.render.markdown import md_inline
from reporting.text import format_number

__all__ = ["MISSING", "format_number", "format_value", "table_markdown"]

MISSING = "\N{EN DASH}"  # a NULL in a cell


def format_value(value: Any, *, date_only: bool = False) -> str:
    """One value of a result as the table shows it (not yet escaped for Markdown).

    None is an en dash, booleans `yes`/`no`, numbers as `format_number`, dates ISO, datetimes
    ISO with a space and minutes (seconds when there are any); `date_only` drops the time of a
    datetime (for a column whose times are all midnight).
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return format_number(value)
    if isinstance(value, dt.datetime):
        if date_only:
            return value.date().isoformat()
        seconds = value.second or value.microsecond
        return value.isoformat(sep=" ", timespec="seconds" if seconds else "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"({len(value):,} bytes)"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_midnight(value: Any) -> bool:
    """A date, or a datetime at midnight without a time zone: shown as a date."""
    if isinstance(value, dt.datetime):
        return value.time() == dt.time(0) and value.tzinfo is None
    return isinstance(value, dt.date)


def _column(values: Sequence[Any]) -> tuple[list[str], bool]:
    """The cells of one column, escaped, and whether it is numeric (so right-aligned)."""
    present = [value for value in values if value is not None]
    numeric = bool(present) and all(_is_number(value) for value in present)
    date_only = bool(present) and all(_is_midnight(value) for value in present)
    cells = [md_inline(format_value(value, date_only=date_only)) for value in values]
    return cells, numeric


def _row(cells: Sequence[str], widths: Sequence[int], numeric: Sequence[bool]) -> str:
    padded = (
        cell.rjust(width) if right else cell.ljust(width)
        for cell, width, right in zip(cells, widths, numeric, strict=True)
    )
    return "| " + " | ".join(padded) + " |"


def table_markdown(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str | None,
    max_rows: int,
    total_rows: int | None = None,
) -> str:
    """A query result as a pandoc pipe table with its caption, cut to `max_rows` rows.

    `total_rows` is the result's full size when `rows` holds only part of it (default: as many
    as `rows`). More rows than shown: a note `First 20 of 57 rows.` follows the table. No rows
    (or no columns): a `No data.` paragraph instead of a table.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}")
    total = len(rows) if total_rows is None else max(total_rows, len(rows))
    title = md_inline(caption) if caption and caption.strip() else ""
    if not rows or not columns:
        return f"{title}: no data." if title else "No data."
    shown = rows[:max_rows]
    for number, row in enumerate(shown, start=1):
        if len(row) != len(columns):
            raise ValueError(f"row {number} has {len(row)} values for {len(columns)} columns")
    header = [md_inline(name) for name in columns]
    body: list[list[str]] = [[] for _ in shown]
    numeric: list[bool] = []
    for index in range(len(columns)):
        cells, right = _column([row[index] for row in shown])
        numeric.append(right)
        for line, cell in zip(body, cells, strict=True):
            line.append(cell)
    widths = [
        max(3, len(header[index]), *(len(line[index]) for line in body))
        for index in range(len(columns))
    ]
    rule = "|" + "|".join(
        "-" * (width + 1) + ":" if right else "-" * (width + 2)
        for width, right in zip(widths, numeric, strict=True)
    )
    lines = [_row(header, widths, numeric), rule + "|"]
    lines.extend(_row(line, widths, numeric) for line in body)
    text = "\n".join(lines)
    if title:
        text += f"\n\nTable: {title}"
    if total > len(shown):
        text += f"\n\nFirst {len(shown):,} of {total:,} rows."
    return text
