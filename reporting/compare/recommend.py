"""Recommendations from compared pairs: keep a routing, move it to the secondary, or to the primary.

Rules, applied to each group of pairs with the same (phase, section type):

* A pair is *usable* when both of its calls succeeded (``primary.ok`` and ``secondary.ok``). A
  failed call says nothing about quality, so a pair with a failed side counts in no judge tally,
  adequacy share, readability mean or saving below; it still counts in ``pairs``, and the evidence
  says how many pairs were left out and which side failed. Below, *n* is the number of usable
  pairs. A group with no usable pair is "keep", and its evidence says why.
* A side is *adequate* when its call succeeded (``ok``), its length ratio lies within
  ``LENGTH_RATIO_MIN``..``LENGTH_RATIO_MAX`` (``DRAFT_LENGTH_RATIO_MIN``..``LENGTH_RATIO_MAX`` for
  DRAFT, whose target is a plan, not prose) and it has no repeated sentence.
* With verdicts (any usable pair of the group has one): the secondary *holds up* when
  ``secondary_wins + ties >= primary_wins`` and the secondary is adequate in at least
  ``JUDGED_ADEQUATE_SHARE`` of the n pairs; the primary *is needed* when
  ``primary_wins > secondary_wins + ties``. Pairs without a verdict (not judged, or a judge reply
  without a readable letter in either order) count in no tally.
* Without verdicts: the secondary holds up when it is adequate in all n pairs and its mean
  readability is at most ``READABILITY_MARGIN`` points below the primary's; the primary is needed
  when the secondary is inadequate in more than ``UNJUDGED_INADEQUATE_SHARE`` of the n pairs and the
  primary is adequate in each of those pairs.
* Quality checks (`reporting.quality.checks`, the build's gate's checks) on both sides' texts,
  where a pair has them (``failed_checks`` not None on both sides; comparisons written before
  the checks have none, and such pairs count in no check share): let *c* be the usable pairs
  checked on both sides, and each side's *failure share* the share of those c pairs whose text
  fails at least one check. The secondary *fails checks noticeably more* when its failure share
  exceeds the primary's by more than ``CHECKS_FAILURE_MARGIN``. Then the secondary does not hold
  up, whatever the rules above say; and the primary is needed when, besides, the secondary
  fails checks in more than ``CHECKS_NEEDED_SHARE`` of the c pairs (so a check failure the
  build's gate would have to repair or escalate is evidence as strong as an inadequate length).
  The evidence gives both sides' failures ("checks: secondary fails in 4 of 6 EXPAND pairs
  (facts 3, echo 1), primary in 0 of 6").
* Routed to the primary today and the secondary holds up: "move to secondary".
  Routed to the secondary today and the primary is needed: "move to primary".
  The ABSTRACT group is always "keep" (its routing is a policy, not a matrix row).
  Anything else: "keep".
* A move needs at least ``MIN_PAIRS_TO_MOVE`` usable pairs; with fewer, a group the rules above
  would move is "keep" instead, and its evidence says how many usable pairs it has and how many a
  move needs.
* Where a group's pairs are routed differently today (adaptive routing), the group's current role
  is the role of most of its pairs (all of them, usable or not), the primary on a tie, and the
  evidence says so.
* ``saving_usd_per_report``: let D be the sum over the group's usable pairs of
  ``primary.cost_usd - secondary.cost_usd``, divided by the number of distinct ``Pair.report``
  values among those pairs (pairs that leave ``report`` empty count as one report together). A
  move to the secondary saves D (positive: money saved); a move to the primary saves -D (negative:
  the extra cloud cost); "keep" saves 0.0.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from reporting.compare.judge import Verdict
from reporting.compare.measures import TextMeasures
from reporting.outline.model import SectionType
from reporting.phases import CompilationPhase

LENGTH_RATIO_MIN = 0.6
LENGTH_RATIO_MAX = 1.6
DRAFT_LENGTH_RATIO_MIN = 0.15
MAX_REPEATED_SENTENCES = 0
# With verdicts, the secondary must be adequate in at least this share of the pairs.
JUDGED_ADEQUATE_SHARE = 0.5
# Without verdicts, the secondary's mean readability may be at most this many points lower.
READABILITY_MARGIN = 10.0
# Without verdicts, the primary is needed when the secondary fails more than this share.
UNJUDGED_INADEQUATE_SHARE = 0.5
# A move needs at least this many usable pairs (both sides succeeded) in the group.
MIN_PAIRS_TO_MOVE = 2
# The secondary fails checks noticeably more when its share of failing texts exceeds the
# primary's by more than this; then it does not hold up.
CHECKS_FAILURE_MARGIN = 0.25
# ... and the primary is needed when, besides, the secondary fails in more than this share.
CHECKS_NEEDED_SHARE = 0.5

KEEP = "keep"
MOVE_TO_SECONDARY = "move to secondary"
MOVE_TO_PRIMARY = "move to primary"
ROLES = ("primary", "secondary")
ABSTRACT_TYPE = "abstract"

_PHASE_ORDER = {phase.name: i for i, phase in enumerate(CompilationPhase)}
_TYPE_ORDER = {t.value: i for i, t in enumerate(SectionType)}
_SECTION_TYPES = frozenset(_TYPE_ORDER) | {ABSTRACT_TYPE}


@dataclass(frozen=True)
class Side:
    """One provider's answer in one pair."""

    provider: str
    model: str
    measures: TextMeasures
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    ok: bool = True  # False when the call failed; then the measures are of empty text
    # The quality checks its text fails, () when it passed them all; None when not checked
    # (the call failed, or the comparison was written before compare ran the checks).
    failed_checks: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Pair:
    """The same call run on both providers with identical inputs."""

    phase: str  # CompilationPhase name: "DRAFT", "EXPAND", "REFINE" or "ABSTRACT"
    section_id: str | None  # None for the abstract
    section_type: str  # SectionType value, "abstract" for the abstract
    current_role: str  # "primary" or "secondary": where the plan routes the call today
    primary: Side
    secondary: Side
    verdict: Verdict | None  # None when the pair was not judged
    report: str = ""  # which report the pair came from; divides the saving per report

    def __post_init__(self) -> None:
        """Refuse a phase, section type or role that no rule knows."""
        if self.phase not in _PHASE_ORDER:
            raise ValueError(f"unknown phase {self.phase!r}; expected one of {list(_PHASE_ORDER)}")
        if self.section_type not in _SECTION_TYPES:
            raise ValueError(f"unknown section type {self.section_type!r}")
        if self.current_role not in ROLES:
            raise ValueError(f"unknown role {self.current_role!r}; expected one of {ROLES}")


