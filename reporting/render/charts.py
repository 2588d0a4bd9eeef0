"""A query result as a chart: a PNG drawn with matplotlib's Agg, the same bytes for the same data.

Each chart is its own `Figure` on its own Agg canvas (no pyplot, no global state), at a fixed
size that fits the text width of the report's DOCX page, so pandoc shows it at 100 % and the
fonts keep their sizes. The PNG carries no software version or time, so a rebuild over the same
data writes the same file. matplotlib is imported on the first chart, not with this module.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from reporting.render.tables import format_value

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = ["CHART_DPI", "CHART_SIZE_INCHES", "KINDS", "draw_chart"]

KINDS: Final = ("line", "bar", "barh", "area", "scatter")

# The reference DOCX's A4 page less its margins leaves 6.3 in of text width.
CHART_SIZE_INCHES: Final = (6.3, 3.2)
CHART_DPI: Final = 150

# Okabe and Ito's palette: told apart with any colour vision, and in greyscale print.
COLORS: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
TEXT_COLOR: Final = "#222222"
GRID_COLOR: Final = "#DDDDDD"
TICK_SIZE: Final = 8.5
LABEL_SIZE: Final = 9.5
TITLE_SIZE: Final = 11.0

MAX_LABEL_CHARS: Final = 24  # a longer category label is cut, with an ellipsis
MAX_BARH_LABEL_CHARS: Final = 32  # beside a horizontal bar there is room for more
MAX_LEGEND_CHARS: Final = 40
MAX_TITLE_CHARS: Final = 62  # 11 pt bold across the chart, on at most two lines
TICK_CHARS_ACROSS: Final = 80  # 8.5 pt characters the x axis has room for
BARH_INCHES_PER_BAR: Final = 0.2  # a horizontal bar chart of many bars grows taller
MAX_HEIGHT_INCHES: Final = 8.0  # and still fits a page
PAD_INCHES: Final = 0.06  # white space around the chart's contents
MARKERS_UP_TO: Final = 24  # a line of at most this many points marks each one


def draw_chart(
    path: Path,
    *,
    kind: str,
    x_label: str,
    x: Sequence[Any],
    series: Mapping[str, Sequence[float | None]],
    title: str | None,
) -> None:
    """Draw one chart of the series over `x` to a PNG file at `path`.

    `kind` is one of KINDS; each series has a value (or None: a gap) per x value. Numbers and
    dates on x make a numeric or time axis for line, area and scatter charts; any other x (and
    every bar chart) is categorical, its labels thinned when there are many. More than one series
    gets a legend; one series names the value axis. Area charts of several series are stacked
    (a missing value counts as 0 there).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown chart kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not series:
        raise ValueError("a chart needs at least one series")
    values = {name: [_number(v) for v in ys] for name, ys in series.items()}
    for name, ys in values.items():
        if len(ys) != len(x):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(x)} x values")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = CHART_SIZE_INCHES
    if kind == "barh":  # every bar keeps its label: grow rather than leave labels out
        height = min(MAX_HEIGHT_INCHES, max(height, 1.2 + BARH_INCHES_PER_BAR * len(x)))
    figure = Figure(figsize=(width, height), dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _style(axes)
    handles = _plot(axes, kind, list(x), values)
    horizontal = kind == "barh"
    category_axis, value_axis = (axes.yaxis, axes.xaxis) if horizontal else (axes.xaxis, axes.yaxis)
    category_axis.set_label_text(_cut(x_label, 60), fontsize=LABEL_SIZE, color=TEXT_COLOR)
    if len(values) == 1:
        only = next(iter(values))
        value_axis.set_label_text(_cut(only, 60), fontsize=LABEL_SIZE, color=TEXT_COLOR)
    else:
        axes.legend(
            handles,
            [_cut(name, MAX_LEGEND_CHARS) for name in values],
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncols=min(len(values), 4),
            frameon=False,
            fontsize=TICK_SIZE,
            borderaxespad=0.3,
            handlelength=1.5,
        )
    _thousands(value_axis)
    heading = None
    if title and title.strip():
        heading = figure.text(
            PAD_INCHES / width,
            1 - PAD_INCHES / height,
            _wrap(title, MAX_TITLE_CHARS, lines=2),
            fontsize=TITLE_SIZE,
            fontweight="bold",
            color=TEXT_COLOR,
            horizontalalignment="left",
            verticalalignment="top",
        )
    _fit(figure, axes, heading)
    # No "Software" text (matplotlib's version) in the PNG: the same data, the same bytes.
    figure.savefig(path, format="png", dpi=CHART_DPI, metadata={"Software": None})


def _fit(figure: Figure, axes: Axes, heading: Text | None) -> None:
    """Place the axes so their labels, ticks and legend just fit inside the figure.

    One measuring pass of the decorations, instead of a layout engine's several passes over
    everything and its extra draw: about a third of the time per chart.
    """
    from matplotlib.transforms import Bbox

    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    pad = PAD_INCHES * figure.dpi
    width, height = figure.bbox.width, figure.bbox.height
    top = pad
    if heading is not None:
        top += heading.get_window_extent(renderer).height + pad
    # The axes' own box, its two axes (ticks, labels) and the legend: the data stay inside.
    inner = axes.bbox
    boxes = [inner, axes.xaxis.get_tightbbox(renderer), axes.yaxis.get_tightbbox(renderer)]
    legend = axes.get_legend()
    if legend is not None:
        boxes.append(legend.get_window_extent(renderer))
    outer = Bbox.union([box for box in boxes if box is not None])
    figure.subplots_adjust(
        left=(inner.x0 - outer.x0 + pad) / width,
        right=1 - (outer.x1 - inner.x1 + pad) / width,
        bottom=(inner.y0 - outer.y0 + pad) / height,
        top=1 - (outer.y1 - inner.y1 + top) / height,
    )


def _number(value: float | Decimal | None) -> float:
    """A value as a float; None as NaN, which matplotlib leaves out (a gap)."""
    if value is None:
        return math.nan
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _wrap(text: str, limit: int, *, lines: int) -> str:
    """At most `lines` lines of at most `limit` characters; the last cut if there is more."""
    wrapped = textwrap.wrap(" ".join(text.split()), limit, break_long_words=True) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], _cut(" ".join(wrapped[lines - 1 :]), limit)]
    return "\n".join(wrapped)


