"""A query result as the facts a model is given: its rows, and figures computed for it.

The model restates these figures and never calculates: change, percent change, lowest, highest,
average, total and share of total are computed here, formatted the way the table shows them.
The text is short, because it goes into small models' prompts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reporting.data.results import DataResults, QueryResult
from reporting.outline.model import Outline
from reporting.text import format_number as text_format_number

MAX_FACT_ROWS = 30  # rows of the table given; figures are computed over every row
_HEAD_ROWS = 20  # when there are more: the first rows and the last ones, a gap between
MAX_FACT_COLUMNS = 10
MAX_FIGURE_COLUMNS = 6
MAX_SHARE_ROWS = 12  # share of total per row only for a few rows: more would be a list
MAX_CELL = 40


def format_number(value: Any) -> str:
    """A number as the table shows it (`text.format_number`), so prose and table agree.

    On top: a small value that would show as 0 keeps two significant digits (0.0042), so the
    model is not told a rate is zero; booleans and other values as text.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        return str(value)
    if value != 0 and abs(float(value)) < 0.01:  # would round to 0: two significant digits
        return f"{value:.2g}"
    return text_format_number(value)


def format_cell(value: Any) -> str:
    """Any value of a result as text: numbers formatted, dates ISO, long text cut."""
    if value is None:
        return "n/a"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time():
            return value.date().isoformat()  # a month or day truncated to a timestamp
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return format_number(value)
    text = " ".join(str(value).split()).replace("|", "/")  # one line, no column break
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


# Rows labelled by time are in order, so first → last is a change; regions or products are not.
_TIME_NAME = re.compile(r"(date|day|week|month|quarter|year|period|time|hour)", re.I)
_TIME_TEXT = re.compile(r"^\d{4}([-/]\d{1,2}([-/]\d{1,2})?|[-\s]?[QH][1-4]|[-\s]?W\d{1,2})?$")
# A rate, a ratio or a percentile does not add up: no total and no share of one for them.
_NOT_ADDITIVE = re.compile(
    r"(pct|percent|rate|ratio|avg|average|mean|median|p\d{2}|latency|_ms$|score|price|share)",
    re.I,
)


def _label(value: Any, name: str = "") -> str:
    """A row's label (its first column): a year or an id is 2026, not 2,026."""
    plain = (
        re.search(r"(year|id$)", name, re.I)
        or 1000 <= (value if isinstance(value, int) else 0) <= 2999
    )
    if isinstance(value, int) and not isinstance(value, bool) and plain:
        return str(value)
    return format_cell(value)


def _in_time_order(name: str, labels: Sequence[Any]) -> bool:
    """Whether rows are labelled by dates or periods, so first and last make a change."""
    if _TIME_NAME.search(name) or all(isinstance(v, dt.date) for v in labels):
        return True
    return all(isinstance(v, str) and _TIME_TEXT.match(v.strip()) for v in labels)


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "") + format_number(abs(value))


def _percent(value: float, *, signed: bool = False) -> str:
    text = f"{value:+,.1f}%" if signed else f"{value:,.1f}%"
    return text.replace("+0.0%", "0.0%").replace("-0.0%", "0.0%")


def _is_numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present
    )


def _number(value: Any) -> Decimal | None:
    """A value as a Decimal of what it prints as (0.1 + 0.2 is 0.3); None for nan/inf."""
    number = Decimal(value) if isinstance(value, int) else Decimal(str(value))
    return number if number.is_finite() else None


def _figures(
    name: str, labels: list[str], values: Sequence[Any], ordered: bool = True
) -> str | None:
    """One line of figures for a numeric column; None when fewer than two rows have values."""
    points: list[tuple[str, Decimal]] = []
    for label, value in zip(labels, values, strict=True):
        number = None if value is None else _number(value)
        if number is not None:
            points.append((label, number))
    if len(points) < 2:
        return None
    (first_label, first), (last_label, last) = points[0], points[-1]
    change = last - first
    parts: list[str] = []
    if ordered:
        parts += [
            f"{format_number(first)} ({first_label}) to {format_number(last)} ({last_label})",
            f"change {_signed(change)}",
        ]
        if first != 0:
            parts[-1] += f" ({_percent(float(change / abs(first) * 100), signed=True)})"
    low = min(points, key=lambda point: point[1])
    high = max(points, key=lambda point: point[1])
    total = sum((n for _, n in points), Decimal(0))
    additive = not _NOT_ADDITIVE.search(name)
    parts += [
        f"lowest {format_number(low[1])} ({low[0]}), highest {format_number(high[1])} ({high[0]})",
        f"average {format_number(total / len(points))}",
    ]
    if additive:
        parts.append(f"total {format_number(total)}")
    if additive and len(points) <= MAX_SHARE_ROWS and low[1] >= 0 and total > 0:
        shares = ", ".join(f"{label} {_percent(float(n / total * 100))}" for label, n in points)
        parts.append(f"share of total: {shares}")
    return f"- {name}: " + "; ".join(parts) + "."


def facts_text(result: QueryResult) -> str:
    """The result as a model is given it: a table of its rows and the figures computed for it."""
    if not result.rows:
        return "The query returned no rows."
    columns = list(result.columns[:MAX_FACT_COLUMNS])
    more_columns = len(result.columns) - len(columns)
    rows = list(result.rows)
    shown = rows
    if len(rows) > MAX_FACT_ROWS:
        tail = MAX_FACT_ROWS - _HEAD_ROWS
        shown = [*rows[:_HEAD_ROWS], (), *rows[-tail:]]
    count = f"{len(rows):,} row{'s' if len(rows) != 1 else ''}"
    extra = f" (and {more_columns} more columns)" if more_columns else ""
    lines = [f"Query result, {count}{extra}:", " | ".join(columns)]
    for row in shown:
        if not row:
            lines.append(f"… {len(rows) - MAX_FACT_ROWS:,} rows not shown …")
            continue
        cells = [_label(row[0], columns[0])] + [format_cell(v) for v in row[1 : len(columns)]]
        lines.append(" | ".join(cells))
    # The first column labels the rows when there are others; a lone column is all values.
    labelled = len(result.columns) > 1
    name0 = result.columns[0]
    labels = [_label(row[0], name0) if labelled else f"row {i}" for i, row in enumerate(rows, 1)]
    ordered = not labelled or _in_time_order(name0, [row[0] for row in rows])
    figures = []
    for index, name in enumerate(result.columns[1:] if labelled else result.columns):
        column = index + 1 if labelled else index
        values = [row[column] for row in rows]
        if _is_numeric(values) and (line := _figures(name, labels, values, ordered)) is not None:
            figures.append(line)
        if len(figures) == MAX_FIGURE_COLUMNS:
            break
    if figures:
        lines.append("Figures computed from all rows (restate them; do not calculate):")
        lines += figures
    return "\n".join(lines)


def attach_facts(outline: Outline, results: DataResults) -> None:
    """Give each section with a query result the facts text of it."""
    for section in outline.walk():
        result = results.queries.get(section.id)
        if result is not None:
            section.attach_data(facts_text(result))
