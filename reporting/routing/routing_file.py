"""ROUTING_FILE: YAML rows of phase and section type → role that override the routing matrix.

```yaml
DRAFT:
  results: primary
  any: secondary      # every other section type
EXPAND:
  analysis: primary
```

Keys and roles ignore case; a specific section type wins over `any`. Rows apply in hybrid mode
only. The abstract is not overridable: the abstract policy decides it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, PlainValidator, RootModel, ValidationError

from reporting.errors import ConfigError
from reporting.outline.loader import UniqueKeyLoader
from reporting.outline.model import SectionType
from reporting.outline.places import with_place
from reporting.phases import SECTION_PHASES, CompilationPhase

ANY = "any"  # the section-type key that matches every type
MAX_ROUTING_FILE_BYTES = 1_000_000
PHASE_NAMES: tuple[str, ...] = tuple(phase.name for phase in SECTION_PHASES)
TYPE_NAMES: tuple[str, ...] = (*(kind.value for kind in SectionType), ANY)
ROLE_NAMES: tuple[str, ...] = ("primary", "secondary")
ABSTRACT_REFUSED = (
    "the abstract cannot be overridden: the abstract policy decides it (the primary, or the "
    "secondary when the primary is local); use one of " + ", ".join(PHASE_NAMES)
)

RoleName = Literal["primary", "secondary"]


def _kind(value: Any) -> str:
    """How an error names a value of the wrong kind: `nothing`, `a list`."""
    return "nothing" if value is None else f"a {type(value).__name__}"


def _hint(word: str, known: tuple[str, ...]) -> str:
    """` (did you mean 'results'?)` when a known word is close, else nothing."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _phase_key(value: Any) -> CompilationPhase:
    """A phase key, case-insensitive: DRAFT, EXPAND or REFINE."""
    name = value.strip().upper() if isinstance(value, str) else ""
    if name == CompilationPhase.ABSTRACT.name:
        raise ValueError(ABSTRACT_REFUSED)
    if name not in PHASE_NAMES:
        hint = _hint(name, PHASE_NAMES) if name else ""
        raise ValueError(f"unknown phase{hint}; use one of {', '.join(PHASE_NAMES)}")
    return CompilationPhase[name]


def _type_key(value: Any) -> str:
    """A section-type key, case-insensitive: a SectionType value or `any`."""
    name = value.strip().lower() if isinstance(value, str) else ""
    if name not in TYPE_NAMES:
        hint = _hint(name, TYPE_NAMES) if name else ""
        raise ValueError(f"unknown section type{hint}; use one of {', '.join(TYPE_NAMES)}")
    return name


def _role(value: Any) -> RoleName:
    """A role, case-insensitive: primary or secondary."""
    if value is None:
        raise ValueError("the role is missing; use primary or secondary")
    if not isinstance(value, str):
        raise ValueError(f"the role must be primary or secondary, not {_kind(value)}")
    name = value.strip().lower()
    if name == "primary":
        return "primary"
    if name == "secondary":
        return "secondary"
    raise ValueError(f"unknown role {value!r}{_hint(name, ROLE_NAMES)}; use primary or secondary")


PhaseKey = Annotated[CompilationPhase, PlainValidator(_phase_key)]
TypeKey = Annotated[str, PlainValidator(_type_key)]
RoleValue = Annotated[RoleName, PlainValidator(_role)]


class RoutingFileModel(RootModel[dict[PhaseKey, dict[TypeKey, RoleValue]]]):
    """The schema of a routing file: phase → section type (or `any`) → role."""

    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True)
class RoutingOverrides:
    """A validated routing file: its name, as rules cite it, and its rows."""

    name: str
    rows: Mapping[CompilationPhase, Mapping[str, RoleName]]

    def lookup(
        self, phase: CompilationPhase, section_type: SectionType | None
    ) -> tuple[str, RoleName] | None:
        """The (type key, role) of the row deciding a phase and type: the type's own, else `any`."""
        row = self.rows.get(phase, {})
        keys = (section_type.value, ANY) if section_type is not None else (ANY,)
        for key in keys:
            if key in row:
                return key, row[key]
        return None


def _describe(error: Mapping[str, Any]) -> str:
    """One `place: what` line for one pydantic error."""
    if error["type"] == "dict_type":
        message = f"expected a mapping of section type → role, got {_kind(error['input'])}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return with_place(tuple(error["loc"]), message, lists=False)  # keys only, no lists


def _folded_twice(data: Mapping[Any, Any], what: str) -> list[str]:
    """Keys of one mapping that differ only in case (DRAFT and draft), one problem each."""
    problems: list[str] = []
    seen: dict[str, Any] = {}
    for key in data:
        if not isinstance(key, str):
            continue
        folded = key.strip().lower()
        if folded in seen:
            problems.append(f"{key}: the same {what} as {seen[folded]} (keys ignore case)")
        else:
            seen[folded] = key
    return problems


def parse_routing(data: Any, path: Path) -> RoutingOverrides:
    """Validate already-parsed YAML data as a routing file, reporting every problem at once."""
    where = str(path)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError(
            f"{where}: the file is {kind}; it must be a mapping of phase → section type → "
            f"role, the phases {', '.join(PHASE_NAMES)}"
        )
    problems = _folded_twice(data, "phase")
    for phase, row in data.items():
        if isinstance(row, dict):
            problems += [f"{phase}.{problem}" for problem in _folded_twice(row, "section type")]
    try:
        rows = RoutingFileModel.model_validate(data).root
    except ValidationError as exc:
        errors = exc.errors()
        # Under a phase that is itself wrong, the rows' own errors are noise.
        wrong = {e["loc"][0] for e in errors if tuple(e["loc"][1:]) == ("[key]",)}
        problems += [
            _describe(e)
            for e in errors
            if tuple(e["loc"][1:]) == ("[key]",) or e["loc"][0] not in wrong
        ]
        rows = {}
    if problems:
        raise ConfigError("\n".join(f"{where}: {problem}" for problem in problems))
    return RoutingOverrides(name=path.name, rows=rows)


def load_routing_file(path: Path) -> RoutingOverrides:
    """Read, parse and validate ROUTING_FILE; every error names the file and the place."""
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found (ROUTING_FILE)") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_ROUTING_FILE_BYTES:
        raise ConfigError(
            f"{where}: the file is {len(raw):,} bytes; the limit is {MAX_ROUTING_FILE_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader refusing duplicate keys
    except RecursionError:
        raise ConfigError(f"{where}: the file is nested too deeply to read") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}: {at}invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    except ValueError as exc:  # a well-formed but impossible value, e.g. 2026-02-30
        raise ConfigError(f"{where}: invalid value: {exc}") from None
    return parse_routing(data, path)
