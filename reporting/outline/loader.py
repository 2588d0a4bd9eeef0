"""Reading an outline file: size limits, safe YAML, and every problem reported at once."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from reporting.errors import OutlineError
from reporting.outline.model import (
    ChartSpec,
    DataSource,
    Outline,
    Param,
    Section,
    TableSpec,
)
from reporting.outline.places import place, with_place

MAX_OUTLINE_BYTES = 5_000_000
# YAML aliases can expand a small file exponentially ("billion laughs"); count what they expand to.
MAX_OUTLINE_NODES = 200_000
MAX_OUTLINE_CHARS = 10_000_000  # characters of text once aliases are expanded


class UniqueKeyLoader(yaml.SafeLoader):
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


def _describe(error: dict[str, Any], known: list[str], data: Any) -> str:
    """One readable line for one pydantic error; `data` gives the sections' titles."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"{place(loc, data=data)}: unknown key{suggestion}; allowed keys: {', '.join(known)}"
    message = error["msg"]
    return with_place(loc, message[0].lower() + message[1:] if message else message, data=data)


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed at the mapping that holds `loc`'s last key."""
    parent = loc[:-1]
    model: type[BaseModel] = Section if "sections" in parent else Outline
    if len(parent) >= 2 and parent[-2] in ("params", "data") and "sections" not in parent:
        model = Param if parent[-2] == "params" else DataSource
    elif parent and parent[-1] in ("table", "chart") and "sections" in parent:
        model = TableSpec if parent[-1] == "table" else ChartSpec
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
        problems = [_describe(dict(e), _known_keys(tuple(e["loc"])), data) for e in exc.errors()]
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
    # Parsed once: the node tree is measured before anything is built from it.
    loader: UniqueKeyLoader | None = None
    try:
        loader = UniqueKeyLoader(text)  # a SafeLoader subclass; it refuses control characters
        root = loader.get_single_node()
        nodes, chars = expanded_size(root) if root is not None else (0, 0)
        if nodes > MAX_OUTLINE_NODES or chars > MAX_OUTLINE_CHARS:
            raise OutlineError(
                name,
                [
                    f"the outline expands to {nodes:,} YAML nodes and {chars:,} characters "
                    f"(limits {MAX_OUTLINE_NODES:,} and {MAX_OUTLINE_CHARS:,}; aliases?); refused"
                ],
            )
        data = loader.construct_document(root) if root is not None else None
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
    finally:
        if loader is not None:
            loader.dispose()
    outline = parse_outline(data, name)
    outline._sha256 = hashlib.sha256(raw).hexdigest()  # the manifest's record of the input
    return outline
