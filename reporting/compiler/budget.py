"""The per-report cap on cloud requests: every request, retries included, takes one call."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from reporting.errors import CostLimitExceededError


class CloudBudget:
    """Counts cloud requests against MAX_CLOUD_CALLS, honouring the plan's reservations.

    The plan reserves one call for the first attempt of every cloud step (the abstract's
    included), so retries can only spend what no planned step needs.
    """

    def __init__(self, limit: int, reserved: int = 0) -> None:
        if reserved > limit:
            raise ValueError(f"cannot reserve {reserved} calls under a limit of {limit}")
        self.limit = limit
        self.used = 0
        self.reserved = reserved
        self._lock = threading.Lock()
        self._allotted: dict[str, int] | None = None  # quality calls each section may claim

    @property
    def spare(self) -> int:
        """Calls neither spent nor reserved: what retries may use."""
        return self.limit - self.used - self.reserved

    def spend(self, *, reserved: bool) -> None:
        """Take one call, from a reservation or from the spare pool; raise when none is left."""
        with self._lock:
            if reserved and self.reserved > 0:
                self.reserved -= 1
            elif self.spare <= 0:
                raise CostLimitExceededError(
                    f"MAX_CLOUD_CALLS={self.limit} reached ({self.used} cloud calls sent)"
                )
            self.used += 1

    def allot(self, shares: Mapping[str, int]) -> None:
        """Give each section the spare calls its repairs and escalations may claim."""
        # Sections run side by side: without a share each, which section's escalation gets the
        # last spare call would depend on timing, and the same inputs could give another report.
        with self._lock:
            self._allotted = dict(shares)

    def claim(self, section_id: str | None) -> bool:
        """Reserve one of a section's allotted calls for a quality call (the abstract: any left).

        The call then spends the reservation like a planned step (`spend(reserved=True)`), and
        gives it back with `release` when it sent nothing, so no other section's share is taken.
        """
        with self._lock:
            if self.spare <= 0:
                return False
            if self._allotted is not None and section_id is not None:
                left = self._allotted.get(section_id, 0)
                if left <= 0:
                    return False
                self._allotted[section_id] = left - 1
            self.reserved += 1
            return True

    def release(self) -> None:
        """Give back a reservation a step no longer needs (it went to the secondary)."""
        with self._lock:
            if self.reserved > 0:
                self.reserved -= 1


def shares(spare: int, sections: list[str]) -> dict[str, int]:
    """`spare` calls dealt to the sections in outline order, the earlier ones first."""
    if not sections:
        return {}
    each, extra = divmod(max(0, spare), len(sections))
    return {section: each + (1 if i < extra else 0) for i, section in enumerate(sections)}
