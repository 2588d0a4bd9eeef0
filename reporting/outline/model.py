"""The report outline as a model: sections, their types, numbering and target lengths."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from enum import Enum
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from reporting.outline.places import section_place
from reporting.text import strip_controls_deep

# Deeper sections would need a seventh Markdown heading level, which does not exist.
MAX_SECTION_DEPTH = 5


# A source entry: a path or glob relative to the outline file.
SourcePattern = Annotated[str, Field(min_length=1, max_length=1_000)]

# A parameter or data name: also a SQL identifier and a `{name}` placeholder.
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]

DEFAULT_WORDS = 200
DEFAULT_PARENT_WORDS = 120


class SectionType(Enum):
    """What kind of section this is; routing and prompts depend on it."""

    INTRO = "intro"
    BACKGROUND = "background"
    METHOD = "method"
    IMPLEMENTATION = "implementation"
    RESULTS = "results"
    ANALYSIS = "analysis"
    DISCUSSION = "discussion"
    CONCLUSION = "conclusion"
    RECOMMENDATIONS = "recommendations"
    APPENDIX = "appendix"
    OTHER = "other"


# Title words that name a section's type, tried in this order; the first match wins.
TYPE_KEYWORDS: tuple[tuple[SectionType, tuple[str, ...]], ...] = (
    (SectionType.APPENDIX, ("appendix", "appendices", "glossary")),
    (SectionType.INTRO, ("introduction", "intro", "overview", "executive summary", "purpose")),
    (SectionType.CONCLUSION, ("conclusion", "conclusions", "concluding", "closing", "summary")),
    (
        SectionType.RECOMMENDATIONS,
        (
            "recommendation",
            "recommendations",
            "next steps",
            "action items",
            "future work",
            "roadmap",
        ),
    ),
    (SectionType.BACKGROUND, ("background", "context", "motivation", "history", "related work")),
    (SectionType.METHOD, ("method", "methods", "methodology", "approach", "experimental setup")),
    (SectionType.IMPLEMENTATION, ("implementation", "architecture", "deployment", "design")),
    (
        SectionType.RESULTS,
        (
            "results",
            "findings",
            "evaluation",
            "outcomes",
            "metrics",
            "performance",
            "timeline",
            "impact",
        ),
    ),
    (SectionType.ANALYSIS, ("analysis", "assessment", "root cause", "risks", "risk")),
    (SectionType.DISCUSSION, ("discussion", "limitations", "lessons learned", "lessons")),
)


def infer_section_type(title: str) -> SectionType:
    """Guess a section's type from its title (Introduction → intro), else `other`."""
    words = " ".join(re.findall(r"[a-z]+", title.lower()))
    for section_type, keywords in TYPE_KEYWORDS:
        if any(re.search(rf"\b{re.escape(keyword)}\b", words) for keyword in keywords):
            return section_type
    return SectionType.OTHER


