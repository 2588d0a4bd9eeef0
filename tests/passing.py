"""An outline and texts that pass every quality check (and ones that fail one), for tests."""

from __future__ import annotations

OUTLINE = """\
title: Reliability Review
audience: engineering leadership
sections:
  - title: Incidents
    type: analysis
    brief: How many incidents the quarter had.
    points: ["9 incidents in Q3, down from 14 in Q2"]
    words: 30
"""

DRAFT = (
    "- The quarter had 9 incidents in Q3.\n- That is down from 14 in Q2.\n"
    "- Most incidents were small and quickly fixed.\n- The team plans more reliability work."
)
DRAFT_INVENTED = DRAFT.replace("9 incidents", "15 incidents").replace("14 in", "18 in")
PROSE = (
    "The quarter had 9 incidents in Q3, down from 14 in Q2. Most of them were small, and "
    "the team fixed them quickly. The team now plans further reliability work across services."
)
PROSE_INVENTED = PROSE.replace("9 incidents", "15 incidents")
# Two sentences with invented figures: two findings.
PROSE_WORSE = PROSE_INVENTED.replace("across services", "across 40 services")
ABSTRACT = " ".join(
    [
        "This review looks at service reliability for engineering leadership.",
        "It counts the incidents of the third quarter against the second.",
        "The count fell, and most problems were small and short.",
        "Engineers fixed them quickly, with little effect on customers.",
        "Teams learned where alerts came late and where runbooks were thin.",
        "Those lessons now shape the work planned for the coming months.",
        "Better alerting, clearer ownership and regular drills come first.",
        "Leadership is asked to keep time for that work in every team's plan.",
        "Progress will be measured by the incident count and recovery times.",
        "A short update will follow at the end of the next quarter.",
        "Until then, the current on-call rotation stays as it is.",
        "Questions about this review go to the reliability group.",
    ]
)


def phase_of(first_user_message: str) -> str:
    """Which phase a prompt asks for, read from its template's opening words."""
    if "Write the abstract" in first_user_message:
        return "ABSTRACT"
    if "Here is a draft" in first_user_message:
        return "REFINE"
    if "Write a plan" in first_user_message:
        return "DRAFT"
    return "EXPAND"


PASSING = {"DRAFT": DRAFT, "EXPAND": PROSE, "REFINE": PROSE, "ABSTRACT": ABSTRACT}
