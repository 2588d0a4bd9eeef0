"""The per-report cap on cloud requests: every request, retries included, takes one call."""

from __future__ import annotations

import threading

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

    def release(self) -> None:
        """Give back a reservation a step no longer needs (it went to the secondary)."""
        with self._lock:
            if self.reserved > 0:
                self.reserved -= 1