class ParamType(Enum):
    """The type a parameter's value is read as."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"


ParamValue = bool | int | float | dt.date | str


class Param(BaseModel):
    """A run parameter: `--param name=value`, bound in queries as `$name`, `{name}` in text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: ParamType = Field(ParamType.STR, description="Type of the value.")
    default: ParamValue | None = Field(None, description="Value when none is given.")
    choices: list[ParamValue] | None = Field(None, min_length=1, description="Allowed values.")
    pattern: str | None = Field(None, max_length=1_000, description="Regex a str value matches.")
    description: str | None = Field(None, max_length=2_000, description="What it selects.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern


class DataSource(BaseModel):
    """A named table for queries: a data file (DuckDB) or a database table (SQLAlchemy)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    path: str | None = Field(None, min_length=1, max_length=1_000, description="CSV/Parquet/JSON.")
    url: str | None = Field(None, min_length=1, max_length=2_000, description="Database URL.")
    url_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Variable holding the URL."
    )
    table: str | None = Field(
        None, min_length=1, max_length=300, description="Table in the database (default: name)."
    )

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_location(self) -> DataSource:
        given = [key for key in ("path", "url", "url_env") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `path`, `url` or `url_env`")
        if self.path is not None and self.table is not None:
            raise ValueError("`table` names a database table; a file entry has none")
        return self

    @property
    def is_file(self) -> bool:
        """True for a data file read with DuckDB, False for a database table."""
        return self.path is not None


class TableSpec(BaseModel):
    """How a section's query result is shown as a table."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    columns: list[str] | None = Field(None, min_length=1, description="Columns (default: all).")
    caption: str | None = Field(None, max_length=500, description="Caption under the table.")
    max_rows: int = Field(20, ge=1, le=1_000, description="Rows shown at most.")


class ChartKind(Enum):
    """The kinds of chart drawn from a query result."""

    LINE = "line"
    BAR = "bar"
    BARH = "barh"
    AREA = "area"
    SCATTER = "scatter"


class ChartSpec(BaseModel):
    """A chart of a section's query result, drawn with matplotlib."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ChartKind = Field(ChartKind.LINE, description="Kind of chart.")
    x: str = Field(min_length=1, description="Column on the x axis.")
    y: list[str] = Field(min_length=1, max_length=12, description="Columns plotted against x.")
    title: str | None = Field(None, max_length=300, description="Title and caption.")
    alt: str | None = Field(None, max_length=1_000, description="Alt text for readers.")

    @field_validator("y", mode="before")
    @classmethod
    def _one_column(cls, y: Any) -> Any:
        return [y] if isinstance(y, str) else y


class Section(BaseModel):
    """One section of the outline, possibly with subsections of the same shape."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)

    title: str = Field(min_length=1, max_length=300, description="Heading of the section.")
    type: SectionType | None = Field(None, description="Kind of section; inferred when omitted.")
    brief: str = Field("", max_length=200_000, description="What the section must say.")
    points: list[str] = Field(default_factory=list, description="Facts the section must cover.")
    words: int | None = Field(None, ge=20, le=20_000, description="Target length in words.")
    sources: list[SourcePattern] = Field(
        default_factory=list, description="Source files for this section (paths or globs)."
    )
    sections: list[Section] = Field(default_factory=list, description="Subsections.")
    query: str | None = Field(
        None, min_length=1, max_length=100_000, description="SQL over the outline's `data`."
    )
    table: TableSpec | None = Field(None, description="Show the query result as a table.")
    chart: ChartSpec | None = Field(None, description="Draw the query result as a chart.")
    allow_empty: bool = Field(False, description="A query with no rows shows 'No data.'")

    _id: str = PrivateAttr(default="")
    _depth: int = PrivateAttr(default=1)
    _place: str = PrivateAttr(default="")
    # The query result as facts for the prompts and the checks, set by the data stage.
    _data_facts: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _infer_type(self) -> Section:
        if self.type is None:
            self.type = infer_section_type(self.title)
        return self

    @model_validator(mode="after")
    def _data_needs_query(self) -> Section:
        if self.query is None:
            given = [key for key in ("table", "chart") if getattr(self, key) is not None]
            if self.allow_empty:
                given.append("allow_empty")
            if given:
                raise ValueError(f"{' and '.join(f'`{g}`' for g in given)} need a `query`")
        return self

    @property
    def id(self) -> str:
        """Number of the section in the outline: 1, 1.1, 1.2, 2 …"""
        return self._id

    @property
    def place(self) -> str:
        """Where the section is in the outline file, as errors say it: `sections[2] "Timeline"`."""
        return self._place

    @property
    def data_facts(self) -> str:
        """The figures of the section's query result, as its prompts give them ("" if none)."""
        return self._data_facts

    def attach_data(self, facts: str) -> None:
        """Give the section the facts text of its query result (the data stage does)."""
        self._data_facts = facts

    @property
    def depth(self) -> int:
        """1 for a top-level section, 2 for its subsections, and so on."""
        return self._depth

    @property
    def section_type(self) -> SectionType:
        """The section's type, given or inferred."""
        return self.type or SectionType.OTHER

    @property
    def target_words(self) -> int:
        """Target length: `words`, else a default that is shorter for parents of subsections."""
        if self.words is not None:
            return self.words
        return DEFAULT_PARENT_WORDS if self.sections else DEFAULT_WORDS


class Outline(BaseModel):
    """A whole report outline with its sections numbered in outline order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300, description="Title of the report.")
    author: str | None = Field(None, max_length=300, description="Author line.")
    audience: str | None = Field(None, max_length=2_000, description="Who reads the report.")
    tone: str | None = Field(None, max_length=300, description="Voice of the prose.")
    date: dt.date | None = Field(None, description="Date printed on the report.")
    toc: bool = Field(False, description="A table of contents after the abstract.")
    sources: list[SourcePattern] = Field(
        default_factory=list, description="Source files for every section (paths or globs)."
    )
    sections: list[Section] = Field(min_length=1, description="Top-level sections.")
    params: dict[Name, Param] = Field(
        default_factory=dict, description="Run parameters (`--param name=value`)."
    )
    data: dict[Name, DataSource] = Field(
        default_factory=dict, description="Tables the sections' queries read."
    )
    _sha256: str | None = PrivateAttr(None)  # of the file's bytes, set by the loader

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        # YAML's "\0" or "\e" escapes can put a NUL or a terminal escape in any string.
        return strip_controls_deep(data)

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the file the outline was read from (None when built in code)."""
        return self._sha256

    @model_validator(mode="after")
    def _number_sections(self) -> Outline:
        def number(sections: list[Section], prefix: str, depth: int, place: str) -> None:
            if sections and depth > MAX_SECTION_DEPTH:
                raise ValueError(
                    f"section {prefix.rstrip('.')} has subsections {depth} levels deep; "
                    f"at most {MAX_SECTION_DEPTH} levels fit the document's headings"
                )
            for index, section in enumerate(sections, start=1):
                section._id = f"{prefix}{index}"
                section._depth = depth
                section._place = place + section_place(index, section.title)
                number(section.sections, f"{section._id}.", depth + 1, f"{section._place}.")

        number(self.sections, "", 1, "")
        return self

    def walk(self) -> Iterator[Section]:
        """Every section and subsection in outline (reading) order."""

        def visit(sections: list[Section]) -> Iterator[Section]:
            for section in sections:
                yield section
                yield from visit(section.sections)

        return visit(self.sections)

    @cached_property
    def _toc(self) -> tuple[str, ...]:
        return tuple(f"{'  ' * (s.depth - 1)}{s.id} {s.title}" for s in self.walk())

    @cached_property
    def section_lines(self) -> tuple[str, ...]:
        """`1.2 Title` per section, unindented: every prompt lists them, so made once."""
        return tuple(line.strip() for line in self._toc)

    def table_of_contents(self) -> list[str]:
        """One line per section: its number and title, indented by depth."""
        return list(self._toc)
