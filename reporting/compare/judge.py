"""Pairwise judging of a primary and a secondary text, asked in both orders to cancel position bias.

The judge sees the pair twice: first with A = primary and B = secondary, then with A = secondary
and B = primary. A preference that survives the swap is a verdict for that provider; letters in both
orders that favour different providers (the same position twice) are a tie; a reply in either order
that names no single letter gives no verdict at all (None), never a tie.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from reporting.compiler.cleanup import strip_think
from reporting.compiler.prompts import _render
from reporting.phases import CompilationPhase

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
# The reply opens with the letter as the subject of a verdict: "A is better…", "B clearly wins".
# The second group is the rest of the line, verb included, so "A doesn't…" keeps its negation.
_LEADING_VERB = re.compile(
    r"^\s*([AB])\s+(?=(?:(?:clearly|definitely|certainly|slightly|much|better)\s+)?"
    r"(?:is|was|wins|won|does|did|has|reads|seems|looks|covers|beats|fits|follows|edges)"
    r"(?:n[\s']t)?\b)(.*)",
    re.IGNORECASE,
)
# Where the verdict's own clause ends: "A is better, though B is not bad" judges by "better".
_CLAUSE_END = re.compile(
    r"[,.;:!?]|\b(?:but|though|although|while|whereas|because|since)\b", re.IGNORECASE
)
# Words that turn "A is …" against A or into a tie: "A is worse", "A does not…", "A is equal to B".
_AGAINST = re.compile(
    r"\b(?:not|never|worse|weaker|poorer|inferior|less|lacks|fails|loses|lost|misses|tie|tied"
    r"|equal|equally|same|similar|comparable|as good|as well)\b|\wn[\s']t\b",
    re.IGNORECASE,
)
# An explicit preference naming the letter: "I would go with Text B", "I choose A", "prefer text a".
# A bare lower-case letter counts only when nothing follows it ("I pick b."): "a" is an article.
_PREFERENCE = re.compile(
    r"(?i:\b(?:go|goes|going|went)\s+with|\bchoos(?:e|es|ing)|\bchos(?:e|en)|\bprefer(?:s|red)?"
    r"|\bpick(?:s|ed)?|\bselect(?:s|ed)?|\bvot(?:e|es|ed|ing)\s+for)\s+"
    r"(?:(?i:text|option|response)\s+(?i:([ab]))\b|([AB])(?![\w-])|([ab])(?=\s*(?:$|[.,;:!?])))"
    r"(?!\s+(?i:or|and|nor)\b)"  # "I would pick A or B" prefers neither
)
# A negation just before a preference: "I would not choose A", "I wouldn't really pick B".
_NEGATED = re.compile(r"(?:\b(?:not|never|cannot)|\wn[\s']t)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


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
    sources: str = "",
) -> list[BaseMessage]:
    """System and user messages asking which of two texts better does `phase`'s job."""
    # Every outline and model text is passed as a variable: data, never template source.
    # With the numbered sources the writers had, the judge can reward getting them right.
    context = {
        "phase": phase.name,
        "title": title,
        "brief": brief,
        "words": target_words,
        "text_a": text_a,
        "text_b": text_b,
        "sources": sources,
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


def _preferences(text: str) -> tuple[set[str], set[str]]:
    """Letters that preference phrases choose ("I go with B") and refuse ("I would not pick A")."""
    chosen: set[str] = set()
    refused: set[str] = set()
    for match in _PREFERENCE.finditer(text):
        letter = next(group for group in match.groups() if group).upper()
        (refused if _NEGATED.search(text[: match.start()]) else chosen).add(letter)
    return chosen, refused


def parse_choice(reply: str) -> Choice | None:
    """The letter a judge's reply chose; None when it names both letters or neither."""
    lines = [line for line in strip_think(reply).splitlines() if line.strip()]
    if not lines:
        return None
    first = _LABEL.sub("", _DRESSING.sub(" ", lines[0]), count=1)
    leading = _LEADING.match(first)
    if leading:
        return "A" if leading.group(1).upper() == "A" else "B"
    verb = _LEADING_VERB.match(first)
    if verb:
        # "A is better than B" chooses A; "A is worse than B", "A is as good as B" choose nothing.
        clause = _CLAUSE_END.split(verb.group(2), maxsplit=1)[0]
        return None if _AGAINST.search(clause) else _single({verb.group(1).upper()})
    # A preference phrase, chosen or refused, outranks letters the reasons name.
    chosen, refused = _preferences(first)
    if chosen or refused:
        return _single(chosen)
    letters = _letters(first)
    if letters:
        return _single(letters)
    # The first line named no letter ("After reading both…"): look at the whole reply.
    whole = _DRESSING.sub(" ", "\n".join(lines))
    chosen, refused = _preferences(whole)
    return _single(chosen if chosen or refused else _letters(whole))


def combine(first: Choice | None, second: Choice | None) -> Verdict | None:
    """Both orders' verdict (first A=primary, second A=secondary); None if either has no letter."""
    if first is None or second is None:
        return None
    first_pick = Verdict.PRIMARY if first == "A" else Verdict.SECONDARY
    second_pick = Verdict.SECONDARY if second == "A" else Verdict.PRIMARY
    return first_pick if first_pick is second_pick else Verdict.TIE
