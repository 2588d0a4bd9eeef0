"""The phase cache's shared level in a real Redis: both levels, the in-flight lock, Redis down."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest
from pg_server import free_port

from reporting.compiler.cache import CachedResult, PhaseCache
from reporting.compiler.shared_budget import RedisState
from reporting.compiler.shared_cache import SharedCache, TieredCache, tiered
from reporting.settings import load_settings

RESULT = CachedResult("A text.", 10, 5, "ollama", "llama3:8b", 1.0)


def _tiered(url: str, folder: Path, lock_s: float = 5.0) -> TieredCache:
    return TieredCache(PhaseCache(folder), SharedCache(RedisState(url), 3600, lock_s))


def test_a_result_put_by_one_build_is_found_by_another_and_copied_locally(
    redis_url: str, tmp_path: Path
) -> None:
    one, two = _tiered(redis_url, tmp_path / "a"), _tiered(redis_url, tmp_path / "b")
    assert two.get("k") is None
    one.put("k", RESULT)
    assert two.get("k") == RESULT
    assert two.local.get("k") == RESULT  # the first level now holds it too


def test_entries_expire_after_shared_cache_days(redis_url: str, tmp_path: Path) -> None:
    cache = _tiered(redis_url, tmp_path)
    cache.put("k", RESULT)
    ttl = cache.shared.state.client.ttl("reporting:cache:k")
    assert 3500 < ttl <= 3600


def test_a_second_build_waits_for_the_call_in_flight_and_takes_its_result(
    redis_url: str, tmp_path: Path
) -> None:
    holder, waiter = _tiered(redis_url, tmp_path / "a"), _tiered(redis_url, tmp_path / "b")
    assert asyncio.run(holder.claim("k", 5.0)) is None  # a miss: the holder makes the call

    def finish() -> None:
        time.sleep(0.3)
        holder.put("k", RESULT)
        holder.release("k")

    thread = threading.Thread(target=finish)
    thread.start()
    started = time.monotonic()
    hit = asyncio.run(waiter.claim("k", 5.0))
    thread.join()
    assert hit == RESULT and 0.2 < time.monotonic() - started < 3
    assert "k" not in waiter.held


def test_a_holder_that_fails_lets_the_waiter_make_the_call(redis_url: str, tmp_path: Path) -> None:
    holder, waiter = _tiered(redis_url, tmp_path / "a"), _tiered(redis_url, tmp_path / "b")
    asyncio.run(holder.claim("k", 5.0))
    threading.Timer(0.2, holder.release, args=("k",)).start()
    assert asyncio.run(waiter.claim("k", 5.0)) is None
    assert "k" in waiter.held  # the lock is the waiter's now
    waiter.release("k")
    assert not waiter.shared.locked("k")


def test_a_lock_left_by_a_dead_holder_expires(redis_url: str, tmp_path: Path) -> None:
    dead = _tiered(redis_url, tmp_path / "a", lock_s=0.3)
    asyncio.run(dead.claim("k", 5.0))  # and never released
    waiter = _tiered(redis_url, tmp_path / "b")
    started = time.monotonic()
    assert asyncio.run(waiter.claim("k", 5.0)) is None
    assert time.monotonic() - started < 2


def test_releasing_an_expired_lock_never_frees_another_builds(
    redis_url: str, tmp_path: Path
) -> None:
    first = _tiered(redis_url, tmp_path / "a", lock_s=0.2)
    asyncio.run(first.claim("k", 5.0))
    time.sleep(0.3)  # first's lock expired
    second = _tiered(redis_url, tmp_path / "b")
    asyncio.run(second.claim("k", 5.0))
    first.release("k")
    assert second.shared.locked("k")


def test_redis_down_turns_the_level_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = _tiered(f"redis://:pw-9@127.0.0.1:{free_port()}/0", tmp_path)
    with caplog.at_level(logging.WARNING, logger="reporting"):
        for number in range(5):
            assert cache.get(f"k{number}") is None
            cache.put("k", RESULT)
        assert asyncio.run(cache.claim("other", 1.0)) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("shared cache off for this build")
    assert "pw-9" not in warnings[0]
    assert cache.local.get("k") == RESULT  # the first level still works


def test_settings_choose_the_levels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    local = PhaseCache(tmp_path)
    assert tiered(load_settings(), local) is local
    monkeypatch.setenv("REPORT_BROKER_URL", "redis://127.0.0.1:1/0")
    assert isinstance(tiered(load_settings(), local), TieredCache)
    monkeypatch.setenv("SHARED_CACHE_DAYS", "0")
    assert tiered(load_settings(), local) is local


def test_a_lock_taken_just_as_the_result_arrived_is_given_back(
    redis_url: str, tmp_path: Path
) -> None:
    cache = _tiered(redis_url, tmp_path / "a")
    other = _tiered(redis_url, tmp_path / "b")
    # The result lands between this build's miss and its lock: `claim` finds it after locking.
    other.shared.put("k", RESULT)
    assert asyncio.run(cache.claim("k", 5.0)) == RESULT
    assert cache.held == {} and not cache.shared.locked("k")


def test_a_holder_still_working_keeps_its_lock_past_the_expiry(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reporting.compiler.shared_cache.RENEW_S", 0.1)
    holder = _tiered(redis_url, tmp_path / "a", lock_s=0.3)
    waiter = _tiered(redis_url, tmp_path / "b")

    async def work() -> bool:
        assert await holder.claim("k", 5.0) is None
        await asyncio.sleep(1.0)  # a slow call: three lock lifetimes
        still = waiter.shared.locked("k")
        holder.release("k")
        return still

    assert asyncio.run(work()) is True
    assert not waiter.shared.locked("k")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b'{"text": null, "input_tokens": "x", "output_tokens": 1, "provider": "p", '
        b'"model": "m", "created": 1}',
        b'{"text": "ok"}',
        b"[1, 2]",
    ],
)
def test_a_damaged_shared_entry_is_a_miss(redis_url: str, tmp_path: Path, raw: bytes) -> None:
    cache = _tiered(redis_url, tmp_path)
    cache.shared.state.client.set("reporting:cache:k", raw)
    assert cache.get("k") is None
    assert cache.shared.down is None  # the level stays on
    cache.put("k", RESULT)
    assert _tiered(redis_url, tmp_path / "other").get("k") == RESULT
