"""A light reading of a query's SQL: its `$name` parameters, the data it names, its statements.

Not a parser: the SQL is split into code, string literals, quoted identifiers, comments and
dollar-quoted strings, so that a `$name` or a word inside a string or comment is never taken
for a parameter or a table. The database still parses the query and reports its errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TOKENS = re.compile(
    r"""
      (?P<string>'(?:[^']|'')*(?:'|\Z))             # '…', '' inside; unterminated runs out
    | (?P<ident>"(?:[^"]|"")*(?:"|\Z))              # "quoted identifier"
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))        # -- line, /* block */
    | (?P<dollar>\$\$.*?(?:\$\$|\Z)|\$(?P<tag>[A-Za-z_]\w*)\$.*?(?:\$(?P=tag)\$|\Z))
    | \$(?P<param>[A-Za-z_]\w*)                     # $name: a bound parameter
    """,
    re.VERBOSE | re.DOTALL,
)
# What SQLAlchemy's text() takes for a bind parameter: escaped so that only ours are.
_TEXT_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")


@dataclass(frozen=True)
class Piece:
    """A run of SQL: `code`, `string`, `ident`, `comment`, `dollar` or `param` (its name)."""

    kind: str
    text: str


def pieces(sql: str) -> list[Piece]:
    """The SQL cut into code and the parts no word of which is a name or a parameter."""
    out: list[Piece] = []
    position = 0
    for match in _TOKENS.finditer(sql):
        if match.start() > position:
            out.append(Piece("code", sql[position : match.start()]))
        kind = next(k for k in ("string", "ident", "comment", "dollar", "param") if match[k])
        out.append(Piece(kind, match["param"] if kind == "param" else match[0]))
        position = match.end()
    if position < len(sql):
        out.append(Piece("code", sql[position:]))
    return out


def parameters(sql: str) -> list[str]:
    """The `$name` parameters the SQL uses, in first-use order."""
    return list(dict.fromkeys(p.text for p in pieces(sql) if p.kind == "param"))


def _names_text(sql: str) -> str:
    """The code and quoted identifiers only, where a data name can be."""
    return " ".join(
        p.text.strip('"') if p.kind == "ident" else p.text
        for p in pieces(sql)
        if p.kind in ("code", "ident")
    )


def names_used(sql: str, names: Iterable[str]) -> list[str]:
    """Which of `names` (data entries) the SQL mentions as a word, outside strings and comments.

    An approximation: a column or alias spelled like an entry counts too, which at worst sends
    the query to the engine that holds that entry.
    """
    text = _names_text(sql)
    return [n for n in names if re.search(rf"(?<![\w$.]){re.escape(n)}(?!\w)", text, re.I)]


def statement_count(sql: str) -> int:
    """How many statements the SQL holds: `;` outside strings and comments separates them."""
    code = "".join(p.text if p.kind == "code" else " " for p in pieces(sql))
    return sum(1 for part in code.split(";") if part.strip())


def first_word(sql: str) -> str:
    """The SQL's first keyword, lower case (`select`, `with`, …), after comments and brackets."""
    code = "".join(p.text if p.kind == "code" else " " for p in pieces(sql))
    match = _FIRST_WORD.match(code)
    return match.group(1).lower() if match else ""


def for_sqlalchemy(sql: str) -> str:
    """The SQL for SQLAlchemy's text(): `$name` as a bind parameter, every other `:x` kept.

    A parameter becomes `(:name)`: the brackets keep a cast after it (`$n::int`) from being
    read into the name.
    """
    out: list[str] = []
    for piece in pieces(sql):
        if piece.kind == "param":
            out.append(f"(:{piece.text})")
        else:
            out.append(_TEXT_BIND.sub(lambda m: "\\:" + m.group(1), piece.text))
    return "".join(out)
