"""Breaker state in Redis: every transition is one Lua script.

Mirrors ``MemoryBreakerStore`` step for step (the tests run the same cases
against both); see ``breaker`` for the semantics.

Layout: one hash per breaker key with ``state``, ``gen`` (generation),
``opened_at``, ``ho_since`` (half-open since), the probe counters ``ho_*`` and
``win``, the sliding window as a string of outcome digits (bit 0 failed,
bit 1 slow), newest last.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from governance.dependencies import REDIS, Dependency, dependency
from governance.llm.breaker import (
    AcquireResult,
    BreakerPermit,
    BreakerSnapshot,
    BreakerState,
    MemoryBreakerStore,
    StateChange,
    effective_minimum,
    rate,
)
from governance.llm.types import BreakerConfig

logger = logging.getLogger(__name__)

COMPONENT = "breaker"

# The Lua prelude loads the hash, applies time-driven transitions and defines
# the helpers; each script below appends its own step, so every acquire/record
# is a single atomic EVALSHA. KEYS[1] is the breaker hash; ARGV[1..5] are
# now, wait_in_open, max_wait_in_half_open, ttl_ms, half_open_permitted_calls.
_LUA_PRELUDE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local wait_open = tonumber(ARGV[2])
local max_wait_ho = tonumber(ARGV[3])
local ttl_ms = tonumber(ARGV[4])
local permitted_calls = tonumber(ARGV[5])
local changes = {}

local h = redis.call('HMGET', key, 'state', 'gen', 'opened_at', 'ho_since',
                     'ho_admitted', 'ho_done', 'ho_failed', 'ho_slow')
local state = h[1] or 'closed'
local gen = tonumber(h[2]) or 0
local opened_at = tonumber(h[3]) or 0
local ho_since = tonumber(h[4]) or 0
local ho_admitted = tonumber(h[5]) or 0
local ho_done = tonumber(h[6]) or 0
local ho_failed = tonumber(h[7]) or 0
local ho_slow = tonumber(h[8]) or 0

local function rate(part, total)
  if total <= 0 then return 0 end
  return part / total
end

local function change(prev, cur, reason, fr, sr, at)
  for _, v in ipairs({prev, cur, reason, tostring(fr), tostring(sr), string.format('%.6f', at)}) do
    table.insert(changes, v)
  end
end

local function clear_probes()
  ho_admitted, ho_done, ho_failed, ho_slow = 0, 0, 0, 0
end

local function to_open(at)
  gen = gen + 1
  state = 'open'
  opened_at = at
  clear_probes()
  redis.call('HSET', key, 'state', state, 'gen', gen, 'opened_at', at, 'win', '',
             'ho_admitted', 0, 'ho_done', 0, 'ho_failed', 0, 'ho_slow', 0)
end

local function to_half_open(at)
  gen = gen + 1
  state = 'half_open'
  ho_since = at
  clear_probes()
  redis.call('HSET', key, 'state', state, 'gen', gen, 'ho_since', at,
             'ho_admitted', 0, 'ho_done', 0, 'ho_failed', 0, 'ho_slow', 0)
end

local function to_closed()
  gen = gen + 1
  state = 'closed'
  clear_probes()
  redis.call('HSET', key, 'state', state, 'gen', gen, 'opened_at', '', 'win', '',
             'ho_admitted', 0, 'ho_done', 0, 'ho_failed', 0, 'ho_slow', 0)
end

if state == 'half_open' and max_wait_ho > 0 and now >= ho_since + max_wait_ho then
  local deadline = ho_since + max_wait_ho
  change('half_open', 'open', 'probes_timed_out', rate(ho_failed, ho_done), rate(ho_slow, ho_done), deadline)
  to_open(deadline)
end
if state == 'open' and now >= opened_at + wait_open then
  change('open', 'half_open', 'cool_down_elapsed', 0, 0, now)
  to_half_open(now)
end
"""

_LUA_ACQUIRE = (
    _LUA_PRELUDE
    + """
local allowed, probe, retry_after = 0, 0, ''
if state == 'closed' then
  allowed = 1
elseif state == 'open' then
  retry_after = tostring(opened_at + wait_open - now)
elseif ho_admitted < permitted_calls then
  ho_admitted = ho_admitted + 1
  redis.call('HSET', key, 'ho_admitted', ho_admitted)
  allowed, probe = 1, 1
end
if #changes > 0 or probe == 1 then
  redis.call('PEXPIRE', key, ttl_ms)
end
local out = {allowed, probe, gen, state, retry_after}
for _, v in ipairs(changes) do table.insert(out, v) end
return out
"""
)