def _cut(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _style(axes: Axes) -> None:
    """Light grid behind the data, no box on top and right, dark grey small text."""
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#888888")
    axes.tick_params(labelsize=TICK_SIZE, colors="#444444", length=3)


def _x_kind(x: Sequence[Any]) -> str:
    """`number`, `time` or `category`: how the x values can be placed on an axis."""
    if not x or any(value is None for value in x):
        return "category"
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in x):
        return "number"
    timed = [isinstance(v, dt.datetime) for v in x]
    if all(isinstance(v, dt.date) for v in x) and (all(timed) or not any(timed)):
        return "time"  # dates, or datetimes: not the two mixed
    return "category"


def _labels(x: Sequence[Any], limit: int) -> list[str]:
    """Category labels as the table writes the values (midnight datetimes as dates), cut."""
    date_only = all(
        isinstance(v, dt.date)
        and (not isinstance(v, dt.datetime) or (v.time() == dt.time(0) and v.tzinfo is None))
        for v in x
    )
    return [_cut(format_value(value, date_only=date_only), limit) for value in x]


def _plot(axes: Axes, kind: str, x: list[Any], values: dict[str, list[float]]) -> list[Artist]:
    """Draw the series on `axes` as `kind` says; the artist of each series, for the legend."""
    count = len(values)
    handles: list[Artist] = []
    how = "category" if kind in ("bar", "barh") else _x_kind(x)
    at: list[Any]
    if how == "number":
        at = [float(v) for v in x]
    elif how == "time":
        at = list(x)
    else:
        at = list(range(len(x)))
    if kind in ("bar", "barh"):
        width = 0.8 / count
        for index, (color, ys) in enumerate(zip(COLORS * count, values.values(), strict=False)):
            offset = (index - (count - 1) / 2) * width
            where = [position + offset for position in at]
            if kind == "bar":
                bars = axes.bar(where, ys, width=width * 0.92, color=color, zorder=2)
            else:
                bars = axes.barh(where, ys, height=width * 0.92, color=color, zorder=2)
            handles.append(bars.patches[0])
        low = min((v for ys in values.values() for v in ys if not math.isnan(v)), default=0.0)
        if low < 0 and kind == "barh":
            axes.axvline(0, color="#888888", linewidth=0.8, zorder=3)
        elif low < 0:
            axes.axhline(0, color="#888888", linewidth=0.8, zorder=3)
    elif kind == "area" and count > 1:
        stacked = [[0.0 if math.isnan(v) else v for v in ys] for ys in values.values()]
        colors = [COLORS[index % len(COLORS)] for index in range(count)]
        handles.extend(axes.stackplot(at, *stacked, colors=colors, alpha=0.85, zorder=2))
    else:
        for color, ys in zip(COLORS * count, values.values(), strict=False):
            if kind == "scatter":
                handles.append(axes.scatter(at, ys, s=18, color=color, zorder=2))
            elif kind == "area":
                handles.append(
                    axes.fill_between(at, ys, color=color, alpha=0.3, linewidth=0, zorder=2)
                )
                axes.plot(at, ys, color=color, linewidth=1.8, zorder=3)
            else:
                marker = "o" if len(at) <= MARKERS_UP_TO else None
                (line,) = axes.plot(
                    at, ys, color=color, linewidth=1.8, marker=marker, markersize=3.5, zorder=3
                )
                handles.append(line)
    if kind == "barh":
        axes.grid(axis="x", color=GRID_COLOR, linewidth=0.8)
        _categories(axes.yaxis, _labels(x, MAX_BARH_LABEL_CHARS), len(x), across=False)
        axes.invert_yaxis()  # the first row on top, as in the table
        axes.tick_params(axis="y", length=0)
    else:
        axes.grid(axis="y", color=GRID_COLOR, linewidth=0.8)
        if how == "category":
            labels = _labels(x, MAX_LABEL_CHARS)
            longest = max((len(label) for label in labels), default=1)
            room = max(1, TICK_CHARS_ACROSS // (longest + 2))
            _categories(axes.xaxis, labels, room, across=True)
        elif how == "time":
            _dates(axes.xaxis)
        else:
            _numbers(axes.xaxis, x)
        if kind in ("area", "bar") or how == "category":
            axes.set_xmargin(0.01 if kind == "area" else 0.02)
    return handles


def _categories(axis: Axis, labels: list[str], room: int, *, across: bool) -> None:
    """One tick per category, or per every n-th when there are more than `room`."""
    step = max(1, math.ceil(len(labels) / room))
    ticks = list(range(0, len(labels), step))
    axis.set_ticks(ticks, [labels[tick] for tick in ticks])
    if across and step == 1 and len(labels) * (max(map(len, labels), default=0) + 2) > 70:
        for label in axis.get_ticklabels():  # many close labels: slanted so they cannot touch
            label.set_rotation(30)
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")


def _dates(axis: Axis) -> None:
    """Dates as a reader says them: `Mar`, `15 Mar`, `14:00`; the year (or day) where it changes.

    The first tick names the year too, so a chart never needs an offset text in a corner.
    """
    from matplotlib.dates import AutoDateLocator
    from matplotlib.ticker import Formatter

    class Dates(Formatter):
        def __call__(self, value: float, pos: int | None = None) -> str:
            return self.format_ticks([value])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            moments = [_moment(value) for value in values]
            return _date_labels(moments)

    locator = AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axis.set_major_locator(locator)
    axis.set_major_formatter(Dates())


def _moment(value: float) -> dt.datetime:
    """A date axis position as a naive datetime."""
    from matplotlib.dates import num2date

    moment: dt.datetime = num2date(value)  # type: ignore[no-untyped-call]
    return moment.replace(tzinfo=None)


def _date_labels(moments: Sequence[dt.datetime]) -> list[str]:
    """Tick labels of moments: only as fine as the ticks differ, the coarser part on change."""
    if all(m.time() == dt.time(0) and m.month == 1 and m.day == 1 for m in moments):
        return [str(m.year) for m in moments]
    labels: list[str] = []
    previous: dt.datetime | None = None
    for moment in moments:
        if all(m.time() == dt.time(0) and m.day == 1 for m in moments):
            label = f"{moment:%b}"
            if previous is None or previous.year != moment.year:
                label += f" {moment.year}"
        elif all(m.time() == dt.time(0) for m in moments):
            label = f"{moment.day} {moment:%b}"
            if previous is None or previous.year != moment.year:
                label += f" {moment.year}"
        else:
            label = f"{moment:%H:%M}"
            if previous is None or previous.date() != moment.date():
                label += f"\n{moment.day} {moment:%b} {moment.year}"
        labels.append(label)
        previous = moment
    return labels


def _numbers(axis: Axis, x: Sequence[Any]) -> None:
    """A numeric x axis: integers only if x holds only integers; years without separators."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    integers = all(isinstance(v, int) for v in x)
    axis.set_major_locator(MaxNLocator(nbins="auto", integer=integers))
    if integers and all(1000 <= v <= 2999 for v in x):
        axis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    else:
        _thousands(axis)


def _decimals(locs: Sequence[float]) -> int:
    """The fewest decimals (at most 6) that write every tick exactly: 0.25 steps need 2."""
    for decimals in range(7):
        if all(abs(round(loc, decimals) - loc) <= 1e-9 * max(1.0, abs(loc)) for loc in locs):
            return decimals
    return 6


def _thousands(axis: Axis) -> None:
    """Tick labels with thousands separators and no more decimals than the ticks need."""
    from matplotlib.ticker import Formatter

    class Thousands(Formatter):
        def __call__(self, value: float, pos: int | None = None) -> str:
            return self.format_ticks([value])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            decimals = _decimals([float(value) for value in values])
            labels = [f"{value:,.{decimals}f}" for value in values]
            return [t[1:] if t.startswith("-") and not t.strip("-0.,") else t for t in labels]

    axis.set_major_formatter(Thousands())
