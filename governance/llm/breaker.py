"""Circuit breakers whose state every process shares (resilience4j semantics).

One breaker per key (``"<provider name>:<model>"``). The state machine:

* CLOSED: calls pass; the last ``window_size`` outcomes are kept. Once at least
  ``minimum_calls`` are recorded and the failure rate (or slow-call rate) reaches
  its threshold, the breaker goes OPEN.
* OPEN: calls are rejected without touching the network. After
  ``wait_in_open_s`` the next ``acquire`` moves it to HALF_OPEN.
* HALF_OPEN: at most ``half_open_permitted_calls`` probes are admitted; other
  callers are rejected, not queued. When every probe has reported, the probes'
  failure (or slow) rate decides: OPEN again, or CLOSED with a cleared window.
  Probes that never report (a crashed worker) send it back to OPEN after
  ``max_wait_in_half_open_s``.

The lock (a mutex in memory, a Lua script in Redis, see ``breaker_redis``) is
held only while the state is read and written, never while the guarded call
runs: ``acquire`` hands out a permit, the call runs, ``record`` reports its
outcome.

Every permit carries the *generation* it was issued in; each transition bumps
the generation, so a late report from a call that started before the breaker
changed state (a slow call finishing after a trip, a probe reporting after its
half-open window timed out) is ignored instead of corrupting the new state.

Times are wall-clock seconds from an injectable clock, because processes on
different hosts must agree on ``opened_at``; hosts are assumed NTP-synced (a
skew only shifts the cool-down by that skew).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from governance.llm import hooks
from governance.llm.errors import BreakerOpenError
from governance.llm.types import BreakerConfig
from governance.llm.types import BreakerState as BreakerState  # re-exported: defined with the other plain values
from governance.llm.types import StateChange as StateChange

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

# Outcome bit flags; a call can be both failed and slow, as in resilience4j.
OUTCOME_SUCCESS = 0
OUTCOME_FAILED = 1
OUTCOME_SLOW = 2


@dataclass(frozen=True, slots=True)
class BreakerPermit:
    """Proof that a call was admitted; hand it back to ``record`` exactly once."""

    key: str
    generation: int
    probe: bool


@dataclass(frozen=True, slots=True)
class AcquireResult:
    permitted: bool
    probe: bool
    generation: int
    state: BreakerState
    retry_after_s: float | None
    changes: tuple[StateChange, ...] = ()


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """Read-only view for the admin and metrics.

    In CLOSED the rates are over the sliding window; in HALF_OPEN (and in OPEN
    after a failed probe round) over the probes that have reported so far.
    The stored state is shown: an OPEN breaker whose cool-down has elapsed stays
    OPEN here until the next ``acquire`` moves it.
    """

    key: str
    state: BreakerState
    failure_rate: float
    slow_call_rate: float
    calls: int
    failed_calls: int
    slow_calls: int
    opened_at: float | None
    half_open_admitted: int
    half_open_completed: int
    generation: int


class BreakerStore(Protocol):
    """Where breaker state lives. Each method is one atomic step."""

    def acquire(self, key: str, config: BreakerConfig, now: float) -> AcquireResult: ...

    def record(
        self, permit: BreakerPermit, outcome: int, config: BreakerConfig, now: float
    ) -> tuple[StateChange, ...]: ...

    def snapshot(self, key: str) -> BreakerSnapshot: ...

    def reset(self, key: str, now: float) -> tuple[StateChange, ...]: ...

    def keys(self) -> list[str]: ...


def rate(part: int, total: int) -> float:
    return part / total if total > 0 else 0.0


def effective_minimum(config: BreakerConfig) -> int:
    return min(config.minimum_calls, config.window_size)


@dataclass
class _Entry:
    state: BreakerState = BreakerState.CLOSED
    generation: int = 0
    window: list[int] = field(default_factory=list)
    opened_at: float | None = None
    half_open_since: float = 0.0
    probes_admitted: int = 0
    probes_done: int = 0
    probes_failed: int = 0
    probes_slow: int = 0

    def to_open(self, at: float) -> None:
        self.state = BreakerState.OPEN
        self.generation += 1
        self.opened_at = at
        self.window.clear()
        self._clear_probes()

    def to_half_open(self, at: float) -> None:
        self.state = BreakerState.HALF_OPEN
        self.generation += 1
        self.half_open_since = at
        self._clear_probes()

    def to_closed(self) -> None:
        self.state = BreakerState.CLOSED
        self.generation += 1
        self.opened_at = None
        self.window.clear()
        self._clear_probes()

    def _clear_probes(self) -> None:
        self.probes_admitted = self.probes_done = self.probes_failed = self.probes_slow = 0


class MemoryBreakerStore:
    """Per-process store: the embedded default and the fallback when Redis is down.

    Mirrors the Lua scripts of ``RedisBreakerStore`` step for step; the test
    suite runs the same cases against both.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def acquire(self, key: str, config: BreakerConfig, now: float) -> AcquireResult:
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            changes = self._advance(key, entry, config, now)
            if entry.state is BreakerState.CLOSED:
                return AcquireResult(True, False, entry.generation, entry.state, None, changes)
            if entry.state is BreakerState.OPEN:
                assert entry.opened_at is not None
                retry_after = entry.opened_at + config.wait_in_open_s - now
                return AcquireResult(False, False, entry.generation, entry.state, retry_after, changes)
            if entry.probes_admitted < config.half_open_permitted_calls:
                entry.probes_admitted += 1
                return AcquireResult(True, True, entry.generation, entry.state, None, changes)
            return AcquireResult(False, False, entry.generation, entry.state, None, changes)

    def record(self, permit: BreakerPermit, outcome: int, config: BreakerConfig, now: float) -> tuple[StateChange, ...]:
        with self._lock:
            entry = self._entries.get(permit.key)
            if entry is None:
                return ()
            changes = list(self._advance(permit.key, entry, config, now))
            if permit.generation != entry.generation:
                return tuple(changes)
            failed = outcome & OUTCOME_FAILED
            slow = outcome & OUTCOME_SLOW
            if entry.state is BreakerState.CLOSED and not permit.probe:
                entry.window.append(outcome)
                del entry.window[: -config.window_size]
                calls = len(entry.window)
                fr = rate(sum(1 for o in entry.window if o & OUTCOME_FAILED), calls)
                sr = rate(sum(1 for o in entry.window if o & OUTCOME_SLOW), calls)
                if calls >= effective_minimum(config):
                    reason = self._trip_reason(fr, sr, config, "failure_rate", "slow_call_rate")
                    if reason:
                        entry.to_open(now)
                        changes.append(self._change(permit.key, "closed", "open", reason, fr, sr, now))
            elif entry.state is BreakerState.HALF_OPEN and permit.probe:
                entry.probes_done += 1
                entry.probes_failed += 1 if failed else 0
                entry.probes_slow += 1 if slow else 0
                if entry.probes_done >= config.half_open_permitted_calls:
                    fr = rate(entry.probes_failed, entry.probes_done)
                    sr = rate(entry.probes_slow, entry.probes_done)
                    reason = self._trip_reason(fr, sr, config, "probes_failed", "probes_slow")
                    if reason:
                        entry.to_open(now)
                        changes.append(self._change(permit.key, "half_open", "open", reason, fr, sr, now))
                    else:
                        entry.to_closed()
                        changes.append(self._change(permit.key, "half_open", "closed", "probes_succeeded", fr, sr, now))
            return tuple(changes)

    def snapshot(self, key: str) -> BreakerSnapshot:
        with self._lock:
            entry = self._entries.get(key, _Entry())
            if entry.state is BreakerState.CLOSED:
                calls = len(entry.window)
                failed = sum(1 for o in entry.window if o & OUTCOME_FAILED)
                slow = sum(1 for o in entry.window if o & OUTCOME_SLOW)
            else:
                calls, failed, slow = entry.probes_done, entry.probes_failed, entry.probes_slow
            return BreakerSnapshot(
                key=key,
                state=entry.state,
                failure_rate=rate(failed, calls),
                slow_call_rate=rate(slow, calls),
                calls=calls,
                failed_calls=failed,
                slow_calls=slow,
                opened_at=entry.opened_at,
                half_open_admitted=entry.probes_admitted,
                half_open_completed=entry.probes_done,
                generation=entry.generation,
            )

    def reset(self, key: str, now: float) -> tuple[StateChange, ...]:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry.state is BreakerState.CLOSED:
            return ()
        return (self._change(key, entry.state, "closed", "reset", 0.0, 0.0, now),)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    @staticmethod
    def _trip_reason(failure_rate: float, slow_rate: float, config: BreakerConfig, failed: str, slow: str) -> str:
        if failure_rate >= config.failure_rate_threshold:
            return failed
        if slow_rate >= config.slow_call_rate_threshold:
            return slow
        return ""

    @staticmethod
    def _change(key: str, previous: str, current: str, reason: str, fr: float, sr: float, at: float) -> StateChange:
        return StateChange(key, BreakerState(previous), BreakerState(current), reason, fr, sr, at)

    def _advance(self, key: str, entry: _Entry, config: BreakerConfig, now: float) -> tuple[StateChange, ...]:
        """Apply the transitions that are due to the passage of time alone."""
        changes: list[StateChange] = []
        max_wait = config.max_wait_in_half_open_s
        if entry.state is BreakerState.HALF_OPEN and max_wait > 0 and now >= entry.half_open_since + max_wait:
            # Date the re-opening at the deadline, not at whoever noticed it, so
            # the next cool-down does not depend on when traffic comes back.
            deadline = entry.half_open_since + max_wait
            fr = rate(entry.probes_failed, entry.probes_done)
            sr = rate(entry.probes_slow, entry.probes_done)
            entry.to_open(deadline)
            changes.append(self._change(key, "half_open", "open", "probes_timed_out", fr, sr, deadline))
        if entry.state is BreakerState.OPEN:
            assert entry.opened_at is not None
            if now >= entry.opened_at + config.wait_in_open_s:
                entry.to_half_open(now)
                changes.append(self._change(key, "open", "half_open", "cool_down_elapsed", 0.0, 0.0, now))
        return tuple(changes)


