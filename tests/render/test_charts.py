"""Charts: every kind draws, the same data gives the same bytes, the size fits the page."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reporting.render.charts import (
    CHART_DPI,
    CHART_SIZE_INCHES,
    KINDS,
    _date_labels,
    _wrap,
    draw_chart,
)

MONTHS = [dt.date(2026, month, 1) for month in range(1, 13)]
LATENCY: list[float | None] = [85, 90, 88, 120, None, 95, 93, 97, 99, 140, 101, 98]


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks, (type, data), checking each one's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found: list[tuple[bytes, bytes]] = []
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc
        found.append((kind, body))
        at += 12 + length
    return found


def size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels."""
    header = dict(chunks(data))[b"IHDR"]
    width, height = struct.unpack(">II", header[:8])
    return int(width), int(height)


def draw(path: Path, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "kind": "line",
        "x_label": "month",
        "x": MONTHS,
        "series": {"p99_ms": LATENCY},
        "title": "p99 latency by month",
    } | overrides
    draw_chart(path, **arguments)
    return path.read_bytes()


def test_the_same_data_draws_the_same_bytes(tmp_path: Path) -> None:
    first = draw(tmp_path / "a.png")
    second = draw(tmp_path / "b.png")
    assert first == second


def test_the_png_carries_no_version_or_time(tmp_path: Path) -> None:
    data = draw(tmp_path / "chart.png")
    kinds = {kind for kind, _ in chunks(data)}
    assert kinds <= {b"IHDR", b"pHYs", b"IDAT", b"IEND"}
    assert b"matplotlib" not in data


def test_charts_drawn_in_threads_are_those_drawn_one_by_one(tmp_path: Path) -> None:
    kinds = ["line", "bar", "barh", "area", "line", "scatter"]
    expected = [draw(tmp_path / f"one-{n}.png", kind=kind) for n, kind in enumerate(kinds)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(
            pool.map(lambda item: draw(tmp_path / f"pool-{item[0]}.png", kind=item[1]),
                     enumerate(kinds))
        )  # fmt: skip
    assert drawn == expected


def test_the_size_fits_the_text_width_of_the_page(tmp_path: Path) -> None:
    data = draw(tmp_path / "chart.png")
    width, height = CHART_SIZE_INCHES
    assert size(data) == (round(width * CHART_DPI), round(height * CHART_DPI))
    # The resolution is recorded, so pandoc shows the chart at its size in inches.
    per_metre = struct.unpack(">IIB", dict(chunks(data))[b"pHYs"])
    assert per_metre[:2] == (round(CHART_DPI / 0.0254),) * 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "x",
    [
        MONTHS,
        [dt.datetime(2026, 1, 1, hour) for hour in range(12)],
        [f"team {n}" for n in range(12)],
        list(range(2015, 2027)),
        [Decimal(n) / 4 for n in range(12)],
    ],
    ids=["dates", "datetimes", "text", "years", "decimals"],
)
def test_every_kind_draws_over_every_kind_of_x(tmp_path: Path, kind: str, x: list[Any]) -> None:
    series: dict[str, list[float | None]] = {
        "p99_ms": LATENCY,
        "p50_ms": [None if v is None else v / 2 for v in LATENCY],
    }
    data = draw(tmp_path / "chart.png", kind=kind, x=x, series=series, title=None)
    assert size(data)[0] == round(CHART_SIZE_INCHES[0] * CHART_DPI)


def test_many_categories_and_long_names_still_draw(tmp_path: Path) -> None:
    x = [f"merchant number {n} with a rather long name" for n in range(50)]
    series = {"revenue in euro " * 5: [n * 1000.5 for n in range(50)]}
    draw(tmp_path / "bar.png", kind="bar", x=x, series=series)
    data = draw(tmp_path / "barh.png", kind="barh", x=x, series=series)
    width, height = size(data)
    assert width == round(CHART_SIZE_INCHES[0] * CHART_DPI)
    assert height > round(CHART_SIZE_INCHES[1] * CHART_DPI)  # every bar keeps its label
    assert height <= 8 * CHART_DPI  # and it still fits a page


def test_all_values_missing_still_draws(tmp_path: Path) -> None:
    draw(tmp_path / "chart.png", series={"p99_ms": [None] * 12})


def test_negative_values_draw(tmp_path: Path) -> None:
    draw(tmp_path / "chart.png", kind="bar", series={"change": [v - 100 for v in range(12)]})


def test_an_unknown_kind_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pie"):
        draw(tmp_path / "chart.png", kind="pie")


def test_a_series_of_the_wrong_length_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'p99_ms' has 3 values for 12 x values"):
        draw(tmp_path / "chart.png", series={"p99_ms": [1, 2, 3]})


def test_no_series_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one series"):
        draw(tmp_path / "chart.png", series={})


def test_a_text_value_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="not a number"):
        draw(tmp_path / "chart.png", series={"p99_ms": ["high"] * 12})


@pytest.mark.parametrize(
    ("moments", "labels"),
    [
        ([dt.datetime(y, 1, 1) for y in (2024, 2025, 2026)], ["2024", "2025", "2026"]),
        (
            [dt.datetime(2025, 11, 1), dt.datetime(2026, 1, 1), dt.datetime(2026, 3, 1)],
            ["Nov 2025", "Jan 2026", "Mar"],
        ),
        (
            [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 15), dt.datetime(2026, 2, 1)],
            ["1 Jan 2026", "15 Jan", "1 Feb"],
        ),
        (
            [dt.datetime(2026, 1, 1, 12), dt.datetime(2026, 1, 1, 18), dt.datetime(2026, 1, 2)],
            ["12:00\n1 Jan 2026", "18:00", "00:00\n2 Jan 2026"],
        ),
    ],
)
def test_date_ticks_name_the_year_once(moments: list[dt.datetime], labels: list[str]) -> None:
    assert _date_labels(moments) == labels


def test_a_long_title_wraps_to_two_lines_and_is_cut_after() -> None:
    title = " ".join(["word"] * 40)
    lines = _wrap(title, 62, lines=2).split("\n")
    assert len(lines) == 2
    assert all(len(line) <= 62 for line in lines)
    assert lines[1].endswith("…")
    assert _wrap("  Short   title ", 62, lines=2) == "Short title"


def test_a_long_title_still_draws(tmp_path: Path) -> None:
    draw(tmp_path / "chart.png", title="Authorizations per month in the EU region " * 4)
