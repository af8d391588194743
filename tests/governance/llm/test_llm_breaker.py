"""The breaker state machine, run against both stores (memory, and Redis when REDIS_URL is set)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from governance.dependencies import Dependency
from governance.llm import (
    BreakerConfig,
    BreakerOpenError,
    BreakerPermit,
    BreakerRegistry,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    MemoryBreakerStore,
    RedisBreakerStore,
    StateChange,
)
from tests.governance.llm.factories import FAST_BREAKER, FakeClock

REPO_ROOT = Path(__file__).resolve().parents[3]
KEY = "prov:model"


@pytest.fixture
def registry(breaker_store: BreakerStore, clock: FakeClock) -> BreakerRegistry:
    return BreakerRegistry(breaker_store, clock=clock)


@pytest.fixture
def changes(registry: BreakerRegistry) -> list[StateChange]:
    seen: list[StateChange] = []
    registry.on_state_change(seen.append)
    return seen


def run(breaker: CircuitBreaker, *outcomes: bool, duration_s: float = 0.01) -> None:
    """Admit and record one call per outcome (True = failed)."""
    for failed in outcomes:
        breaker.record(breaker.acquire(), failed=failed, duration_s=duration_s)


def trip(breaker: CircuitBreaker) -> None:
    run(breaker, True, True, False, False)
    assert breaker.snapshot().state is BreakerState.OPEN


def test_stays_closed_below_minimum_calls(registry: BreakerRegistry) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)

    run(breaker, True, True, True)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert (snapshot.calls, snapshot.failed_calls, snapshot.failure_rate) == (3, 3, 1.0)


def test_opens_when_failure_rate_reaches_threshold(registry: BreakerRegistry, changes: list[StateChange]) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)

    run(breaker, False, True, False, True)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.opened_at == registry.clock()
    assert [(c.previous, c.current, c.reason, c.failure_rate) for c in changes] == [
        (BreakerState.CLOSED, BreakerState.OPEN, "failure_rate", 0.5)
    ]


def test_window_slides_so_old_failures_expire(registry: BreakerRegistry) -> None:
    breaker = registry.get(KEY, BreakerConfig(window_size=4, minimum_calls=4, failure_rate_threshold=0.75))

    run(breaker, True, True, False, False, False, True)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert (snapshot.calls, snapshot.failed_calls) == (4, 1)


def test_rejects_while_open_and_says_when_to_come_back(registry: BreakerRegistry, clock: FakeClock) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)
    clock.advance(10)

    with pytest.raises(BreakerOpenError) as excinfo:
        breaker.acquire()

    assert excinfo.value.code == "breaker_open"
    assert excinfo.value.breaker_key == KEY
    assert excinfo.value.retry_after_s == pytest.approx(20.0)


def test_half_opens_after_cool_down_and_admits_only_n_probes(
    registry: BreakerRegistry, clock: FakeClock, changes: list[StateChange]
) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)
    clock.advance(30)

    probes = [breaker.acquire(), breaker.acquire()]
    with pytest.raises(BreakerOpenError) as excinfo:
        breaker.acquire()

    assert all(p.probe for p in probes)
    assert excinfo.value.state == "half_open"
    assert changes[-1].current is BreakerState.HALF_OPEN
    assert changes[-1].reason == "cool_down_elapsed"
    assert breaker.snapshot().half_open_admitted == 2


def test_closes_with_a_clear_window_when_probes_succeed(
    registry: BreakerRegistry, clock: FakeClock, changes: list[StateChange]
) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)
    clock.advance(30)

    run(breaker, False, False)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert snapshot.calls == 0
    assert snapshot.opened_at is None
    assert changes[-1].reason == "probes_succeeded"
    # One old failure does not re-trip a freshly closed breaker.
    run(breaker, True)
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_reopens_when_probes_fail(registry: BreakerRegistry, clock: FakeClock, changes: list[StateChange]) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)
    clock.advance(30)

    run(breaker, False, True)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.opened_at == clock.now
    assert (changes[-1].reason, changes[-1].failure_rate) == ("probes_failed", 0.5)
    with pytest.raises(BreakerOpenError):
        breaker.acquire()


def test_probes_that_never_report_send_it_back_to_open(
    registry: BreakerRegistry, clock: FakeClock, changes: list[StateChange]
) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)
    clock.advance(30)
    half_opened_at = clock.now
    lost = [breaker.acquire(), breaker.acquire()]  # their workers "crash": no record()
    clock.advance(60)

    with pytest.raises(BreakerOpenError):
        breaker.acquire()

    assert changes[-1].reason == "probes_timed_out"
    assert breaker.snapshot().opened_at == pytest.approx(half_opened_at + 60)
    # A probe reporting after its window closed is ignored.
    breaker.record(lost[0], failed=False, duration_s=0.01)
    assert breaker.snapshot().state is BreakerState.OPEN
    # ...and after another cool-down, fresh probes are admitted.
    clock.advance(30)
    assert breaker.acquire().probe


def test_late_report_from_before_the_trip_is_ignored(registry: BreakerRegistry) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    straggler = breaker.acquire()
    trip(breaker)

    breaker.record(straggler, failed=True, duration_s=0.01)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.generation == straggler.generation + 1


def test_slow_calls_trip_it(registry: BreakerRegistry, changes: list[StateChange]) -> None:
    config = BreakerConfig(window_size=3, minimum_calls=3, slow_call_duration_s=1.0, slow_call_rate_threshold=1.0)
    breaker = registry.get(KEY, config)

    run(breaker, False, False, duration_s=1.5)
    run(breaker, False, duration_s=1.0)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert changes[-1].reason == "slow_call_rate"
    assert changes[-1].slow_call_rate == 1.0


def test_fast_successes_keep_a_slow_rate_below_threshold(registry: BreakerRegistry) -> None:
    config = BreakerConfig(window_size=3, minimum_calls=3, slow_call_duration_s=1.0, slow_call_rate_threshold=1.0)
    breaker = registry.get(KEY, config)

    run(breaker, False, False, duration_s=2.0)
    run(breaker, False, duration_s=0.1)

    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().slow_calls == 2


def test_reset_closes_and_notifies(registry: BreakerRegistry, changes: list[StateChange]) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)
    trip(breaker)

    breaker.reset()

    assert breaker.snapshot().state is BreakerState.CLOSED
    assert (changes[-1].previous, changes[-1].current, changes[-1].reason) == (
        BreakerState.OPEN,
        BreakerState.CLOSED,
        "reset",
    )
    assert breaker.acquire().probe is False


def test_breakers_are_independent_per_key_and_listed(registry: BreakerRegistry) -> None:
    trip(registry.get("a:m", FAST_BREAKER))
    run(registry.get("b:m", FAST_BREAKER), False)

    states = {s.key: s.state for s in registry.snapshots()}

    assert states == {"a:m": BreakerState.OPEN, "b:m": BreakerState.CLOSED}


def test_listener_that_raises_is_logged_and_ignored(
    registry: BreakerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(change: StateChange) -> None:
        raise RuntimeError("alerting is down")

    registry.on_state_change(broken)
    breaker = registry.get(KEY, FAST_BREAKER)

    with caplog.at_level(logging.ERROR, logger="governance.llm.breaker"):
        trip(breaker)

    assert "listener" in caplog.text


def test_call_wraps_a_function(registry: BreakerRegistry) -> None:
    breaker = registry.get(KEY, FAST_BREAKER)

    assert breaker.call(lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    assert breaker.snapshot().failed_calls == 1


def test_concurrent_callers_in_half_open_get_exactly_n_probes(registry: BreakerRegistry, clock: FakeClock) -> None:
    config = BreakerConfig(window_size=4, minimum_calls=4, wait_in_open_s=30, half_open_permitted_calls=3)
    breaker = registry.get(KEY, config)
    run(breaker, True, True, True, True)
    clock.advance(30)
    callers = 24
    barrier = threading.Barrier(callers)
    permits: list[BreakerPermit] = []
    rejected: list[BreakerOpenError] = []
    lock = threading.Lock()

    def caller() -> None:
        barrier.wait()
        try:
            permit = breaker.acquire()
        except BreakerOpenError as exc:
            with lock:
                rejected.append(exc)
        else:
            with lock:
                permits.append(permit)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert len(permits) == 3
    assert all(p.probe for p in permits)
    assert len(rejected) == callers - 3


@pytest.mark.redis
def test_a_second_process_sees_the_open_state(
    redis_store_factory: Callable[..., RedisBreakerStore], clock: FakeClock
) -> None:
    store = redis_store_factory()
    trip(BreakerRegistry(store, clock=clock).get(KEY, FAST_BREAKER))
    script = (
        "import json, os, redis\n"
        "from governance.llm import BreakerConfig, BreakerRegistry, BreakerOpenError, RedisBreakerStore\n"
        "store = RedisBreakerStore(redis.Redis.from_url(os.environ['REDIS_URL']), prefix=os.environ['PREFIX'])\n"
        "breaker = BreakerRegistry(store, clock=lambda: float(os.environ['NOW'])).get("
        "os.environ['KEY'], BreakerConfig(wait_in_open_s=30))\n"
        "try:\n"
        "    breaker.acquire()\n"
        "    admitted = True\n"
        "except BreakerOpenError:\n"
        "    admitted = False\n"
        "snap = breaker.snapshot()\n"
        "print(json.dumps({'state': str(snap.state), 'opened_at': snap.opened_at, 'admitted': admitted}))\n"
    )
    env = {**os.environ, "PREFIX": store.prefix, "KEY": KEY, "NOW": repr(clock.now + 1), "PYTHONPATH": str(REPO_ROOT)}

    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30, check=False
    )

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {"state": "open", "opened_at": pytest.approx(clock.now), "admitted": False}


@pytest.mark.redis
def test_redis_store_is_shared_between_store_instances(
    redis_store_factory: Callable[..., RedisBreakerStore], clock: FakeClock
) -> None:
    first = BreakerRegistry(redis_store_factory(), clock=clock).get(KEY, FAST_BREAKER)
    second = BreakerRegistry(redis_store_factory(), clock=clock).get(KEY, FAST_BREAKER)

    run(first, True, True)
    run(second, True, False)

    assert first.snapshot().state is BreakerState.OPEN
    with pytest.raises(BreakerOpenError):
        second.acquire()


def test_unreachable_redis_falls_back_to_per_process_state(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    # Port 1 on localhost refuses connections at once: no real Redis needed.
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    fallback = MemoryBreakerStore()
    # Retry interval 0: every call tries (and fails) Redis again, and still logs the outage once.
    outage = Dependency("redis-under-test", retry_interval_s=0.0)
    store = RedisBreakerStore(dead, fallback=fallback, redis_dependency=outage)
    breaker = BreakerRegistry(store, clock=clock).get(KEY, FAST_BREAKER)

    with caplog.at_level(logging.WARNING, logger="governance.dependencies"):
        trip(breaker)

    assert fallback.snapshot(KEY).state is BreakerState.OPEN
    assert caplog.text.count("dependency redis-under-test unavailable") == 1
    assert not outage.status().available
    assert outage.status().fallbacks >= FAST_BREAKER.minimum_calls
    with pytest.raises(BreakerOpenError):
        breaker.acquire()
