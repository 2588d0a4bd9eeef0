"""The phase cache's second level, shared by every build and worker: Redis, keyed by the same hash.

The local sqlite cache (`compiler.cache.PhaseCache`) stays the first level; a miss there asks
Redis (`reporting:cache:<key>`, a JSON value that expires after SHARED_CACHE_DAYS), and a hit in
Redis is copied into the local file. Two builds that need the same call at once make it once: the
first takes a short in-flight lock (`reporting:inflight:<key>`, SET NX with a 15 s expiry that
the holder renews every 5 s while it works) and the others wait for its result, or for the lock
to go (the holder failed, or died and stopped renewing it), then try again.

The shared cache is an optimisation, so unlike the shared budget it fails open: the first Redis
error is logged once and the build goes on with the local cache alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from reporting.compiler.cache import CachedResult, PhaseCache
from reporting.compiler.shared_budget import RedisState, StateUnavailable, state_for
from reporting.settings import Settings

PREFIX = "reporting:cache"
LOCK_PREFIX = "reporting:inflight"
POLL_S = 0.05  # how often a waiting build looks for the holder's result
LOCK_S = 15.0  # a lock not renewed for this long is a dead holder's: others may take it
RENEW_S = 5.0  # how often a live holder renews its locks
_log = logging.getLogger("reporting.compiler.shared_cache")

# KEYS[1] the lock · ARGV[1] the holder's token: delete the lock only if it is still ours.
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] the lock · ARGV token, ms: extend the lock only if it is still ours.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class SharedCache:
    """The Redis level: get, put, and the in-flight lock; any Redis error turns it off."""

    def __init__(self, state: RedisState, ttl_s: int, lock_s: float = LOCK_S) -> None:
        self.state = state
        self.ttl_s = ttl_s
        self.lock_ms = max(1, int(lock_s * 1000))
        self.down: str | None = None  # why Redis stopped answering: the level is off from then
        self._unlock = state.client.register_script(UNLOCK)
        self._renew = state.client.register_script(RENEW)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One Redis command; None (and the level off, said once) on any Redis error."""
        if self.down is not None:
            return None
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            self.down = str(self.state._fail(exc))
            _log.warning("shared cache off for this build (%s failed): %s", what, self.down)
            return None

    def get(self, key: str) -> CachedResult | None:
        """The shared result for a key, if Redis has a well-formed one (anything else: a miss)."""
        try:
            raw = self._call("read", self.state.client.get, f"{PREFIX}:{key}")
        except UnicodeDecodeError:  # bytes that are not ours: a miss, replaced by the next put
            return None
        if not raw:
            return None
        try:
            result = CachedResult(**json.loads(raw))
        except (TypeError, ValueError):  # an entry from another version: a miss, replaced later
            return None
        return result if _well_formed(result) else None

    def put(self, key: str, result: CachedResult) -> None:
        """Store a result for every worker, expiring after the TTL."""
        value = json.dumps(asdict(result), ensure_ascii=False)
        self._call("write", self.state.client.set, f"{PREFIX}:{key}", value, ex=self.ttl_s)

    def lock(self, key: str) -> str | None:
        """Take the in-flight lock of a call; its token, or None when another build holds it."""
        token = uuid.uuid4().hex
        taken = self._call(
            "lock", self.state.client.set, f"{LOCK_PREFIX}:{key}", token, nx=True, px=self.lock_ms
        )
        # Redis down: act as if the lock were ours, so the build makes the call itself.
        return token if taken or self.down is not None else None

    def locked(self, key: str) -> bool:
        """Whether another build holds the call's lock now."""
        return bool(self._call("lock check", self.state.client.exists, f"{LOCK_PREFIX}:{key}"))

    def unlock(self, key: str, token: str) -> None:
        """Give back a lock this build holds (never one that expired and went to another)."""
        self._call("unlock", self._unlock, keys=[f"{LOCK_PREFIX}:{key}"], args=[token])

    def renew(self, key: str, token: str) -> None:
        """Extend a lock this build still holds by another LOCK_S."""
        self._call("renew", self._renew, keys=[f"{LOCK_PREFIX}:{key}"], args=[token, self.lock_ms])


def _well_formed(result: CachedResult) -> bool:
    """A stored result whose fields have the types ours have (another writer's may not)."""
    return (
        isinstance(result.text, str)
        and bool(result.text)
        and all(isinstance(n, int) for n in (result.input_tokens, result.output_tokens))
        and all(isinstance(t, str) for t in (result.provider, result.model))
        and isinstance(result.created, int | float)
    )


@dataclass
class TieredCache:
    """The local cache first, then the shared one; the same interface the runner uses."""

    local: PhaseCache
    shared: SharedCache
    held: dict[str, str] = field(default_factory=dict)  # key → token of locks this build holds
    _renewer: asyncio.Task[None] | None = field(default=None, repr=False)

    def get(self, key: str) -> CachedResult | None:
        """Local first; a shared hit is copied into the local file."""
        hit = self.local.get(key)
        if hit is not None:
            return hit
        hit = self.shared.get(key)
        if hit is not None:
            self.local.put(key, hit)
        return hit

    def put(self, key: str, result: CachedResult) -> None:
        """Store in both levels."""
        self.local.put(key, result)
        self.shared.put(key, result)

    async def claim(self, key: str, timeout_s: float) -> CachedResult | None:
        """Wait while another build makes this call: its result, or None once this build may.

        None means the lock is ours (renewed until `release`), or no one's after `timeout_s`.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            token = self.shared.lock(key)
            if token is not None:
                # The holder may have finished between our miss and our lock.
                hit = self.get(key)
                if hit is not None:
                    self.shared.unlock(key, token)
                    return hit
                self.held[key] = token
                self._keep_renewing()
                return None
            while self.shared.locked(key) and time.monotonic() < deadline:
                await asyncio.sleep(POLL_S)
            hit = self.get(key)
            if hit is not None or time.monotonic() >= deadline:
                return hit

    def release(self, key: str) -> None:
        """Give back the in-flight lock of a call this build made (or failed to make)."""
        token = self.held.pop(key, None)
        if token is not None:
            self.shared.unlock(key, token)

    def _keep_renewing(self) -> None:
        """Renew this build's locks every RENEW_S while it holds any (one task per build)."""
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_loop())

    async def _renew_loop(self) -> None:
        while self.held:
            await asyncio.sleep(RENEW_S)
            for key, token in list(self.held.items()):
                self.shared.renew(key, token)

    def close(self) -> None:
        """Close the local file (the Redis pool is the process's)."""
        self.local.close()


def shared_cache_for(settings: Settings) -> SharedCache | None:
    """The shared level the settings ask for: a Redis URL and SHARED_CACHE_DAYS > 0."""
    url = settings.state_url
    if not url or settings.shared_cache_days <= 0:
        return None
    try:
        state = state_for(url, settings.secrets)
    except StateUnavailable as exc:  # pragma: no cover - from_url does not connect
        _log.warning("shared cache off: %s", exc)
        return None
    return SharedCache(state, settings.shared_cache_days * 86_400)


def tiered(settings: Settings, local: PhaseCache) -> PhaseCache | TieredCache:
    """The cache a build uses: the local file, with the shared level under it when configured."""
    shared = shared_cache_for(settings)
    return local if shared is None else TieredCache(local, shared)