@dataclass(frozen=True)
class Recommendation:
    """What to do with one (phase, section type) routing, and the figures behind it."""

    phase: str
    section_type: str
    current_role: str
    action: str  # "keep", "move to secondary" or "move to primary"
    pairs: int
    evidence: str  # one readable sentence with the figures behind the action
    saving_usd_per_report: float  # >0 saved by the move, <0 extra cost, 0.0 for keep
    primary_wins: int
    secondary_wins: int
    ties: int
    checked_pairs: int = 0  # usable pairs whose texts were checked on both sides
    primary_failing_checks: int = 0  # of those, pairs whose primary text fails a check
    secondary_failing_checks: int = 0  # ... whose secondary text fails a check


# --- JSON round trip ---------------------------------------------------------------------------

# Pydantic validates the dataclasses as they are, as strict JSON: "5" is not a number of tokens.
_PAIR: TypeAdapter[Pair] = TypeAdapter(Pair)


def pair_to_dict(pair: Pair) -> dict[str, Any]:
    """One pair as a JSON-ready dict, read back by `pair_from_dict`."""
    data: dict[str, Any] = _PAIR.dump_python(pair, mode="json")
    return data


def pair_from_dict(data: Any) -> Pair:
    """A pair read back from `pair_to_dict`'s output; ValueError names what is wrong and where."""
    try:
        return _PAIR.validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(["pair", *(str(part) for part in error["loc"])])
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ValueError("; ".join(problems)) from None


# --- rules -------------------------------------------------------------------------------------


def is_adequate(side: Side, phase: str) -> bool:
    """Whether one side succeeded, is near its target length and repeats no sentence."""
    low = DRAFT_LENGTH_RATIO_MIN if phase == CompilationPhase.DRAFT.name else LENGTH_RATIO_MIN
    m = side.measures
    return (
        side.ok
        and low <= m.length_ratio <= LENGTH_RATIO_MAX
        and m.repeated_sentences <= MAX_REPEATED_SENTENCES
    )


def _mean_readability(sides: Sequence[Side]) -> float | None:
    """Mean readability of the sides whose call succeeded; None when none did."""
    scores = [s.measures.readability for s in sides if s.ok]
    return fmean(scores) if scores else None


def _score(value: float | None) -> str:
    """A readability mean for the evidence sentence."""
    return "n/a" if value is None else f"{value:.1f}"


def saving_per_report(pairs: Sequence[Pair]) -> float:
    """What running the pairs on the secondary instead of the primary saves, per report."""
    reports = len({p.report for p in pairs}) or 1
    total = sum(p.primary.cost_usd - p.secondary.cost_usd for p in pairs)
    return round(total / reports, 6)


