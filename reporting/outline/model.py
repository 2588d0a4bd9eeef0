"""The report outline: its model, section numbering, and a loader that reports every problem."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from reporting.errors import OutlineError

MAX_OUTLINE_BYTES = 5_000_000
# YAML aliases can expand a small file exponentially ("billion laughs"); count what they expand to.
MAX_OUTLINE_NODES = 200_000
MAX_OUTLINE_CHARS = 10_000_000  # characters of text once aliases are expanded
# Deeper sections would need a seventh Markdown heading level, which does not exist.
MAX_SECTION_DEPTH = 5


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:  # `? [a, b]` or `? {a: b}`: a complex key, which YAML allows
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a mapping key must be a plain value (a name or a number), "
                    f"not a {type(key).__name__}",
                    key_node.start_mark,
                ) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# A source entry: a path or glob relative to the outline file.
SourcePattern = Annotated[str, Field(min_length=1, max_length=1_000)]

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

    _id: str = PrivateAttr(default="")
    _depth: int = PrivateAttr(default=1)
    _place: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _infer_type(self) -> Section:
        if self.type is None:
            self.type = infer_section_type(self.title)
        return self

    @property
    def id(self) -> str:
        """Number of the section in the outline: 1, 1.1, 1.2, 2 …"""
        return self._id

    @property
    def place(self) -> str:
        """Where the section is in the outline file, as errors say it: `sections[1].sections[0]`."""
        return self._place

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
    sources: list[SourcePattern] = Field(
        default_factory=list, description="Source files for every section (paths or globs)."
    )
    sections: list[Section] = Field(min_length=1, description="Top-level sections.")

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
                section._place = f"{place}sections[{index - 1}]"
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

    def table_of_contents(self) -> list[str]:
        """One line per section: its number and title, indented by depth."""
        return list(self._toc)


def _place(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as `sections[1].title`."""
    place = ""
    for part in loc:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place


def _describe(error: dict[str, Any], known: list[str]) -> str:
    """One readable line for one pydantic error."""
    place = _place(tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][-1])
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        allowed = ", ".join(known)
        return f"{place}: unknown key{suggestion}; allowed keys: {allowed}"
    message = error["msg"]
    message = message[0].lower() + message[1:] if message else message
    return f"{place}: {message}" if place else message


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed at the mapping that holds `loc`'s last key."""
    model: type[BaseModel] = Section if "sections" in loc[:-1] else Outline
    return list(model.model_fields)


def expanded_size(
    node: yaml.Node, memo: dict[int, tuple[int, int]] | None = None
) -> tuple[int, int]:
    """Nodes and characters a YAML node stands for once every alias is expanded."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = (1, 0)  # a cycle counts once while it is being measured
    nodes, chars = 1, 0
    if isinstance(node, yaml.ScalarNode):
        chars = len(str(node.value))
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    for child in children:
        child_nodes, child_chars = expanded_size(child, memo)
        nodes, chars = nodes + child_nodes, chars + child_chars
    memo[id(node)] = (nodes, chars)
    return nodes, chars


def parse_outline(data: Any, path: str) -> Outline:
    """Validate already-parsed YAML data as an outline, reporting every problem at once."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise OutlineError(
            path, [f"the outline is {kind}; it must be a mapping with `title` and `sections`"]
        )
    try:
        return Outline.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(dict(e), _known_keys(tuple(e["loc"]))) for e in exc.errors()]
        raise OutlineError(path, problems) from None


def load_outline(path: Path) -> Outline:
    """Read, parse and validate an outline file; every error names the file and the place."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise OutlineError(name, ["file not found"]) from None
    except OSError as exc:
        raise OutlineError(name, [f"cannot read the file: {exc.strerror}"]) from None
    if len(raw) > MAX_OUTLINE_BYTES:
        raise OutlineError(
            name, [f"the file is {len(raw):,} bytes; the limit is {MAX_OUTLINE_BYTES:,}"]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutlineError(
            name,
            [
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start}); save the file as UTF-8"
            ],
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        nodes, chars = expanded_size(root) if root is not None else (0, 0)
        if nodes > MAX_OUTLINE_NODES or chars > MAX_OUTLINE_CHARS:
            raise OutlineError(
                name,
                [
                    f"the outline expands to {nodes:,} YAML nodes and {chars:,} characters "
                    f"(limits {MAX_OUTLINE_NODES:,} and {MAX_OUTLINE_CHARS:,}; aliases?); refused"
                ],
            )
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except RecursionError:
        raise OutlineError(name, ["the outline is nested too deeply to read"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise OutlineError(name, [f"{where}invalid YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise OutlineError(name, [f"invalid YAML: {exc}"]) from None
    except ValueError as exc:  # a well-formed but impossible value, e.g. date: 2026-02-30
        raise OutlineError(name, [f"invalid value (an impossible date?): {exc}"]) from None
    return parse_outline(data, name)
