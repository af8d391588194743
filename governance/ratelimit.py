"""One rate limiter for everything Arbiter limits: API keys in, provider quotas out (plain Python).

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one number):
a key stores its *theoretical arrival time* (TAT). A request of ``cost`` units pushes the TAT
``cost * interval`` further (``interval = period / limit``) and is admitted if the new TAT is
at most ``burst * interval`` ahead of now. So over any stretch of time ``t``, a key admits at
most ``burst + t / interval`` units, whoever asks and from however many threads, processes or
hosts: the read-decide-write is one atomic step (a lock in memory, one Lua script in Redis,
on Redis's clock so hosts need not agree on the time). One number per key, expiring by itself.

* ``RateLimiter.try_acquire`` admits or refuses now, with ``retry_after_s``;
* ``RateLimiter.acquire(timeout_s=…)`` reserves capacity up to ``timeout_s`` ahead and sleeps
  until it is due (reservations are queued in arrival order, no thundering herd);
* costs are weighted (``cost=tokens`` for a tokens-per-minute quota);
* ``RateLimiter.pause`` feeds a provider's ``429 Retry-After`` back: nothing is admitted on
  that key until the pause is over, then capacity refills at the normal rate (no burst).

Backends: ``MemoryRateLimitBackend`` (one process, thread-safe: the embedded default) and
``RedisRateLimitBackend`` (shared by every process). When Redis cannot be reached, the Redis
backend decides locally, in a per-process memory backend holding ``local_share`` of each
limit (1.0 for a limit where over-admitting a little is acceptable, such as the API
throttle; ``1 / number of processes`` for a hard quota, so the processes together stay
within it), and reports the outage through ``governance.dependencies`` (one log line, a
metric, one alert). A limit is never silently dropped.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import redis

from governance.dependencies import REDIS, Dependency, dependency

Clock = Callable[[], float]

_PERIODS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_RATE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*$")


class RateLimitCostError(ValueError):
    """The cost of one request is larger than the limit's burst: it could never be admitted."""


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` units per ``period_s`` seconds, at most ``burst`` at once (default: ``limit``).

    With the default burst a fresh key admits ``limit`` units at once, then ``limit`` per
    period spread evenly; a smaller burst smooths traffic further.
    """

    limit: float
    period_s: float
    burst: float | None = None

    def __post_init__(self) -> None:
        if not (self.limit > 0 and math.isfinite(self.limit)):
            raise ValueError("rate limit must be a positive number")
        if not (self.period_s > 0 and math.isfinite(self.period_s)):
            raise ValueError("rate period must be a positive number of seconds")
        if self.burst is not None and not (self.burst >= 1 and math.isfinite(self.burst)):
            raise ValueError("rate burst must be at least 1")

    @classmethod
    def parse(cls, text: str, *, burst: float | None = None) -> Rate:
        """``"6000/min"``, ``"10/s"``, ``"100000/minute"``, ``"5/10s"``, ``"1000/day"``."""
        match = _RATE_TEXT.match(text.lower())
        if match is None or match.group(3) not in _PERIODS:
            raise ValueError(f"not a rate: {text!r} (expected e.g. '6000/min', '10/s', '5/10s')")
        multiple = float(match.group(2)) if match.group(2) else 1.0
        return cls(limit=float(match.group(1)), period_s=multiple * _PERIODS[match.group(3)], burst=burst)

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else self.limit

    @property
    def interval_s(self) -> float:
        """Seconds one unit of capacity takes to come back."""
        return self.period_s / self.limit

    def scaled(self, share: float) -> Rate:
        """This rate times ``share`` (a per-process part of a shared limit); burst at least 1."""
        return replace(self, limit=self.limit * share, burst=max(1.0, self.capacity * share))

    def __str__(self) -> str:
        return f"{self.limit:g}/{self.period_s:g}s (burst {self.capacity:g})"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the limiter decided for one request.

    ``admitted``: go ahead (after ``wait_s`` when a wait was allowed). Refused:
    ``retry_after_s`` is when the same request would be admitted at the earliest.
    ``remaining``: whole units still available now. ``degraded``: decided by the per-process
    fallback because the shared store was unreachable.
    """

    admitted: bool
    retry_after_s: float = 0.0
    wait_s: float = 0.0
    remaining: float = 0.0
    degraded: bool = False


class RateLimitBackend(Protocol):
    def take(self, key: str, rate: Rate, cost: float, max_wait_s: float) -> Decision:
        """Admit ``cost`` units now or within ``max_wait_s`` (reserving them), or refuse."""
        ...

    def pause(self, key: str, rate: Rate, seconds: float) -> None:
        """Admit nothing on ``key`` for ``seconds``; then refill at the rate, without a burst."""
        ...

    def reset(self, key: str) -> None: ...


# Sums of float intervals drift by a few ulps, so an exact boundary is judged with a slack of
# a millionth of an interval (in Redis, plus 1 µs): never a whole extra unit.
_SLACK = 1e-6


def _gcra(tat: float | None, now: float, rate: Rate, cost: float, max_wait_s: float) -> tuple[Decision, float | None]:
    """One GCRA step: the decision and the new TAT to store (``None``: leave it)."""
    interval = rate.interval_s
    tat = now if tat is None or tat < now else tat
    new_tat = tat + cost * interval
    wait = new_tat - rate.capacity * interval - now
    if wait > max_wait_s + interval * _SLACK:
        left = (now + rate.capacity * interval - tat) / interval
        return Decision(False, retry_after_s=wait, remaining=max(0.0, math.floor(left + _SLACK))), None
    left = (now + rate.capacity * interval - new_tat) / interval
    return Decision(True, wait_s=max(0.0, wait), remaining=max(0.0, math.floor(left + _SLACK))), new_tat


def _paused_tat(tat: float | None, now: float, rate: Rate, seconds: float) -> float:
    # A TAT of now + pause + (burst - 1) intervals admits exactly one unit when the pause ends.
    target = now + seconds + (rate.capacity - 1) * rate.interval_s
    return target if tat is None or tat < target else tat


class MemoryRateLimitBackend:
    """GCRA in one process's memory, behind one lock (the embedded default; Redis's fallback)."""

    def __init__(self, *, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tats: dict[str, float] = {}
        self._max_keys = max_keys

    def take(self, key: str, rate: Rate, cost: float, max_wait_s: float) -> Decision:
        with self._lock:
            now = self._clock()
            decision, new_tat = _gcra(self._tats.get(key), now, rate, cost, max_wait_s)
            if new_tat is not None:
                self._store(key, new_tat, now)
        return decision

    def pause(self, key: str, rate: Rate, seconds: float) -> None:
        with self._lock:
            now = self._clock()
            self._store(key, _paused_tat(self._tats.get(key), now, rate, seconds), now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._tats.pop(key, None)

    def _store(self, key: str, tat: float, now: float) -> None:
        if key not in self._tats and len(self._tats) >= self._max_keys:
            # A TAT in the past means "full capacity", the same as no entry: drop those first.
            self._tats = {k: v for k, v in self._tats.items() if v > now}
            if len(self._tats) >= self._max_keys:
                self._tats.pop(next(iter(self._tats)))
        self._tats[key] = tat


# KEYS[1]: the key's TAT in µs of Redis's clock. ARGV: interval µs, capacity, cost, max wait µs.
# Numbers travel as strings: Redis truncates Lua numbers in replies to integers.
_LUA_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local new_tat = tat + cost * interval
local wait = new_tat - capacity * interval - now
if wait > max_wait + interval * 0.000001 + 1 then
  return {0, string.format('%.17g', wait), string.format('%.3f', (now + capacity * interval - tat) / interval)}
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
if wait < 0 then wait = 0 end
return {1, string.format('%.17g', wait), string.format('%.3f', (now + capacity * interval - new_tat) / interval)}
"""

# ARGV: pause µs, interval µs, capacity.
_LUA_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = now + tonumber(ARGV[1]) + (tonumber(ARGV[3]) - 1) * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or 0
if tat < target then
  redis.call('SET', KEYS[1], string.format('%.17g', target), 'PX', math.ceil((target - now) / 1000) + 1)
end
return 1
"""

_US = 1_000_000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisRateLimitBackend:
    """GCRA in Redis, shared by every process; a per-process share of each limit when Redis is down.

    ``client`` should have short socket timeouts (see ``redis_client``): a hung Redis must
    send callers to the fallback quickly, not stall them. While Redis is down only one call
    per ``dependency.retry_interval_s`` probes it; the others decide locally.
    """

    component = "ratelimit"

    def __init__(
        self,
        client: redis.Redis,
        *,
        local_share: float = 1.0,
        fallback: MemoryRateLimitBackend | None = None,
        redis_dependency: Dependency | None = None,
    ) -> None:
        if not 0 < local_share <= 1:
            raise ValueError("local_share must be in (0, 1]")
        self._redis = client
        self._take = client.register_script(_LUA_TAKE)
        self._pause = client.register_script(_LUA_PAUSE)
        self.local_share = local_share
        self._fallback = fallback or MemoryRateLimitBackend()
        self._dependency = redis_dependency or dependency(REDIS)

    def take(self, key: str, rate: Rate, cost: float, max_wait_s: float) -> Decision:
        if self._dependency.should_try():
            args = [repr(rate.interval_s * _US), repr(rate.capacity), repr(float(cost)), repr(max_wait_s * _US)]
            try:
                raw = self._take(keys=[key], args=args)
            except redis.RedisError as exc:
                self._dependency.failed(self.component, exc)
            else:
                self._dependency.succeeded(self.component)
                wait = float(_text(raw[1])) / _US
                remaining = max(0.0, math.floor(float(_text(raw[2]))))
                if int(raw[0]) == 1:
                    return Decision(True, wait_s=wait, remaining=remaining)
                return Decision(False, retry_after_s=wait, remaining=remaining)
        else:
            self._dependency.fell_back(self.component)
        return self._take_locally(key, rate, cost, max_wait_s)

    def pause(self, key: str, rate: Rate, seconds: float) -> None:
        # Paused locally too, so the pause holds in this process even if Redis fails next.
        self._fallback.pause(key, rate.scaled(self.local_share), seconds)
        if not self._dependency.should_try():
            self._dependency.fell_back(self.component)
            return
        try:
            self._pause(keys=[key], args=[repr(seconds * _US), repr(rate.interval_s * _US), repr(rate.capacity)])
        except redis.RedisError as exc:
            self._dependency.failed(self.component, exc)
        else:
            self._dependency.succeeded(self.component)

    def reset(self, key: str) -> None:
        self._fallback.reset(key)
        try:
            self._redis.delete(key)
        except redis.RedisError as exc:
            self._dependency.failed(self.component, exc)

    def _take_locally(self, key: str, rate: Rate, cost: float, max_wait_s: float) -> Decision:
        local = rate.scaled(self.local_share)
        if cost > local.capacity:
            # This process's share can never hold the request: refuse until Redis is back.
            retry = self._dependency.retry_interval_s
            return Decision(False, retry_after_s=retry, degraded=True)
        return replace(self._fallback.take(key, local, cost, max_wait_s), degraded=True)


class RateLimiter:
    """Admit or refuse (``try_acquire``), wait for capacity (``acquire``), pause (``pause``).

    Keys are free-form strings naming what is limited (``"api_key:42"``,
    ``"provider:openai:gpt-4o:tpm"``); the limiter prefixes them. Thread-safe.
    """

    def __init__(
        self,
        backend: RateLimitBackend,
        *,
        prefix: str = "arbiter:rl:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.prefix = prefix
        self._sleep = sleep

    def try_acquire(self, key: str, rate: Rate, *, cost: float = 1.0) -> Decision:
        """Admit ``cost`` units now, or refuse with the time after which they would be admitted."""
        return self.backend.take(self.prefix + key, rate, self._cost(rate, cost), 0.0)

    def acquire(self, key: str, rate: Rate, *, cost: float = 1.0, timeout_s: float) -> Decision:
        """Wait up to ``timeout_s`` for capacity: reserve it and sleep until it is due, or refuse
        at once (``retry_after_s``) if it would come later than that. A reservation, once made,
        is spent even if the caller then gives up."""
        if timeout_s < 0 or not math.isfinite(timeout_s):
            raise ValueError("timeout_s must be a finite number >= 0")
        decision = self.backend.take(self.prefix + key, rate, self._cost(rate, cost), timeout_s)
        if decision.admitted and decision.wait_s > 0:
            self._sleep(decision.wait_s)
        return decision

    def pause(self, key: str, rate: Rate, seconds: float) -> None:
        """Admit nothing on ``key`` for ``seconds`` (e.g. a provider's ``Retry-After``)."""
        if seconds > 0 and math.isfinite(seconds):
            self.backend.pause(self.prefix + key, rate, seconds)

    def reset(self, key: str) -> None:
        self.backend.reset(self.prefix + key)

    @staticmethod
    def _cost(rate: Rate, cost: float) -> float:
        if not (cost > 0 and math.isfinite(cost)):
            raise ValueError("cost must be a positive number")
        if cost > rate.capacity:
            raise RateLimitCostError(f"a cost of {cost:g} exceeds the burst of {rate} and could never be admitted")
        return float(cost)


def redis_client(url: str, *, timeout_s: float = 0.5) -> redis.Redis:
    """A Redis client with the short timeouts a fail-open dependency needs."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=30
    )
