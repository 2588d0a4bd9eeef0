"""The cloud budget shared by every build and worker: CLOUD_BUDGET_DAILY per scope and UTC day.

One Redis hash per scope and day, `reporting:budget:{scope}:{YYYY-MM-DD}`, holds `used`, `cap`
and one `c:<id>` field per charge; it expires a few days after its last charge. A charge is
checked and counted in one Lua script, so no two workers can both take the last call. A refund
(only for a request proven never sent) removes its charge's id and gives the call back only if
the id was there: the same refund twice, or a refund of an unknown id, changes nothing.

Redis unreachable or erroring: the charge is denied (fail closed), so no cloud call is sent.
redis-py is imported only when a shared budget is used (`pip install -e ".[dist]"`).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reporting.errors import ConfigError, CostLimitExceededError
from reporting.logs import redact
from reporting.settings import Settings, hide_userinfo

PREFIX = "reporting:budget"
EXPIRY_S = 3 * 24 * 3600  # a day's hash outlives its day, for `report budget show` and audits
TIMEOUT_S = 1.0  # connect and reply: a Redis slower than this is treated as unreachable

# KEYS[1] the day's hash · ARGV cap, charge id, expiry → {allowed 0|1, used after}
CHARGE = """
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local cap = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'cap', cap)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[2]) == 1 then
  return {1, used}
end
if used >= cap then
  return {0, used}
end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[2], 1)
used = redis.call('HINCRBY', KEYS[1], 'used', 1)
return {1, used}
"""

# KEYS[1] the day's hash · ARGV charge id → {refunded 0|1, used after}
REFUND = """
if redis.call('HDEL', KEYS[1], 'c:' .. ARGV[1]) == 1 then
  return {1, redis.call('HINCRBY', KEYS[1], 'used', -1)}
end
return {0, tonumber(redis.call('HGET', KEYS[1], 'used') or '0')}
"""


class SharedBudgetExceeded(CostLimitExceededError):
    """The shared budget refused a cloud request: spent, or Redis could not say (fail closed)."""

    def __init__(self, message: str, *, budget: str, why: str | None = None) -> None:
        super().__init__(message)
        self.budget = budget  # for the log: `shared:<scope> used N/M today`
        self.why = why  # why Redis could not be asked, when it could not


class StateUnavailable(Exception):
    """Redis could not be reached or answered with an error; the message hides any password."""


@dataclass(frozen=True)
class Charge:
    """One charge's outcome; `id` and `key` let a request never sent be refunded."""

    id: str
    key: str
    allowed: bool
    used: int
    cap: int


@dataclass(frozen=True)
class DayUse:
    """One scope's use on one day."""

    scope: str
    used: int
    cap: int | None
    day: str


def today() -> str:
    """The current UTC day, YYYY-MM-DD: each day's budget starts at 0."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def day_key(scope: str, day: str) -> str:
    """The Redis hash of one scope's day."""
    return f"{PREFIX}:{scope}:{day}"


def _connect(url: str) -> Any:
    try:
        import redis  # only builds with a shared budget need redis-py
    except ImportError:
        raise ConfigError(
            'a shared cloud budget needs redis-py: pip install -e ".[dist]"'
        ) from None
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            # One immediate retry (a pooled connection Redis closed), not redis-py's default
            # backoff: a charge blocks the build's event loop while it waits.
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
    except ValueError as exc:
        raise ConfigError(f"REPORT_STATE_URL: {exc}") from None


