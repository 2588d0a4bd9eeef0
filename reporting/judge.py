"""Pairwise judging of a primary and a secondary text, asked in both orders to cancel position bias.

The judge sees the pair twice: first with A = primary and B = secondary, then with A = secondary
and B = primary. Only a preference that survives the swap counts; anything else is a tie.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from reporting.phases import CompilationPhase
from reporting.prompts import _render
from reporting.text import strip_think

Choice = Literal["A", "B"]

JUDGE_TEMPLATE = "judge.j2"

# Characters that dress a letter up without changing it: **B**, `A`, "A", (B), [A], # A.
_DRESSING = re.compile(r"[*_`\"'()\[\]#>]")
# A leading label before the letter: "Answer: A", "Verdict - B", "The answer is A".
_LABEL = re.compile(
    r"^\s*(?:(?:final|my|the)\s+)?(?:answer|verdict|choice|winner|decision|better text)"
    r"(?:\s+is)?\s*[:=\-]?\s*",
    re.IGNORECASE,
)
# The reply opens with the letter alone or followed by punctuation: "A", "B.", "A: because…".
_LEADING = re.compile(r"^\s*([AB])\s*(?:$|[.:,;!\-\u2013\u2014])", re.IGNORECASE)
# A capital A or B standing alone ("Text B is better"); a lone lower-case "a" is an article.
_STANDALONE = re.compile(r"(?<![\w-])([AB])(?![\w-])")
# A letter named as a text in any case: "text b", "option a", "response B".
_NAMED = re.compile(r"\b(?:text|option|response|answer|output|version)\s+([ab])\b", re.IGNORECASE)


class Verdict(Enum):
    """Which provider's text the judge preferred in both orders, or a tie."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    TIE = "tie"


def judge_messages(
    phase: CompilationPhase,
    title: str,
    brief: str,
    target_words: int,
    text_a: str,
    text_b: str,
) -> list[BaseMessage]:
    """System and user messages asking which of two texts better does `phase`'s job."""
    # Every outline and model text is passed as a variable: data, never template source.
    context = {
        "phase": phase.name,
        "title": title,
        "brief": brief,
        "words": target_words,
        "text_a": text_a,
        "text_b": text_b,
    }
    return [
        SystemMessage(_render(JUDGE_TEMPLATE, part="system", **context)),
        HumanMessage(_render(JUDGE_TEMPLATE, part="user", **context)),
    ]


def _letters(text: str) -> set[str]:
    """The distinct letters A and B that a piece of the reply names."""
    found = {m.group(1) for m in _STANDALONE.finditer(text)}
    found.update(m.group(1).upper() for m in _NAMED.finditer(text))
    return found


def _single(letters: set[str]) -> Choice | None:
    """The one letter named, or None when both or neither are."""
    if letters == {"A"}:
        return "A"
    if letters == {"B"}:
        return "B"
    return None


def parse_choice(reply: str) -> Choice | None:
    """The letter a judge's reply chose; None when it names both letters or neither."""
    lines = [line for line in strip_think(reply).splitlines() if line.strip()]
    if not lines:
        return None
    first = _LABEL.sub("", _DRESSING.sub(" ", lines[0]), count=1)
    leading = _LEADING.match(first)
    if leading:
        return "A" if leading.group(1).upper() == "A" else "B"
    letters = _letters(first)
    if letters:
        return _single(letters)
    # The first line named no letter ("After reading both…"): look at the whole reply.
    return _single(_letters(_DRESSING.sub(" ", "\n".join(lines))))


def combine(first: Choice | None, second: Choice | None) -> Verdict:
    """The verdict over both orders: first A=primary, B=secondary; second A=secondary, B=primary."""
    if first is None or second is None:
        return Verdict.TIE
    first_pick = Verdict.PRIMARY if first == "A" else Verdict.SECONDARY
    second_pick = Verdict.SECONDARY if second == "A" else Verdict.PRIMARY
    return first_pick if first_pick is second_pick else Verdict.TIE
