"""What the data stage hands on: each section's query result and the run's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reporting.outline.model import ParamValue


@dataclass(frozen=True)
class QueryResult:
    """One section's query and the rows it returned, as plain Python values."""

    section_id: str
    place: str  # where the query is in the outline file: `sections[2].query`
    sql: str
    engine: str  # "duckdb", "sqlite", "postgresql", …
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # int, float, Decimal, str, date, datetime, bool or None
    sha256: str  # of the columns and rows, canonically serialised: the cache sees new data

    @property
    def row_count(self) -> int:
        """How many rows the query returned."""
        return len(self.rows)


@dataclass(frozen=True)
class DataResults:
    """Every query result of a build, by section id, with the values its parameters took."""

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    queries: Mapping[str, QueryResult] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # data name → sha256 of its file