# ARGV[6..12]: permit generation, probe flag, outcome bits, window size,
# effective minimum calls, failure-rate threshold, slow-rate threshold.
_LUA_RECORD = (
    _LUA_PRELUDE
    + """
local permit_gen = tonumber(ARGV[6])
local probe = tonumber(ARGV[7])
local outcome = ARGV[8]
local window_size = tonumber(ARGV[9])
local min_calls = tonumber(ARGV[10])
local fail_thr = tonumber(ARGV[11])
local slow_thr = tonumber(ARGV[12])
if permit_gen == gen then
  if state == 'closed' and probe == 0 then
    local win = (redis.call('HGET', key, 'win') or '') .. outcome
    if #win > window_size then win = string.sub(win, #win - window_size + 1) end
    local n = #win
    local _, failed = string.gsub(win, '[13]', '')
    local _, slow = string.gsub(win, '[23]', '')
    local fr, sr = rate(failed, n), rate(slow, n)
    if n >= min_calls and fr >= fail_thr then
      change('closed', 'open', 'failure_rate', fr, sr, now)
      to_open(now)
    elseif n >= min_calls and sr >= slow_thr then
      change('closed', 'open', 'slow_call_rate', fr, sr, now)
      to_open(now)
    else
      redis.call('HSET', key, 'win', win)
    end
    redis.call('PEXPIRE', key, ttl_ms)
  elseif state == 'half_open' and probe == 1 then
    local bits = tonumber(outcome)
    ho_done = ho_done + 1
    if bits % 2 == 1 then ho_failed = ho_failed + 1 end
    if bits >= 2 then ho_slow = ho_slow + 1 end
    redis.call('HSET', key, 'ho_done', ho_done, 'ho_failed', ho_failed, 'ho_slow', ho_slow)
    if ho_done >= permitted_calls then
      local fr, sr = rate(ho_failed, ho_done), rate(ho_slow, ho_done)
      if fr >= fail_thr then
        change('half_open', 'open', 'probes_failed', fr, sr, now)
        to_open(now)
      elseif sr >= slow_thr then
        change('half_open', 'open', 'probes_slow', fr, sr, now)
        to_open(now)
      else
        change('half_open', 'closed', 'probes_succeeded', fr, sr, now)
        to_closed()
      end
    end
    redis.call('PEXPIRE', key, ttl_ms)
  end
end
return changes
"""
)