StateChangeListener = Callable[[StateChange], None]


class BreakerRegistry:
    """Entry point: hands out breakers bound to one store, clock and listener set."""

    def __init__(self, store: BreakerStore | None = None, *, clock: Clock = time.time) -> None:
        self.store: BreakerStore = store if store is not None else MemoryBreakerStore()
        self.clock = clock
        self._listeners: tuple[StateChangeListener, ...] = ()
        self._lock = threading.Lock()

    def get(self, key: str, config: BreakerConfig) -> CircuitBreaker:
        return CircuitBreaker(key, config, self)

    def on_state_change(self, listener: StateChangeListener) -> StateChangeListener:
        """Subscribe to this registry's transitions (usable as a decorator).

        A transition is delivered once, in the process whose acquire/record
        caused it, after the store step; a listener that raises is logged.
        For app wiring prefer the ``breaker_state_changed`` hook, which every
        registry publishes to and which survives ``configure()``.
        """
        with self._lock:
            if listener not in self._listeners:
                self._listeners = (*self._listeners, listener)
        return listener

    def remove_listener(self, listener: StateChangeListener) -> None:
        with self._lock:
            self._listeners = tuple(fn for fn in self._listeners if fn != listener)

    def snapshot(self, key: str) -> BreakerSnapshot:
        return self.store.snapshot(key)

    def snapshots(self) -> list[BreakerSnapshot]:
        return [self.store.snapshot(key) for key in self.store.keys()]  # noqa: SIM118 (a store, not a dict)

    def reset(self, key: str) -> None:
        self.emit(self.store.reset(key, self.clock()))

    def emit(self, changes: tuple[StateChange, ...]) -> None:
        for change in changes:
            logger.info(
                "breaker %s: %s -> %s (%s, failure rate %.2f)",
                change.key,
                change.previous,
                change.current,
                change.reason,
                change.failure_rate,
            )
            for listener in self._listeners:
                try:
                    listener(change)
                except Exception:
                    logger.exception("breaker state-change listener %r failed", listener)
            hooks.BREAKER_STATE_CHANGED.publish(change)


