"""Run parameters: `--param name=value` read as the declared type, and `{name}` in the text."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping

from reporting.errors import OutlineError
from reporting.outline.model import Outline, Param, ParamType, ParamValue

_INT = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_TYPE_NAMES = {
    ParamType.STR: "a str",
    ParamType.INT: "an int",
    ParamType.FLOAT: "a number",
    ParamType.BOOL: "a bool (true/false, yes/no, 1/0)",
    ParamType.DATE: "a date (YYYY-MM-DD)",
}


class _NotType(ValueError):
    """A value that cannot be read as its parameter's type."""


def format_value(value: ParamValue) -> str:
    """A value as the text shows it: dates ISO, bools true/false, floats without trailing zeros."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _from_text(text: str, kind: ParamType) -> ParamValue:
    """A command-line string read as `kind`; _NotType when it is not one."""
    stripped = text.strip()
    if kind is ParamType.STR:
        return text
    if kind is ParamType.INT and _INT.fullmatch(stripped):
        return int(stripped)
    if kind is ParamType.FLOAT:
        try:
            number = float(stripped)
        except ValueError:
            raise _NotType from None
        if math.isfinite(number):  # nan and inf are no value a query means
            return number
    if kind is ParamType.BOOL and stripped.lower() in _TRUE | _FALSE:
        return stripped.lower() in _TRUE
    if kind is ParamType.DATE and _DATE.fullmatch(stripped):
        try:
            return dt.date.fromisoformat(stripped)
        except ValueError:  # 2026-02-30
            pass
    raise _NotType


def _coerce(value: ParamValue, kind: ParamType) -> ParamValue:
    """An outline value (default, choice) as `kind`: YAML may have read `2026` for a str."""
    if isinstance(value, str):
        return _from_text(value, kind)
    if kind is ParamType.STR and not isinstance(value, bool):
        return format_value(value)
    if kind is ParamType.INT and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is ParamType.FLOAT and isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    if kind is ParamType.BOOL and isinstance(value, bool):
        return value
    if kind is ParamType.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise _NotType


def _choices(name: str, param: Param, problems: list[str]) -> list[ParamValue] | None:
    """The declared choices as the parameter's type; a choice that is not one is a problem."""
    if param.choices is None:
        return None
    read: list[ParamValue] = []
    for index, choice in enumerate(param.choices, start=1):
        try:
            read.append(_coerce(choice, param.type))
        except _NotType:
            problems.append(
                f"params.{name}.choices[{index}]: {format_value(choice)!r} is not "
                f"{_TYPE_NAMES[param.type]}{_yaml_hint(choice, param.type)}"
            )
    return read


def _yaml_hint(value: ParamValue, kind: ParamType) -> str:
    """Why a str parameter got a bool: YAML 1.1 reads yes, no, on, off (and NO) as one."""
    if kind is ParamType.STR and isinstance(value, bool):
        return " (YAML reads yes/no/on/off as true/false: quote the value)"
    return ""


def _allowed(param: Param, value: ParamValue, choices: list[ParamValue] | None) -> str | None:
    """Why `value` is not allowed (outside the choices, not matching the pattern), or None."""
    if choices is not None and value not in choices:
        return f"not one of {', '.join(format_value(choice) for choice in choices)}"
    pattern = param.pattern
    if pattern is not None and isinstance(value, str) and re.fullmatch(pattern, value) is None:
        return f"does not match the pattern {pattern}"
    return None


def _declared(outline: Outline) -> str:
    names = ", ".join(outline.params)
    return f"the outline declares {names}" if names else "the outline declares no parameters"


def resolve_params(outline: Outline, given: Mapping[str, str], path: str) -> dict[str, ParamValue]:
    """Every declared parameter's value: given, else its default; OutlineError lists problems."""
    problems: list[str] = []
    for name in given:
        if name not in outline.params:
            close = difflib.get_close_matches(name, list(outline.params), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"--param {name}: no such parameter{hint}; {_declared(outline)}")
    values: dict[str, ParamValue] = {}
    for name, param in outline.params.items():
        choices = _choices(name, param, problems)
        if name in given:
            where, shown = f"--param {name}={given[name]}", given[name]
            try:
                value = _from_text(given[name], param.type)
            except _NotType:
                problems.append(f"{where}: not {_TYPE_NAMES[param.type]}")
                continue
        elif param.default is not None:
            # A default is checked like a given value: a wrong one would fail every run.
            where, shown = f"params.{name}.default", format_value(param.default)
            try:
                value = _coerce(param.default, param.type)
            except _NotType:
                problems.append(
                    f"{where}: {shown!r} is not {_TYPE_NAMES[param.type]}"
                    f"{_yaml_hint(param.default, param.type)}"
                )
                continue
        else:
            problems.append(f"params.{name}: no value; give --param {name}=…")
            continue
        why = _allowed(param, value, choices)
        if why is not None:
            subject = "" if where.startswith("--param") else f"{shown!r} "
            problems.append(f"{where}: {subject}{why}")
            continue
        values[name] = value
    if problems:
        raise OutlineError(path, problems)
    return values


def substitute(outline: Outline, values: Mapping[str, ParamValue]) -> None:
    """Replace `{name}` of declared parameters in the outline's text, in place.

    Plain replacement in the title, section titles, briefs, points, table captions and chart
    titles and alt texts: the text is never compiled as a template, and `{other}` stays.
    """
    names = [name for name in values if name in outline.params]
    if not names:
        return
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, names)) + r")\}")
    shown = {name: format_value(values[name]) for name in names}

    def fill(text: str) -> str:
        return pattern.sub(lambda match: shown[match.group(1)], text)

    outline.title = fill(outline.title)
    for section in outline.walk():
        section.title = fill(section.title)
        section.brief = fill(section.brief)
        section.points = [fill(point) for point in section.points]
        if section.table is not None and section.table.caption is not None:
            section.table.caption = fill(section.table.caption)
        if section.chart is not None:
            if section.chart.title is not None:
                section.chart.title = fill(section.chart.title)
            if section.chart.alt is not None:
                section.chart.alt = fill(section.chart.alt)
    # The table of contents is cached from the titles; it is made again from the new ones.
    for cached in ("_toc", "section_lines"):
        outline.__dict__.pop(cached, None)
