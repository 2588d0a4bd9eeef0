"""Places in a validated file, as error messages name them: `sections[2] "Timeline".words`.

List items count from 1, as people count them; a section also shows its title, so the place
can be found in the file without counting.
"""

from __future__ import annotations

import json
from typing import Any

TITLE_CHARS = 60  # a longer title is cut: the place must stay one readable line


def section_place(number: int, title: object) -> str:
    """`sections[2] "Timeline"`: a section by its 1-based number in its list, and its title."""
    if not isinstance(title, str) or not title.strip():
        return f"sections[{number}]"  # no title (yet): the number alone
    shown = " ".join(title.split())
    if len(shown) > TITLE_CHARS:
        shown = shown[: TITLE_CHARS - 1].rstrip() + "…"
    return f"sections[{number}] {json.dumps(shown, ensure_ascii=False)}"


def place(loc: tuple[int | str, ...], *, lists: bool = True, data: Any = None) -> str:
    """A pydantic location as a place: list items `[n]` from 1, keys joined by dots.

    `data` is the file's parsed content: it gives each section's title. `lists=False` for
    files made only of mappings, where a number is a key (`DRAFT.1`), not an index.
    """
    text, node, previous = "", data, None
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid mapping key, not a place
            continue
        if isinstance(part, int) and lists and not isinstance(node, dict):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if previous == "sections":
                title = node.get("title") if isinstance(node, dict) else None
                text = text.removesuffix("sections") + section_place(part + 1, title)
            else:
                text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
        previous = part
    return text


def with_place(
    loc: tuple[int | str, ...], message: str, *, lists: bool = True, data: Any = None
) -> str:
    """`place: message`, or the message alone when the problem is the whole file."""
    where = place(loc, lists=lists, data=data)
    return f"{where}: {message}" if where else message