class CircuitBreaker:
    """One breaker key bound to its config; cheap, create one per call if you like."""

    def __init__(self, key: str, config: BreakerConfig, registry: BreakerRegistry) -> None:
        self.key = key
        self.config = config
        self._registry = registry

    def acquire(self) -> BreakerPermit:
        """Admit a call or raise ``BreakerOpenError`` (no waiting, no queueing)."""
        result = self._registry.store.acquire(self.key, self.config, self._registry.clock())
        self._registry.emit(result.changes)
        if not result.permitted:
            raise BreakerOpenError(
                f"circuit breaker {self.key} is {result.state}",
                breaker_key=self.key,
                state=str(result.state),
                retry_after_s=result.retry_after_s,
            )
        return BreakerPermit(self.key, result.generation, result.probe)

    def record(self, permit: BreakerPermit, *, failed: bool, duration_s: float) -> None:
        outcome = OUTCOME_FAILED if failed else OUTCOME_SUCCESS
        if duration_s >= self.config.slow_call_duration_s:
            outcome |= OUTCOME_SLOW
        self._registry.emit(self._registry.store.record(permit, outcome, self.config, self._registry.clock()))

    def call(self, fn: Callable[[], T], *, is_failure: Callable[[BaseException], bool] | None = None) -> T:
        """Run ``fn`` under the breaker; exceptions count as failures unless ``is_failure`` says not."""
        permit = self.acquire()
        started = time.perf_counter()
        try:
            value = fn()
        except BaseException as exc:
            failed = True if is_failure is None else is_failure(exc)
            self.record(permit, failed=failed, duration_s=time.perf_counter() - started)
            raise
        self.record(permit, failed=False, duration_s=time.perf_counter() - started)
        return value

    def snapshot(self) -> BreakerSnapshot:
        return self._registry.snapshot(self.key)

    def reset(self) -> None:
        self._registry.reset(self.key)