def _current_role(pairs: Sequence[Pair]) -> tuple[str, str]:
    """The role most pairs are routed to today (primary on a tie), and a note when mixed."""
    on_primary = sum(1 for p in pairs if p.current_role == "primary")
    role = "primary" if on_primary * 2 >= len(pairs) else "secondary"
    if 0 < on_primary < len(pairs):
        return role, f"routed to primary in {on_primary}/{len(pairs)} pairs today; "
    return role, ""


def _plural(count: int, word: str) -> str:
    """A count with its noun: "1 pair", "2 pairs"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _failed_note(pairs: Sequence[Pair], usable: int) -> str:
    """The evidence clause on pairs left out because a side failed; "" when none was."""
    failed = len(pairs) - usable
    if not failed:
        return ""
    sides = (
        f"primary failed in {sum(1 for p in pairs if not p.primary.ok)}, "
        f"secondary in {sum(1 for p in pairs if not p.secondary.ok)}"
    )
    if not usable:
        return (
            f"no usable pair: all {_plural(failed, 'pair')} had a failed side ({sides}), "
            "and a failed call says nothing about quality"
        )
    verb = "is" if failed == 1 else "are"
    return (
        f"{failed} of {_plural(len(pairs), 'pair')} had a failed side and {verb} left out ({sides})"
    )


@dataclass(frozen=True)
class CheckFailures:
    """How often each side's text failed the quality checks in a group's checked pairs."""

    checked: int  # usable pairs checked on both sides
    primary: int  # pairs whose primary text fails at least one check
    secondary: int
    secondary_checks: Counter[str]  # the secondary's failing texts per check name
    primary_checks: Counter[str]

    @classmethod
    def of(cls, usable: Sequence[Pair]) -> CheckFailures:
        """Count failing texts over the pairs checked on both sides."""
        checked = [
            (p.primary.failed_checks, p.secondary.failed_checks)
            for p in usable
            if p.primary.failed_checks is not None and p.secondary.failed_checks is not None
        ]
        return cls(
            checked=len(checked),
            primary=sum(1 for primary, _ in checked if primary),
            secondary=sum(1 for _, secondary in checked if secondary),
            secondary_checks=Counter(name for _, failed in checked for name in failed or ()),
            primary_checks=Counter(name for failed, _ in checked for name in failed or ()),
        )

    @property
    def secondary_worse(self) -> bool:
        """The secondary's failure share exceeds the primary's by more than the margin."""
        if not self.checked:
            return False
        return (self.secondary - self.primary) > CHECKS_FAILURE_MARGIN * self.checked

    @property
    def primary_needed(self) -> bool:
        """The secondary fails checks noticeably more, and in most of the checked pairs."""
        return self.secondary_worse and self.secondary > CHECKS_NEEDED_SHARE * self.checked

    def evidence(self, phase: str) -> str:
        """`checks: secondary fails in 4 of 6 EXPAND pairs (facts 3), primary in 0 of 6`."""
        pairs = _plural(self.checked, f"{phase} pair")
        return (
            f"checks: secondary fails in {self.secondary} of {pairs}"
            f"{_names(self.secondary_checks)}, primary in {self.primary} of {self.checked}"
            f"{_names(self.primary_checks)}"
        )


def _names(counts: Counter[str]) -> str:
    """` (facts 3, echo 1)`, most failed first; "" when nothing failed."""
    if not counts:
        return ""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (" + ", ".join(f"{name} {count}" for name, count in ordered) + ")"


def _recommend_group(phase: str, section_type: str, pairs: Sequence[Pair]) -> Recommendation:
    """The recommendation for one (phase, section type) group."""
    n = len(pairs)
    # A pair with a failed side says nothing about quality: it counts in no tally or share.
    usable = [p for p in pairs if p.primary.ok and p.secondary.ok]
    u = len(usable)
    tally = Counter(p.verdict for p in usable if p.verdict is not None)
    primary_wins = tally[Verdict.PRIMARY]
    secondary_wins = tally[Verdict.SECONDARY]
    ties = tally[Verdict.TIE]
    judged = bool(tally)

    secondary_ok = [is_adequate(p.secondary, phase) for p in usable]
    primary_ok = [is_adequate(p.primary, phase) for p in usable]
    secondary_adequate = sum(secondary_ok)
    primary_adequate = sum(primary_ok)
    read_secondary = _mean_readability([p.secondary for p in usable])
    read_primary = _mean_readability([p.primary for p in usable])

    if not usable:
        holds_up = needed = False
    elif judged:
        holds_up = (
            secondary_wins + ties >= primary_wins
            and secondary_adequate >= JUDGED_ADEQUATE_SHARE * u
        )
        needed = primary_wins > secondary_wins + ties
    else:
        readable = read_secondary is not None and (
            read_primary is None or read_secondary >= read_primary - READABILITY_MARGIN
        )
        holds_up = secondary_adequate == u and readable
        failing = [i for i, ok in enumerate(secondary_ok) if not ok]
        needed = len(failing) > UNJUDGED_INADEQUATE_SHARE * u and all(
            primary_ok[i] for i in failing
        )

    # Quality checks: a secondary failing them noticeably more never holds up, and failing
    # them in most pairs too makes the primary needed.
    checks = CheckFailures.of(usable)
    blocked = holds_up and checks.secondary_worse
    by_checks = not needed and checks.primary_needed
    holds_up = holds_up and not checks.secondary_worse
    needed = needed or checks.primary_needed

    role, note = _current_role(pairs)
    too_few = ""
    if phase == CompilationPhase.ABSTRACT.name:
        action = KEEP
        note = "abstract routing is a policy, kept; " + note
    elif role == "primary" and holds_up:
        action = MOVE_TO_SECONDARY
    elif role == "secondary" and needed:
        action = MOVE_TO_PRIMARY
    else:
        action = KEEP
    if action != KEEP and u < MIN_PAIRS_TO_MOVE:
        too_few = (
            f"; {_plural(u, 'usable pair')}; a move needs {MIN_PAIRS_TO_MOVE} "
            "(run compare on more sections or pool runs with report stats)"
        )
        action = KEEP
    if action == MOVE_TO_SECONDARY:
        saving = saving_per_report(usable)
    elif action == MOVE_TO_PRIMARY:
        saving = 0.0 - saving_per_report(usable)  # never -0.0
    else:
        saving = 0.0

    failed = _failed_note(pairs, u)
    if not usable:
        evidence = note + failed
    else:
        judge = (
            f"judge: secondary {secondary_wins}, primary {primary_wins}, ties {ties}"
            if judged
            else "not judged"
        )
        checked = f"; {checks.evidence(phase)}" if checks.checked else ""
        if phase != CompilationPhase.ABSTRACT.name:
            if blocked and role == "primary":
                checked += ", so the secondary does not hold up"
            elif by_checks and role == "secondary":
                checked += ", so the primary is needed"
        evidence = (
            f"{note}{failed + '; ' if failed else ''}{judge}; adequate (length, no repeats): "
            f"secondary {secondary_adequate}/{u}, primary {primary_adequate}/{u}; "
            f"readability secondary {_score(read_secondary)} vs primary {_score(read_primary)}"
            f"{checked}{too_few}"
        )
    if action != KEEP:
        evidence += f"; {'saves' if saving >= 0 else 'costs'} ${abs(saving):.4f} per report"
    return Recommendation(
        phase=phase,
        section_type=section_type,
        current_role=role,
        action=action,
        pairs=n,
        evidence=evidence,
        saving_usd_per_report=saving,
        primary_wins=primary_wins,
        secondary_wins=secondary_wins,
        ties=ties,
        checked_pairs=checks.checked,
        primary_failing_checks=checks.primary,
        secondary_failing_checks=checks.secondary,
    )


def _group_key(key: tuple[str, str]) -> tuple[int, int, str]:
    """Sort order: phase order, then section type in SectionType order, unknown types last."""
    phase, section_type = key
    return _PHASE_ORDER[phase], _TYPE_ORDER.get(section_type, len(_TYPE_ORDER)), section_type


def recommend(pairs: Sequence[Pair]) -> list[Recommendation]:
    """One recommendation per (phase, section type), in phase order then section type order."""
    groups: dict[tuple[str, str], list[Pair]] = {}
    for pair in pairs:
        groups.setdefault((pair.phase, pair.section_type), []).append(pair)
    return [_recommend_group(*key, groups[key]) for key in sorted(groups, key=_group_key)]


def routing_file_text(recommendations: Sequence[Recommendation]) -> str:
    """A ROUTING_FILE that adopts every recommended move ("" when nothing should move)."""
    moves: dict[str, dict[str, str]] = {}
    for r in recommendations:
        if r.action in (MOVE_TO_SECONDARY, MOVE_TO_PRIMARY):
            role = "secondary" if r.action == MOVE_TO_SECONDARY else "primary"
            moves.setdefault(r.phase, {})[r.section_type] = role
    return yaml.safe_dump(moves, sort_keys=False) if moves else ""