class RedisState:
    """A connection to the Redis holding shared state, with errors that never show a password."""

    def __init__(self, url: str, secrets: list[str] | None = None) -> None:
        self.url = url
        self.shown_url = hide_userinfo(url) or ""
        self.secrets = secrets or []
        self.client = _connect(url)
        self._charge = self.client.register_script(CHARGE)
        self._refund = self.client.register_script(REFUND)

    def _fail(self, exc: Exception) -> StateUnavailable:
        detail = redact(str(exc), self.secrets) or type(exc).__name__
        return StateUnavailable(f"redis unreachable at {self.shown_url}: {detail}")

    def run(self, script: Any, key: str, *args: Any) -> tuple[int, int]:
        """Run one of the scripts; StateUnavailable for any Redis error."""
        import redis

        try:
            flag, used = script(keys=[key], args=list(args))
        except (redis.RedisError, OSError) as exc:
            raise self._fail(exc) from None
        return int(flag), int(used)

    def usage(self, day: str) -> list[DayUse]:
        """Every scope's use on `day`, sorted by scope."""
        import redis

        rows = []
        try:
            for key in sorted(self.client.scan_iter(match=f"{PREFIX}:*:{day}", count=500)):
                scope = key[len(PREFIX) + 1 : -(len(day) + 1)]
                used, cap = self.client.hmget(key, "used", "cap")
                rows.append(DayUse(scope, int(used or 0), int(cap) if cap else None, day))
        except (redis.RedisError, OSError) as exc:
            raise self._fail(exc) from None
        return rows

    def close(self) -> None:
        """Give back the connections."""
        self.client.close()


class SharedBudget:
    """CLOUD_BUDGET_DAILY for one scope, charged in Redis before each cloud request."""

    def __init__(self, state: RedisState, cap: int, scope: str) -> None:
        self.state = state
        self.cap = cap
        self.scope = scope

    @property
    def name(self) -> str:
        """How logs name this budget."""
        return f"shared:{self.scope}"

    def charge(self) -> Charge:
        """Take one call for a request about to be sent; raise SharedBudgetExceeded if refused.

        Redis unreachable or erroring refuses the call too (fail closed), saying why.
        """
        charge_id = uuid.uuid4().hex
        key = day_key(self.scope, today())
        try:
            flag, used = self.state.run(self.state._charge, key, self.cap, charge_id, EXPIRY_S)
        except StateUnavailable as exc:
            raise SharedBudgetExceeded(
                f"CLOUD_BUDGET_DAILY: no cloud call sent, {exc}", budget=self.name, why=str(exc)
            ) from None
        if not flag:
            raise SharedBudgetExceeded(
                f"CLOUD_BUDGET_DAILY={self.cap} reached for scope {self.scope!r} "
                f"({used} cloud calls today)",
                budget=f"{self.name} used {used}/{self.cap} today",
            )
        return Charge(charge_id, key, True, used, self.cap)

    def refund(self, charge: Charge) -> bool:
        """Give back a charge whose request was never sent; True if this call gave it back.

        Idempotent: a second refund of the same charge, or of one Redis never saw, does nothing.
        """
        flag, _ = self.state.run(self.state._refund, charge.key, charge.id)
        return bool(flag)

    def use(self) -> DayUse:
        """Today's use of this scope."""
        for row in self.state.usage(today()):
            if row.scope == self.scope:
                return row
        return DayUse(self.scope, 0, self.cap, today())


_states: dict[str, RedisState] = {}  # one connection pool per URL for the whole process
_states_lock = threading.Lock()


def state_for(url: str, secrets: list[str]) -> RedisState:
    """The process's connection to `url`: a batch of many reports shares one pool."""
    with _states_lock:
        state = _states.get(url)
        if state is None:
            state = _states[url] = RedisState(url, secrets)
        return state


def from_settings(settings: Settings) -> SharedBudget | None:
    """The shared budget the settings ask for, or None (CLOUD_BUDGET_DAILY unset)."""
    if settings.cloud_budget_daily is None:
        return None
    url = settings.state_url
    if not url:
        raise ConfigError(
            "CLOUD_BUDGET_DAILY is set but no Redis is: set REPORT_STATE_URL or REPORT_BROKER_URL"
        )
    state = state_for(url, settings.secrets)
    return SharedBudget(state, settings.cloud_budget_daily, settings.cloud_budget_scope)
