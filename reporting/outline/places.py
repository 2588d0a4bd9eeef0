"""Places in a validated file, as error messages name them: `sections[1].title`, `DRAFT.results`."""

from __future__ import annotations


def place(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a place: list indexes in brackets, keys joined by dots."""
    text = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid mapping key, not a place
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def with_place(loc: tuple[int | str, ...], message: str) -> str:
    """`place: message`, or the message alone when the problem is the whole file."""
    where = place(loc)
    return f"{where}: {message}" if where else message
