"""Recommendation rules on hand-made pairs, and the pair JSON round trip."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from reporting.compare.judge import Verdict, combine, parse_choice
from reporting.compare.measures import TextMeasures
from reporting.compare.recommend import (
    CHECKS_FAILURE_MARGIN,
    DRAFT_LENGTH_RATIO_MIN,
    LENGTH_RATIO_MAX,
    LENGTH_RATIO_MIN,
    MIN_PAIRS_TO_MOVE,
    READABILITY_MARGIN,
    Pair,
    Side,
    is_adequate,
    pair_from_dict,
    pair_to_dict,
    recommend,
    saving_per_report,
)


def side(
    role: str = "primary",
    *,
    ratio: float = 1.0,
    repeats: int = 0,
    readability: float = 60.0,
    cost: float = 0.0,
    ok: bool = True,
    target: int = 100,
    failed: tuple[str, ...] | None = None,
) -> Side:
    words = round(ratio * target) if ok else 0
    measures = TextMeasures(
        words=words,
        target_words=target,
        length_ratio=ratio if ok else 0.0,
        repeated_sentences=repeats if ok else 0,
        readability=readability if ok else 0.0,
    )
    if role == "primary":
        return Side("openai", "gpt-4o", measures, 2.5, 900, 300, cost, ok, failed)
    return Side("ollama", "llama3:8b", measures, 9.0, 900, 280, cost, ok, failed)


def pair(
    *,
    phase: str = "EXPAND",
    section_type: str = "method",
    role: str = "primary",
    primary: Side | None = None,
    secondary: Side | None = None,
    verdict: Verdict | None = None,
    section_id: str | None = "1",
    report: str = "",
) -> Pair:
    return Pair(
        phase=phase,
        section_id=section_id,
        section_type=section_type,
        current_role=role,
        primary=primary or side("primary", cost=0.01),
        secondary=secondary or side("secondary"),
        verdict=verdict,
        report=report,
    )


def only(pairs: list[Pair]) -> Any:
    recs = recommend(pairs)
    assert len(recs) == 1
    return recs[0]


# --- adequacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "ratio", "repeats", "ok", "expected"),
    [
        ("EXPAND", 1.0, 0, True, True),
        ("EXPAND", LENGTH_RATIO_MIN, 0, True, True),
        ("EXPAND", LENGTH_RATIO_MAX, 0, True, True),
        ("EXPAND", 0.59, 0, True, False),
        ("EXPAND", 1.61, 0, True, False),
        ("EXPAND", 1.0, 1, True, False),
        ("EXPAND", 1.0, 0, False, False),
        ("REFINE", 0.3, 0, True, False),
        ("DRAFT", 0.3, 0, True, True),
        ("DRAFT", DRAFT_LENGTH_RATIO_MIN, 0, True, True),
        ("DRAFT", 0.14, 0, True, False),
        ("DRAFT", 1.7, 0, True, False),
    ],
)
def test_adequacy(phase: str, ratio: float, repeats: int, ok: bool, expected: bool) -> None:
    assert is_adequate(side(ratio=ratio, repeats=repeats, ok=ok), phase) is expected


# --- with verdicts -----------------------------------------------------------------------------


def test_judged_secondary_holds_up_moves_to_secondary() -> None:
    verdicts = [Verdict.SECONDARY, Verdict.TIE, Verdict.PRIMARY, Verdict.TIE]
    rec = only([pair(verdict=v) for v in verdicts])
    assert rec.action == "move to secondary"
    assert (rec.secondary_wins, rec.primary_wins, rec.ties) == (1, 1, 2)
    assert rec.pairs == 4
    assert rec.current_role == "primary"
    assert "judge: secondary 1, primary 1, ties 2" in rec.evidence
    assert "secondary 4/4" in rec.evidence
    assert rec.saving_usd_per_report == pytest.approx(0.04)


def test_judged_secondary_wins_but_inadequate_in_most_pairs_keeps() -> None:
    bad = side("secondary", ratio=0.2)
    pairs = [
        pair(verdict=Verdict.SECONDARY, secondary=bad),
        pair(verdict=Verdict.SECONDARY, secondary=bad),
        pair(verdict=Verdict.SECONDARY),
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert rec.saving_usd_per_report == 0.0
    assert "secondary 1/3" in rec.evidence


def test_judged_secondary_adequate_in_exactly_half_is_enough() -> None:
    bad = side("secondary", repeats=2)
    rec = only([pair(verdict=Verdict.TIE, secondary=bad), pair(verdict=Verdict.TIE)])
    assert rec.action == "move to secondary"


def test_judged_primary_wins_more_keeps_on_primary() -> None:
    verdicts = [Verdict.PRIMARY, Verdict.PRIMARY, Verdict.TIE]
    assert only([pair(verdict=v) for v in verdicts]).action == "keep"


def test_judged_primary_needed_moves_to_primary_with_negative_saving() -> None:
    verdicts = [Verdict.PRIMARY, Verdict.PRIMARY, Verdict.PRIMARY, Verdict.SECONDARY, Verdict.TIE]
    pairs = [
        pair(
            role="secondary",
            verdict=v,
            primary=side("primary", cost=0.02),
            secondary=side("secondary", cost=0.0),
        )
        for v in verdicts
    ]
    rec = only(pairs)
    assert rec.action == "move to primary"
    assert rec.current_role == "secondary"
    assert rec.saving_usd_per_report == pytest.approx(-0.10)
    assert rec.saving_usd_per_report < 0
    assert "costs $0.1000 per report" in rec.evidence


def test_judged_primary_exactly_even_with_secondary_and_ties_keeps_secondary() -> None:
    verdicts = [Verdict.PRIMARY, Verdict.PRIMARY, Verdict.SECONDARY, Verdict.TIE]
    rec = only([pair(role="secondary", verdict=v) for v in verdicts])
    assert rec.action == "keep"
    assert rec.current_role == "secondary"


def test_pairs_without_verdict_in_a_judged_group_count_in_no_tally() -> None:
    pairs = [pair(verdict=Verdict.PRIMARY), pair(verdict=None), pair(verdict=None)]
    rec = only(pairs)
    assert (rec.primary_wins, rec.secondary_wins, rec.ties) == (1, 0, 0)
    assert rec.action == "keep"  # judged: 0 + 0 < 1, the secondary does not hold up


# --- without verdicts --------------------------------------------------------------------------


def test_unjudged_secondary_adequate_everywhere_moves_to_secondary() -> None:
    pairs = [
        pair(
            primary=side("primary", readability=58.0, cost=0.03),
            secondary=side("secondary", readability=61.2, cost=0.0),
        )
        for _ in range(3)
    ]
    rec = only(pairs)
    assert rec.action == "move to secondary"
    assert "not judged" in rec.evidence
    assert "readability secondary 61.2 vs primary 58.0" in rec.evidence
    assert rec.saving_usd_per_report == pytest.approx(0.09)
    assert "saves $0.0900 per report" in rec.evidence


def test_unjudged_one_inadequate_secondary_keeps() -> None:
    pairs = [pair(), pair(), pair(secondary=side("secondary", ratio=2.0))]
    assert only(pairs).action == "keep"


def test_unjudged_failed_secondary_call_is_left_out_not_counted_inadequate() -> None:
    pairs = [pair(), pair(), pair(secondary=side("secondary", ok=False))]
    rec = only(pairs)
    assert rec.action == "move to secondary"  # 2 usable pairs, the secondary adequate in both
    assert rec.pairs == 3
    assert "1 of 3 pairs had a failed side and is left out" in rec.evidence
    assert "secondary 2/2" in rec.evidence
    assert rec.saving_usd_per_report == pytest.approx(0.02)  # the usable pairs' costs only


@pytest.mark.parametrize(
    ("secondary_score", "action"),
    [
        (60.0 - READABILITY_MARGIN, "move to secondary"),
        (60.0 - READABILITY_MARGIN - 0.1, "keep"),
    ],
)
def test_unjudged_readability_margin(secondary_score: float, action: str) -> None:
    pairs = [
        pair(
            primary=side("primary", readability=60.0, cost=0.01),
            secondary=side("secondary", readability=secondary_score),
        )
        for _ in range(MIN_PAIRS_TO_MOVE)
    ]
    assert only(pairs).action == action


def test_unjudged_secondary_failing_most_pairs_moves_to_primary() -> None:
    short = side("secondary", ratio=0.3)
    pairs = [
        pair(role="secondary", secondary=short, primary=side("primary", cost=0.01)),
        pair(role="secondary", secondary=short, primary=side("primary", cost=0.01)),
        pair(role="secondary", primary=side("primary", cost=0.01)),
    ]
    rec = only(pairs)
    assert rec.action == "move to primary"
    assert rec.saving_usd_per_report == pytest.approx(-0.03)


def test_unjudged_secondary_failing_exactly_half_keeps() -> None:
    short = side("secondary", ratio=0.3)
    pairs = [pair(role="secondary", secondary=short), pair(role="secondary")]
    assert only(pairs).action == "keep"


def test_unjudged_primary_also_failing_keeps_secondary() -> None:
    short_secondary = side("secondary", ratio=0.3)
    short_primary = side("primary", ratio=0.3)
    pairs = [
        pair(role="secondary", secondary=short_secondary, primary=short_primary),
        pair(role="secondary", secondary=short_secondary),
    ]
    assert only(pairs).action == "keep"


def test_secondary_holding_up_while_already_on_secondary_keeps() -> None:
    rec = only([pair(role="secondary"), pair(role="secondary")])
    assert rec.action == "keep"
    assert rec.saving_usd_per_report == 0.0


def test_draft_plan_length_uses_draft_bounds() -> None:
    plan = side("secondary", ratio=0.3)
    assert only([pair(phase="DRAFT", secondary=plan)] * 2).action == "move to secondary"
    assert only([pair(phase="EXPAND", secondary=plan)] * 2).action == "keep"


# --- failed sides ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["primary", "secondary"])
@pytest.mark.parametrize("verdict", [None, Verdict.TIE, Verdict.SECONDARY, Verdict.PRIMARY])
def test_primary_failing_every_call_keeps(role: str, verdict: Verdict | None) -> None:
    failed = side("primary", ok=False, cost=0.0)
    rec = only([pair(role=role, primary=failed, verdict=verdict) for _ in range(3)])
    assert rec.action == "keep"
    assert rec.saving_usd_per_report == 0.0
    assert rec.pairs == 3
    assert (rec.primary_wins, rec.secondary_wins, rec.ties) == (0, 0, 0)
    assert "no usable pair: all 3 pairs had a failed side" in rec.evidence
    assert "primary failed in 3, secondary in 0" in rec.evidence
    assert "0/" not in rec.evidence


def test_secondary_failing_every_call_keeps_even_on_secondary() -> None:
    failed = side("secondary", ok=False)
    rec = only([pair(role="secondary", secondary=failed) for _ in range(3)])
    assert rec.action == "keep"
    assert "no usable pair" in rec.evidence
    assert "secondary in 3" in rec.evidence


def test_a_failed_side_leaves_the_pair_out_of_tallies_and_shares() -> None:
    failed_primary = side("primary", ok=False)
    failed_secondary = side("secondary", ok=False)
    pairs = [
        pair(verdict=Verdict.SECONDARY),
        pair(verdict=Verdict.TIE),
        pair(verdict=Verdict.TIE),
        pair(verdict=Verdict.PRIMARY, secondary=failed_secondary),
        pair(verdict=Verdict.PRIMARY, primary=failed_primary),
    ]
    rec = only(pairs)
    assert (rec.secondary_wins, rec.primary_wins, rec.ties) == (1, 0, 2)
    assert rec.pairs == 5
    assert rec.action == "move to secondary"
    assert "2 of 5 pairs had a failed side and are left out" in rec.evidence
    assert "primary failed in 1, secondary in 1" in rec.evidence
    assert "secondary 3/3, primary 3/3" in rec.evidence
    assert rec.saving_usd_per_report == pytest.approx(0.03)


def test_failed_secondary_calls_do_not_make_the_primary_needed() -> None:
    failed = side("secondary", ok=False)
    pairs = [pair(role="secondary", secondary=failed) for _ in range(3)]
    pairs += [pair(role="secondary"), pair(role="secondary")]
    rec = only(pairs)
    assert rec.action == "keep"
    assert "secondary 2/2" in rec.evidence


# --- minimum evidence --------------------------------------------------------------------------


def test_min_pairs_to_move_is_two() -> None:
    assert MIN_PAIRS_TO_MOVE == 2


@pytest.mark.parametrize("verdict", [None, Verdict.SECONDARY, Verdict.TIE])
def test_one_pair_is_too_little_to_move_to_secondary(verdict: Verdict | None) -> None:
    rec = only([pair(verdict=verdict)])
    assert rec.action == "keep"
    assert rec.saving_usd_per_report == 0.0
    assert "1 usable pair; a move needs 2 (run compare on more sections" in rec.evidence
    assert "or pool runs with report stats)" in rec.evidence
    assert "saves" not in rec.evidence


def test_one_pair_is_too_little_to_move_to_primary() -> None:
    rec = only([pair(role="secondary", verdict=Verdict.PRIMARY)])
    assert rec.action == "keep"
    assert rec.primary_wins == 1
    assert "1 usable pair; a move needs 2" in rec.evidence


def test_one_usable_pair_among_failed_ones_is_too_little() -> None:
    failed = side("primary", ok=False)
    rec = only([pair(verdict=Verdict.SECONDARY), pair(primary=failed), pair(primary=failed)])
    assert rec.action == "keep"
    assert "2 of 3 pairs had a failed side and are left out" in rec.evidence
    assert "1 usable pair; a move needs 2" in rec.evidence


def test_two_usable_pairs_are_enough_to_move() -> None:
    rec = only([pair(verdict=Verdict.SECONDARY), pair(verdict=Verdict.SECONDARY)])
    assert rec.action == "move to secondary"
    assert "usable pair" not in rec.evidence


def test_a_keep_that_no_move_would_change_does_not_mention_the_minimum() -> None:
    rec = only([pair(verdict=Verdict.PRIMARY)])
    assert rec.action == "keep"
    assert "a move needs" not in rec.evidence


def test_a_judge_that_never_decides_does_not_move_on_ties() -> None:
    # "I cannot decide" in both orders is no verdict, not a tie that counts for the secondary:
    # the group falls back to the unjudged rules, and a much less readable secondary stays put.
    reply = "I cannot decide."
    verdict = combine(parse_choice(reply), parse_choice(reply))
    pairs = [
        pair(
            secondary=side("secondary", readability=60.0 - READABILITY_MARGIN - 5), verdict=verdict
        )
        for _ in range(3)
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert rec.ties == 0
    assert "not judged" in rec.evidence


# --- quality checks ----------------------------------------------------------------------------


def checked(role: str, *failed: str, **measures: Any) -> Side:
    """A side whose text was checked and fails the named checks (none: it passed them all)."""
    return side(role, failed=tuple(failed), **measures)


def test_a_secondary_failing_checks_more_often_does_not_move() -> None:
    """The judge and the measures would move it; 4 of 6 failing texts against 0 keep it."""
    failing: list[tuple[str, ...]] = [("facts", "echo")] * 3 + [("facts",), (), ()]
    pairs = [
        pair(
            verdict=Verdict.SECONDARY,
            primary=checked("primary", cost=0.01),
            secondary=checked("secondary", *failed),
        )
        for failed in failing
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert (rec.checked_pairs, rec.primary_failing_checks, rec.secondary_failing_checks) == (
        6,
        0,
        4,
    )
    assert (
        "checks: secondary fails in 4 of 6 EXPAND pairs (facts 4, echo 3), primary in 0 of 6, "
        "so the secondary does not hold up"
    ) in rec.evidence
    assert rec.saving_usd_per_report == 0.0


def test_a_failure_share_within_the_margin_still_moves() -> None:
    """1 of 4 secondary texts failing against none is within the margin (0.25 of 4 pairs)."""
    assert CHECKS_FAILURE_MARGIN == 0.25
    pairs = [
        pair(primary=checked("primary", cost=0.01), secondary=checked("secondary", *failed))
        for failed in (("length",), (), (), ())
    ]
    rec = only(pairs)
    assert rec.action == "move to secondary"
    assert "checks: secondary fails in 1 of 4 EXPAND pairs (length 1), primary in 0 of 4" in (
        rec.evidence
    )
    assert "does not hold up" not in rec.evidence


def test_both_sides_failing_alike_say_nothing_against_the_secondary() -> None:
    pairs = [
        pair(primary=checked("primary", "facts", cost=0.01), secondary=checked("secondary", "echo"))
        for _ in range(2)
    ]
    rec = only(pairs)
    assert rec.action == "move to secondary"
    assert "secondary fails in 2 of 2 EXPAND pairs (echo 2), primary in 2 of 2 (facts 2)" in (
        rec.evidence
    )


def test_a_secondary_failing_checks_in_most_pairs_moves_to_the_primary() -> None:
    """Routed to the secondary, adequate, not judged: the checks alone make the primary needed."""
    pairs = [
        pair(
            role="secondary",
            primary=checked("primary", cost=0.01),
            secondary=checked("secondary", *failed),
        )
        for failed in (("facts",), ("facts",), ("leaks",), ())
    ]
    rec = only(pairs)
    assert rec.action == "move to primary"
    assert rec.saving_usd_per_report == pytest.approx(-0.04)
    assert "secondary fails in 3 of 4 EXPAND pairs (facts 2, leaks 1), primary in 0 of 4" in (
        rec.evidence
    )
    assert "so the primary is needed" in rec.evidence


def test_failing_checks_in_half_the_pairs_does_not_make_the_primary_needed() -> None:
    pairs = [
        pair(role="secondary", primary=checked("primary"), secondary=checked("secondary", *failed))
        for failed in (("facts",), ("facts",), (), ())
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert "secondary fails in 2 of 4" in rec.evidence and "needed" not in rec.evidence


def test_pairs_not_checked_on_both_sides_count_in_no_check_share() -> None:
    """Comparisons written before the checks: the rules and the evidence are as they were."""
    unchecked = [pair(), pair()]
    rec = only(unchecked)
    assert rec.action == "move to secondary" and rec.checked_pairs == 0
    assert "checks" not in rec.evidence
    half = [pair(secondary=checked("secondary", "facts")) for _ in range(2)]  # primary unchecked
    assert only(half).checked_pairs == 0
    assert only(half).action == "move to secondary"


def test_a_failed_call_is_not_checked_and_its_pair_is_left_out() -> None:
    pairs = [
        pair(primary=checked("primary"), secondary=checked("secondary")),
        pair(primary=checked("primary"), secondary=checked("secondary")),
        pair(primary=checked("primary"), secondary=side("secondary", ok=False)),
    ]
    rec = only(pairs)
    assert rec.checked_pairs == 2
    assert "secondary fails in 0 of 2 EXPAND pairs" in rec.evidence


def test_the_abstract_reports_its_check_failures_and_keeps() -> None:
    pairs = [
        pair(
            phase="ABSTRACT",
            section_type="abstract",
            section_id=None,
            primary=checked("primary"),
            secondary=checked("secondary", "echo"),
        )
        for _ in range(2)
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert "checks: secondary fails in 2 of 2 ABSTRACT pairs (echo 2), primary in 0 of 2" in (
        rec.evidence
    )
    assert "hold up" not in rec.evidence


# --- abstract ----------------------------------------------------------------------------------


@pytest.mark.parametrize("verdict", [None, Verdict.SECONDARY])
def test_abstract_always_keeps_but_reports_evidence(verdict: Verdict | None) -> None:
    pairs = [
        pair(phase="ABSTRACT", section_type="abstract", section_id=None, verdict=verdict)
        for _ in range(2)
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert rec.section_type == "abstract"
    assert rec.saving_usd_per_report == 0.0
    assert "policy" in rec.evidence
    assert "secondary 2/2" in rec.evidence


def test_abstract_keeps_even_when_primary_is_needed() -> None:
    short = side("secondary", ratio=0.1)
    pairs = [
        pair(
            phase="ABSTRACT",
            section_type="abstract",
            section_id=None,
            role="secondary",
            secondary=short,
            verdict=Verdict.PRIMARY,
        )
    ]
    rec = only(pairs)
    assert rec.action == "keep"
    assert rec.primary_wins == 1


# --- saving ------------------------------------------------------------------------------------


def test_saving_is_divided_by_distinct_reports() -> None:
    pairs = [
        pair(report=name, section_id=sid, primary=side("primary", cost=0.02))
        for name in ("a.yaml", "b.yaml")
        for sid in ("1", "2")
    ]
    # 4 pairs x $0.02 over 2 reports: $0.04 per report.
    assert saving_per_report(pairs) == pytest.approx(0.04)
    assert only(pairs).saving_usd_per_report == pytest.approx(0.04)


def test_saving_without_report_names_is_the_sum() -> None:
    pairs = [pair(primary=side("primary", cost=0.015)) for _ in range(3)]
    assert saving_per_report(pairs) == pytest.approx(0.045)


def test_saving_counts_secondary_cost() -> None:
    pairs = [pair(primary=side("primary", cost=0.01), secondary=side("secondary", cost=0.004))]
    assert saving_per_report(pairs) == pytest.approx(0.006)


# --- grouping and order ------------------------------------------------------------------------


def test_one_recommendation_per_phase_and_type_in_order() -> None:
    pairs = [
        pair(phase="ABSTRACT", section_type="abstract", section_id=None),
        pair(phase="REFINE", section_type="intro"),
        pair(phase="EXPAND", section_type="results"),
        pair(phase="EXPAND", section_type="intro"),
        pair(phase="EXPAND", section_type="intro", section_id="2"),
        pair(phase="DRAFT", section_type="conclusion"),
        pair(phase="DRAFT", section_type="background"),
    ]
    recs = recommend(pairs)
    assert [(r.phase, r.section_type) for r in recs] == [
        ("DRAFT", "background"),
        ("DRAFT", "conclusion"),
        ("EXPAND", "intro"),
        ("EXPAND", "results"),
        ("REFINE", "intro"),
        ("ABSTRACT", "abstract"),
    ]
    assert recs[2].pairs == 2


def test_no_pairs_no_recommendations() -> None:
    assert recommend([]) == []


def test_mixed_current_roles_take_the_majority_and_say_so() -> None:
    pairs = [pair(role="secondary"), pair(role="secondary"), pair(role="primary")]
    rec = only(pairs)
    assert rec.current_role == "secondary"
    assert "routed to primary in 1/3 pairs" in rec.evidence


@pytest.mark.parametrize(
    ("field", "value"),
    [("phase", "DRAFTING"), ("section_type", "prologue"), ("current_role", "cloud")],
)
def test_pair_refuses_unknown_values(field: str, value: str) -> None:
    args: dict[str, Any] = {"phase": "EXPAND", "section_type": "method", "role": "primary"}
    args["role" if field == "current_role" else field] = value
    with pytest.raises(ValueError, match=value):
        pair(**args)


# --- JSON round trip ---------------------------------------------------------------------------


def _sample() -> Pair:
    return pair(
        phase="REFINE",
        section_type="analysis",
        section_id="2.1",
        role="secondary",
        primary=side("primary", ratio=1.12, readability=48.3, cost=0.0123),
        secondary=side("secondary", ok=False),
        verdict=Verdict.PRIMARY,
        report="fleet.yaml",
    )


@pytest.mark.parametrize(
    "original",
    [
        _sample(),
        pair(),
        pair(phase="ABSTRACT", section_type="abstract", section_id=None, verdict=Verdict.TIE),
        pair(primary=checked("primary"), secondary=checked("secondary", "facts", "echo")),
    ],
)
def test_pair_json_round_trip(original: Pair) -> None:
    data = json.loads(json.dumps(pair_to_dict(original)))
    assert pair_from_dict(data) == original


def test_pair_dict_shape() -> None:
    data = pair_to_dict(_sample())
    assert data["verdict"] == "primary"
    assert data["secondary"]["ok"] is False
    assert data["primary"]["measures"]["readability"] == 48.3
    assert data["report"] == "fleet.yaml"


def test_pair_from_dict_defaults_report_and_ok() -> None:
    data = pair_to_dict(pair())
    del data["report"]
    del data["primary"]["ok"]
    back = pair_from_dict(data)
    assert back.report == ""
    assert back.primary.ok is True
    assert back.primary.failed_checks is None  # written before compare ran the checks


def test_pair_dict_holds_the_failed_checks() -> None:
    data = pair_to_dict(pair(secondary=checked("secondary", "facts"), primary=checked("primary")))
    assert data["secondary"]["failed_checks"] == ["facts"]
    assert data["primary"]["failed_checks"] == []
    assert pair_from_dict(json.loads(json.dumps(data))).secondary.failed_checks == ("facts",)


_MISSING = object()


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(pair_to_dict(_sample()))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("phase",), _MISSING, "pair.phase: Field required"),
        (("phase",), "POLISH", "unknown phase 'POLISH'"),
        (("phase",), 3, "pair.phase: Input should be a valid string"),
        (("section_type",), "prologue", "unknown section type"),
        (("current_role",), "cloud", "unknown role"),
        (("verdict",), "maybe", "pair.verdict: Input should be 'primary', 'secondary' or 'tie'"),
        (("section_id",), 7, "pair.section_id"),
        (("primary",), [], "pair.primary: Input should be an object"),
        (("secondary", "cost_usd"), "cheap", "pair.secondary.cost_usd: Input should be a valid"),
        (("secondary", "cost_usd"), True, "pair.secondary.cost_usd"),
        (("primary", "output_tokens"), 1.5, "pair.primary.output_tokens"),
        (("primary", "ok"), "yes", "pair.primary.ok"),
        (("primary", "measures"), _MISSING, "pair.primary.measures: Field required"),
        (("primary", "measures", "words"), "many", "pair.primary.measures.words"),
        (("secondary", "measures", "readability"), None, "pair.secondary.measures.readability"),
    ],
)
def test_pair_from_dict_bad_data(path: tuple[str, ...], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        pair_from_dict(_broken(path, value))


@pytest.mark.parametrize("data", [None, [], "pair", 3])
def test_pair_from_dict_not_an_object(data: Any) -> None:
    with pytest.raises(ValueError, match="pair: Input should be an object"):
        pair_from_dict(data)
