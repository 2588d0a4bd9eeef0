"""Places in a validated file, as error messages name them: `sections[1].title`, `DRAFT.results`."""

from __future__ import annotations


def place(loc: tuple[int | str, ...], *, lists: bool = True) -> str:
    """A pydantic location as a place: list indexes in brackets, keys joined by dots.

    `lists=False` for files made only of mappings, where a number is a key (`DRAFT.1`), not
    an index.
    """
    text = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid mapping key, not a place
            continue
        if isinstance(part, int) and lists:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def with_place(loc: tuple[int | str, ...], message: str, *, lists: bool = True) -> str:
    """`place: message`, or the message alone when the problem is the whole file."""
    where = place(loc, lists=lists)
    return f"{where}: {message}" if where else message
