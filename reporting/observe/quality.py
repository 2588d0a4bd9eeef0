"""The report's `quality` record: how its final texts fared in the checks, and what repairs cost.

Final texts are each section's REFINE and the ABSTRACT: the texts a reader receives. DRAFT and
EXPAND are checked and repaired too, and counted in `by_check` and the repair totals.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from reporting.phases import CompilationPhase

if TYPE_CHECKING:
    from reporting.render.comments import Placement

FINAL_PHASES = (CompilationPhase.REFINE.name, CompilationPhase.ABSTRACT.name)
FIGURE_CHECKS = ("facts", "cited_figures")


def is_final(call: dict[str, Any]) -> bool:
    """Whether a call record holds a text the reader receives."""
    return bool(call["phase"] in FINAL_PHASES)


def failed_checks(call: dict[str, Any]) -> list[str]:
    """Names of the checks a call record's text fails."""
    return [name for name, check in (call.get("checks") or {}).items() if not check["passed"]]


def quality_record(
    calls: list[dict[str, Any]], gate: str, comments: Placement | None = None
) -> dict[str, Any]:
    """Per report: sections passing every check, figures left, comments, echoes, repairs."""
    checked = [call for call in calls if call.get("checks") is not None]
    final = [call for call in checked if is_final(call)]
    sections = [call for call in final if call["phase"] == CompilationPhase.REFINE.name]
    findings: Counter[str] = Counter()
    for call in final:
        for name, check in call["checks"].items():
            findings[name] += len(check["findings"])
    by_check: dict[str, dict[str, int]] = {}
    for call in checked:
        for name, check in call["checks"].items():
            entry = by_check.setdefault(name, {"passed": 0, "failed": 0})
            entry["passed" if check["passed"] else "failed"] += 1
    extras = [extra for call in calls for extra in call.get("quality_calls", [])]
    return {
        "gate": gate,
        "checked_calls": len(checked),
        "sections": len(sections),
        "sections_passing": sum(1 for call in sections if not failed_checks(call)),
        "abstract_passing": all(
            not failed_checks(call) for call in final if call["section"] is None
        ),
        "within_length": sum(1 for call in sections if "length" not in failed_checks(call)),
        "unsupported_figures": [
            {
                "section": call["section"],
                "phase": call["phase"],
                "check": name,
                "message": finding["message"],
                "sentence": finding["sentence"],
            }
            for call in final
            for name in FIGURE_CHECKS
            for finding in call["checks"].get(name, {}).get("findings", [])
        ],
        # REVIEW_COMMENTS: the DOCX comments on those sentences, and the sentences not found
        # in it (None: no comments asked for).
        "comments_added": len(comments.added) if comments is not None else None,
        "comments_unplaced": len(comments.unplaced) if comments is not None else None,
        "echoes": findings["echo"],
        "leaks": findings["leaks"],
        "duplicates": findings["duplication"],
        "failing": [
            {"section": call["section"], "phase": call["phase"], "failed": failed_checks(call)}
            for call in final
            if failed_checks(call)
        ],
        "by_check": dict(sorted(by_check.items())),
        "repairs": sum(call.get("repairs", 0) for call in calls),
        "escalations": sum(1 for call in calls if call.get("escalated")),
        "extra_requests": sum(extra["requests"] for extra in extras),
        "extra_cloud_requests": sum(extra["requests"] for extra in extras if extra["cloud"]),
        "extra_cost_usd": round(sum(extra["cost_usd"] for extra in extras), 6),
        "extra_latency_s": round(sum(extra["latency_s"] for extra in extras), 3),
        "passed": not any(failed_checks(call) for call in final),
    }