_LUA_RESET = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('DEL', KEYS[1])
return state
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBreakerStore:
    """Breaker state in Redis, shared by every process and host.

    Each acquire/record/reset is one Lua script, so concurrent callers on any
    number of processes see a consistent state machine (exactly N probes in
    HALF_OPEN). If Redis fails, the call goes to a per-process
    ``MemoryBreakerStore`` instead: an unavailable Redis must not stop model
    traffic, and local breakers still protect each process meanwhile. The
    outage is reported once to ``governance.dependencies`` (log, metric,
    alert); while it lasts only one call per retry interval tries Redis.

    Keys expire ``ttl_s`` after their last write so breakers for models no
    longer used do not accumulate.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "arbiter:breaker:",
        ttl_s: float = 7 * 24 * 3600,
        fallback: MemoryBreakerStore | None = None,
        redis_dependency: Dependency | None = None,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._fallback = fallback or MemoryBreakerStore()
        self._acquire = client.register_script(_LUA_ACQUIRE)
        self._record = client.register_script(_LUA_RECORD)
        self._reset = client.register_script(_LUA_RESET)
        self._dependency = redis_dependency or dependency(REDIS)

    @property
    def prefix(self) -> str:
        return self._prefix

    def _common_args(self, config: BreakerConfig, now: float) -> list[Any]:
        return [
            repr(now),
            repr(config.wait_in_open_s),
            repr(config.max_wait_in_half_open_s),
            self._ttl_ms,
            config.half_open_permitted_calls,
        ]

    def acquire(self, key: str, config: BreakerConfig, now: float) -> AcquireResult:
        if not self._usable():
            return self._fallback.acquire(key, config, now)
        try:
            raw = self._acquire(keys=[self._prefix + key], args=self._common_args(config, now))
        except redis.RedisError as exc:
            self._failed(exc)
            return self._fallback.acquire(key, config, now)
        self._dependency.succeeded(COMPONENT)
        retry_after = _text(raw[4])
        return AcquireResult(
            permitted=int(raw[0]) == 1,
            probe=int(raw[1]) == 1,
            generation=int(raw[2]),
            state=BreakerState(_text(raw[3])),
            retry_after_s=float(retry_after) if retry_after else None,
            changes=self._changes(key, raw[5:]),
        )

    def record(self, permit: BreakerPermit, outcome: int, config: BreakerConfig, now: float) -> tuple[StateChange, ...]:
        args = [
            *self._common_args(config, now),
            permit.generation,
            1 if permit.probe else 0,
            str(outcome),
            config.window_size,
            effective_minimum(config),
            repr(config.failure_rate_threshold),
            repr(config.slow_call_rate_threshold),
        ]
        if not self._usable():
            return self._fallback.record(permit, outcome, config, now)
        try:
            raw = self._record(keys=[self._prefix + permit.key], args=args)
        except redis.RedisError as exc:
            self._failed(exc)
            return self._fallback.record(permit, outcome, config, now)
        return self._changes(permit.key, raw)

    def snapshot(self, key: str) -> BreakerSnapshot:
        if not self._usable():
            return self._fallback.snapshot(key)
        try:
            raw = self._redis.hgetall(self._prefix + key)
        except redis.RedisError as exc:
            self._failed(exc)
            return self._fallback.snapshot(key)
        fields = {_text(k): _text(v) for k, v in raw.items()}  # type: ignore[union-attr]
        state = BreakerState(fields.get("state", "closed"))
        if state is BreakerState.CLOSED:
            window = fields.get("win", "")
            calls = len(window)
            failed = sum(1 for c in window if c in "13")
            slow = sum(1 for c in window if c in "23")
        else:
            calls = int(fields.get("ho_done", 0))
            failed = int(fields.get("ho_failed", 0))
            slow = int(fields.get("ho_slow", 0))
        opened_at = fields.get("opened_at", "")
        return BreakerSnapshot(
            key=key,
            state=state,
            failure_rate=rate(failed, calls),
            slow_call_rate=rate(slow, calls),
            calls=calls,
            failed_calls=failed,
            slow_calls=slow,
            opened_at=float(opened_at) if opened_at and state is not BreakerState.CLOSED else None,
            half_open_admitted=int(fields.get("ho_admitted", 0)),
            half_open_completed=int(fields.get("ho_done", 0)),
            generation=int(fields.get("gen", 0)),
        )

    def reset(self, key: str, now: float) -> tuple[StateChange, ...]:
        try:
            previous = _text(self._reset(keys=[self._prefix + key]))
        except redis.RedisError as exc:
            self._failed(exc)
            return self._fallback.reset(key, now)
        self._fallback.reset(key, now)
        if previous == BreakerState.CLOSED:
            return ()
        return (StateChange(key, BreakerState(previous), BreakerState.CLOSED, "reset", 0.0, 0.0, now),)

    def keys(self) -> list[str]:
        if not self._usable():
            return self._fallback.keys()
        try:
            found = {_text(k)[len(self._prefix) :] for k in self._redis.scan_iter(match=self._prefix + "*")}
        except redis.RedisError as exc:
            self._failed(exc)
            return self._fallback.keys()
        return sorted(found)

    def _changes(self, key: str, flat: Any) -> tuple[StateChange, ...]:
        items = [_text(v) for v in flat]
        return tuple(
            StateChange(
                key=key,
                previous=BreakerState(items[i]),
                current=BreakerState(items[i + 1]),
                reason=items[i + 2],
                failure_rate=float(items[i + 3]),
                slow_call_rate=float(items[i + 4]),
                at=float(items[i + 5]),
            )
            for i in range(0, len(items), 6)
        )

    def _usable(self) -> bool:
        if self._dependency.should_try():
            return True
        self._dependency.fell_back(COMPONENT)
        return False

    def _failed(self, exc: Exception) -> None:
        # Logged once per outage and counted by governance.dependencies, not once per call.
        self._dependency.failed(COMPONENT, exc)
