"""The rate limiter: GCRA semantics in memory and in Redis, concurrency, pauses, Redis outages."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
import redis

from governance.dependencies import Dependency
from governance.ratelimit import (
    Decision,
    MemoryRateLimitBackend,
    Rate,
    RateLimitCostError,
    RateLimiter,
    RedisRateLimitBackend,
    redis_client,
)
from tests.support.redis_server import closed_port_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory(clock: FakeClock) -> RateLimiter:
    return RateLimiter(MemoryRateLimitBackend(clock=clock), sleep=clock.sleep)


@pytest.fixture
def redis_limiter(redis_url: str) -> RateLimiter:
    client = redis_client(redis_url)
    # A prefix of its own per test: the tests never see each other's keys.
    return RateLimiter(RedisRateLimitBackend(client), prefix=f"test:rl:{uuid.uuid4().hex}:")


# --- rates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [
        ("6000/min", 6000, 60),
        ("10/s", 10, 1),
        ("100000/minute", 100000, 60),
        ("5/10s", 5, 10),
        ("1000/day", 1000, 86400),
    ],
)
def test_rate_parse(text: str, limit: float, period: float) -> None:
    rate = Rate.parse(text)
    assert (rate.limit, rate.period_s, rate.capacity) == (limit, period, limit)


@pytest.mark.parametrize("text", ["", "6000", "0/min", "10/fortnight", "-1/s", "ten/s", "1/0s"])
def test_rate_parse_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        Rate.parse(text)


def test_a_bad_api_rate_refuses_to_start() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "ARBITER_API_RATE": "lots", "DJANGO_SETTINGS_MODULE": "governance.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    assert "ARBITER_API_RATE" in out.stderr


# --- GCRA semantics (memory, fake clock) ------------------------------------------------------------


def test_burst_then_refusal_with_exact_retry_after(memory: RateLimiter, clock: FakeClock) -> None:
    rate = Rate(limit=60, period_s=60, burst=3)  # one per second, three at once
    decisions = [memory.try_acquire("k", rate) for _ in range(4)]
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after_s == pytest.approx(1.0)
    clock.now += 0.99
    assert not memory.try_acquire("k", rate).admitted
    clock.now += 0.01
    assert memory.try_acquire("k", rate).admitted
    assert not memory.try_acquire("k", rate).admitted


def test_keys_are_independent(memory: RateLimiter) -> None:
    rate = Rate(limit=1, period_s=60)
    assert memory.try_acquire("a", rate).admitted
    assert memory.try_acquire("b", rate).admitted
    assert not memory.try_acquire("a", rate).admitted


def test_weighted_costs_for_a_tokens_per_minute_quota(memory: RateLimiter, clock: FakeClock) -> None:
    tpm = Rate(limit=10_000, period_s=60)
    assert memory.try_acquire("tpm", tpm, cost=6_000).admitted
    refused = memory.try_acquire("tpm", tpm, cost=6_000)
    assert not refused.admitted
    assert refused.remaining == 4_000
    # 2,000 more tokens come back in 12 s.
    assert refused.retry_after_s == pytest.approx(12.0)
    assert memory.try_acquire("tpm", tpm, cost=4_000).admitted
    with pytest.raises(RateLimitCostError):
        memory.try_acquire("tpm", tpm, cost=10_001)


@pytest.mark.parametrize("cost", [0, -1, float("nan"), float("inf")])
def test_cost_must_be_a_positive_number(memory: RateLimiter, cost: float) -> None:
    with pytest.raises(ValueError, match="cost"):
        memory.try_acquire("k", Rate(limit=10, period_s=1), cost=cost)


def test_acquire_waits_for_capacity_in_arrival_order(memory: RateLimiter, clock: FakeClock) -> None:
    rate = Rate(limit=2, period_s=1, burst=1)  # one every 0.5 s
    start = clock.now
    first = memory.acquire("k", rate, timeout_s=5)
    second = memory.acquire("k", rate, timeout_s=5)
    third = memory.acquire("k", rate, timeout_s=5)
    assert first.wait_s == 0
    assert [second.wait_s, third.wait_s] == pytest.approx([0.5, 0.5])
    assert clock.now - start == pytest.approx(1.0)  # slept until each reservation was due


def test_acquire_refuses_at_once_when_capacity_comes_too_late(memory: RateLimiter, clock: FakeClock) -> None:
    rate = Rate(limit=1, period_s=10)
    assert memory.try_acquire("k", rate).admitted
    before = clock.now
    refused = memory.acquire("k", rate, timeout_s=2)
    assert not refused.admitted
    assert refused.retry_after_s == pytest.approx(10)
    assert clock.now == before  # no sleep on refusal
    # The refusal reserved nothing: after the interval one request passes.
    clock.now += 10
    assert memory.try_acquire("k", rate).admitted


def test_pause_holds_everything_then_refills_without_a_burst(memory: RateLimiter, clock: FakeClock) -> None:
    rate = Rate(limit=60, period_s=60, burst=10)
    assert memory.try_acquire("p", rate).admitted
    memory.pause("p", rate, 30)  # a provider said 429, Retry-After: 30
    refused = memory.try_acquire("p", rate)
    assert not refused.admitted
    assert refused.retry_after_s == pytest.approx(30)
    clock.now += 30
    assert memory.try_acquire("p", rate).admitted
    assert not memory.try_acquire("p", rate).admitted  # one unit, not the whole burst
    clock.now += 1
    assert memory.try_acquire("p", rate).admitted


def test_a_shorter_pause_never_shortens_a_longer_one(memory: RateLimiter, clock: FakeClock) -> None:
    rate = Rate(limit=60, period_s=60)
    memory.pause("p", rate, 30)
    memory.pause("p", rate, 5)
    assert memory.try_acquire("p", rate).retry_after_s == pytest.approx(30)


def test_memory_backend_bounds_its_keys(clock: FakeClock) -> None:
    backend = MemoryRateLimitBackend(clock=clock, max_keys=100)
    limiter = RateLimiter(backend)
    rate = Rate(limit=1, period_s=1)
    for i in range(1000):
        limiter.try_acquire(f"k{i}", rate)
        clock.now += 0.01
    assert len(backend._tats) <= 100


def _hammer(take: Callable[[], Decision], *, threads: int, per_thread: int) -> list[Decision]:
    results: list[Decision] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        mine = []
        start.wait()
        for _ in range(per_thread):
            mine.append(take())
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_memory_backend_admits_exactly_the_burst_under_threads(memory: RateLimiter) -> None:
    # The clock is frozen, so nothing refills: any lost update would admit more than 50.
    rate = Rate(limit=50, period_s=60)
    results = _hammer(lambda: memory.try_acquire("k", rate), threads=16, per_thread=25)
    assert sum(d.admitted for d in results) == 50


# --- Redis --------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_semantics_match_memory(redis_limiter: RateLimiter) -> None:
    rate = Rate(limit=1, period_s=3600, burst=3)
    decisions = [redis_limiter.try_acquire("k", rate) for _ in range(4)]
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after_s == pytest.approx(3600, abs=1)
    assert not any(d.degraded for d in decisions)
    tpm = Rate(limit=10_000, period_s=60)
    assert redis_limiter.try_acquire("tpm", tpm, cost=9_000).admitted
    refused = redis_limiter.try_acquire("tpm", tpm, cost=2_000)
    assert (refused.admitted, refused.remaining) == (False, 1_000)
    assert refused.retry_after_s == pytest.approx(6.0, abs=0.1)


@pytest.mark.redis
def test_redis_keys_expire_when_they_are_full_again(redis_url: str, redis_limiter: RateLimiter) -> None:
    redis_limiter.try_acquire("k", Rate(limit=10, period_s=1))
    ttl_ms = int(redis.Redis.from_url(redis_url).pttl(redis_limiter.prefix + "k"))  # type: ignore[arg-type]
    assert 0 < ttl_ms <= 102


@pytest.mark.redis
def test_redis_admits_exactly_the_burst_across_many_clients(redis_url: str) -> None:
    # 24 threads, each with its own connection (as separate processes would have): 50 per hour
    # refills one unit every 72 s, so within this test exactly 50 may pass, never more.
    prefix = f"test:rl:{uuid.uuid4().hex}:"
    rate = Rate(limit=50, period_s=3600)
    local = threading.local()

    def take() -> Decision:
        if not hasattr(local, "limiter"):
            local.limiter = RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=prefix)
        limiter: RateLimiter = local.limiter
        return limiter.try_acquire("shared", rate)

    results = _hammer(take, threads=24, per_thread=20)
    assert len(results) == 480
    assert sum(d.admitted for d in results) == 50
    assert not any(d.degraded for d in results)


@pytest.mark.redis
def test_redis_never_admits_more_than_the_rate_allows_over_time(redis_url: str) -> None:
    # GCRA's bound: over any t seconds at most burst + t * limit / period. 8 threads for ~1.5 s.
    prefix = f"test:rl:{uuid.uuid4().hex}:"
    rate = Rate(limit=200, period_s=1, burst=20)
    limiter = RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=prefix)
    admitted_at: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 1.5
    started = time.monotonic()

    def work() -> None:
        while time.monotonic() < deadline:
            if limiter.try_acquire("k", rate).admitted:
                with lock:
                    admitted_at.append(time.monotonic())

    workers = [threading.Thread(target=work) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    bound = rate.capacity + elapsed * rate.limit / rate.period_s
    assert len(admitted_at) <= bound + 1
    # ...and it is a limiter, not a wall: the threads got (nearly) all of it.
    assert len(admitted_at) >= 0.8 * (rate.capacity + 1.4 * rate.limit)


@pytest.mark.redis
def test_redis_acquire_reserves_and_waits(redis_limiter: RateLimiter) -> None:
    rate = Rate(limit=20, period_s=1, burst=1)  # one every 50 ms
    assert redis_limiter.acquire("w", rate, timeout_s=1).wait_s == 0
    started = time.monotonic()
    waited = redis_limiter.acquire("w", rate, timeout_s=1)
    assert waited.admitted
    assert waited.wait_s == pytest.approx(0.05, abs=0.02)
    assert time.monotonic() - started >= waited.wait_s
    refused = redis_limiter.acquire("w", rate, timeout_s=0.001)
    assert not refused.admitted
    assert refused.retry_after_s > 0.001


@pytest.mark.redis
def test_redis_pause_is_shared_and_ends_with_one_unit(redis_url: str) -> None:
    prefix = f"test:rl:{uuid.uuid4().hex}:"
    one = RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=prefix)
    other = RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=prefix)
    rate = Rate(limit=10, period_s=1, burst=5)
    one.pause("provider", rate, 0.3)
    refused = other.try_acquire("provider", rate)  # another process sees the pause
    assert not refused.admitted
    assert refused.retry_after_s == pytest.approx(0.3, abs=0.05)
    time.sleep(refused.retry_after_s + 0.01)
    assert other.try_acquire("provider", rate).admitted
    assert not other.try_acquire("provider", rate).admitted


# --- Redis unreachable -----------------------------------------------------------------------------


def test_unreachable_redis_limits_each_process_to_its_share() -> None:
    outage = Dependency("redis-under-test", retry_interval_s=60)
    backend = RedisRateLimitBackend(redis_client(closed_port_url()), local_share=0.5, redis_dependency=outage)
    limiter = RateLimiter(backend)
    rate = Rate(limit=10, period_s=3600)
    decisions = [limiter.try_acquire("hard-quota", rate) for _ in range(8)]
    # Half of the quota in this process, decided locally and labelled so; never unlimited.
    assert [d.admitted for d in decisions] == [True] * 5 + [False] * 3
    assert all(d.degraded for d in decisions)
    status = outage.status()
    assert not status.available
    assert status.component == "ratelimit"
    assert status.fallbacks == 8


def test_a_cost_beyond_the_local_share_is_refused_until_redis_returns() -> None:
    outage = Dependency("redis-under-test", retry_interval_s=3)
    backend = RedisRateLimitBackend(redis_client(closed_port_url()), local_share=0.25, redis_dependency=outage)
    refused = RateLimiter(backend).try_acquire("tpm", Rate(limit=1000, period_s=60), cost=500)
    assert (refused.admitted, refused.degraded, refused.retry_after_s) == (False, True, 3)
