"""CloudBudget: reservations for planned calls, the spare pool for retries."""

from __future__ import annotations

import pytest

from reporting.compiler.budget import CloudBudget, shares
from reporting.errors import CostLimitExceededError


def test_reserved_calls_are_always_available() -> None:
    budget = CloudBudget(3, reserved=3)
    for _ in range(3):
        budget.spend(reserved=True)
    assert budget.used == 3
    with pytest.raises(CostLimitExceededError, match="MAX_CLOUD_CALLS=3"):
        budget.spend(reserved=False)


def test_retries_cannot_take_a_reserved_call() -> None:
    budget = CloudBudget(3, reserved=2)
    budget.spend(reserved=False)  # the one spare call
    with pytest.raises(CostLimitExceededError):
        budget.spend(reserved=False)
    budget.spend(reserved=True)
    budget.spend(reserved=True)
    assert (budget.used, budget.reserved, budget.spare) == (3, 0, 0)


def test_released_reservation_becomes_spare() -> None:
    budget = CloudBudget(2, reserved=2)
    budget.release()
    assert budget.spare == 1
    budget.spend(reserved=False)
    assert budget.used == 1


def test_cannot_reserve_more_than_the_limit() -> None:
    with pytest.raises(ValueError, match="cannot reserve 4"):
        CloudBudget(3, reserved=4)


def test_spare_calls_are_dealt_to_sections_in_outline_order() -> None:
    assert shares(5, ["1", "2", "3"]) == {"1": 2, "2": 2, "3": 1}
    assert shares(1, ["1", "2"]) == {"1": 1, "2": 0}
    assert shares(0, ["1"]) == {"1": 0}
    assert shares(3, []) == {}


def test_a_section_claims_only_its_own_share_and_the_abstract_what_is_left() -> None:
    budget = CloudBudget(5, reserved=3)
    budget.allot(shares(budget.spare, ["1", "2", "3"]))
    assert budget.claim("1") and not budget.claim("1")  # its one call, now reserved
    assert (budget.reserved, budget.spare) == (4, 1)
    assert not budget.claim("3")  # dealt nothing
    budget.spend(reserved=True)  # the call "1" claimed is sent
    assert budget.claim(None)  # the abstract: "2"'s unused call is still spare
    budget.release()  # ... but its call came from the cache: the claim is given back
    assert budget.spare == 1 and budget.claim("2")
    budget.spend(reserved=True)
    assert not budget.claim(None) and budget.spare == 0 and budget.used == 2
