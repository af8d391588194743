"""Outbound quotas: requests and tokens per minute per provider model, shared by every process.

Providers enforce their per-minute limits as token buckets (capacity = the limit, refilled
continuously), so the quota is the same bucket on our side (``governance.ratelimit``'s GCRA):
a burst of workers takes what the provider would accept, then waits up to a bounded time for
capacity or fails fast, instead of collecting 429s. The bucket keeps ``HEADROOM`` (5%) of the
limit unused: we count a request when we send it, the provider when it arrives, and a request
sent first can arrive after one sent later (a slow worker); the headroom absorbs that skew. Tokens are charged at
the call's bound (input upper bound + ``max_tokens``), which is also how OpenAI counts a
request against its tokens-per-minute limit. A provider's 429 pauses the endpoint for its
``Retry-After``, for every process.

Shared through Redis when ``REDIS_URL`` is set, in this process's memory otherwise. With
Redis unreachable each process admits only ``ARBITER_QUOTA_LOCAL_SHARE`` of each limit (the
share of one process among those calling the provider), so the fleet stays within the quota:
never silently unlimited.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from django.conf import settings

from governance.ratelimit import (
    MemoryRateLimitBackend,
    Rate,
    RateLimitCostError,
    RateLimiter,
    RedisRateLimitBackend,
    redis_client,
)
from orchestration.services.aliases import QuotaSpec, ResolvedEndpoint

PERIOD_S = 60.0
HEADROOM = 0.05
DEFAULT_PAUSE_S = 1.0
MAX_PAUSE_S = 300.0

_limiter: RateLimiter | None = None
_lock = threading.Lock()


def quota_limiter() -> RateLimiter:
    """The process-wide limiter of outbound quotas (Redis-backed when configured)."""
    global _limiter
    limiter = _limiter
    if limiter is None:
        with _lock:
            if _limiter is None:
                url = settings.REDIS_URL
                if url:
                    backend: RedisRateLimitBackend | MemoryRateLimitBackend = RedisRateLimitBackend(
                        redis_client(url, timeout_s=settings.ARBITER_REDIS_TIMEOUT),
                        local_share=settings.ARBITER_QUOTA_LOCAL_SHARE,
                    )
                else:
                    backend = MemoryRateLimitBackend()
                _limiter = RateLimiter(backend, prefix="arbiter:quota:")
            limiter = _limiter
    return limiter


def quota_limiter_set(limiter: RateLimiter | None) -> None:
    """Replace the process-wide limiter (tests; ``None`` rebuilds it from the settings)."""
    global _limiter
    with _lock:
        _limiter = limiter


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """``admitted`` (after ``waited_s``), or refused with ``retry_after_s``; ``too_large``: the
    call's tokens exceed the whole per-minute token quota, so it can never be admitted there."""

    admitted: bool
    waited_s: float = 0.0
    retry_after_s: float = 0.0
    too_large: bool = False
    degraded: bool = False


def _rate(limit: int) -> Rate:
    return Rate(limit=limit, period_s=PERIOD_S, burst=max(1.0, math.floor(limit * (1 - HEADROOM))))


def _rates(quota: QuotaSpec) -> list[tuple[str, Rate]]:
    rates: list[tuple[str, Rate]] = []
    if quota.requests_per_minute:
        rates.append(("rpm", _rate(quota.requests_per_minute)))
    if quota.tokens_per_minute:
        rates.append(("tpm", _rate(quota.tokens_per_minute)))
    return rates


def quota_acquire(*, endpoint: ResolvedEndpoint, tokens: int, max_wait_s: float) -> QuotaDecision:
    """Take one request and ``tokens`` tokens of the endpoint's quota, waiting up to
    ``min(max_wait_s, the quota's max_wait_s)``. No quota: admitted at once.

    The request quota is taken first; when the token quota then refuses, the request already
    taken is not given back (GCRA cannot): a refused call costs one request of capacity, as a
    429 would at the provider.
    """
    quota = endpoint.quota
    if quota is None:
        return QuotaDecision(admitted=True)
    wait_budget = max(0.0, min(max_wait_s, quota.max_wait_s))
    limiter = quota_limiter()
    waited, degraded = 0.0, False
    for suffix, rate in _rates(quota):
        cost = 1.0 if suffix == "rpm" else float(max(1, tokens))
        try:
            decision = limiter.acquire(
                f"{endpoint.key}:{suffix}", rate, cost=cost, timeout_s=max(0.0, wait_budget - waited)
            )
        except RateLimitCostError:
            return QuotaDecision(admitted=False, too_large=True)
        degraded = degraded or decision.degraded
        if not decision.admitted:
            return QuotaDecision(admitted=False, retry_after_s=decision.retry_after_s, degraded=degraded)
        waited += decision.wait_s
    return QuotaDecision(admitted=True, waited_s=waited, degraded=degraded)


def quota_pause(*, endpoint: ResolvedEndpoint, retry_after_s: float | None) -> None:
    """A provider answered 429: admit nothing to this endpoint, in any process, until it said
    (at most ``MAX_PAUSE_S``; ``DEFAULT_PAUSE_S`` without a ``Retry-After``). An endpoint
    without a quota is not limited here (the client still honours ``Retry-After`` itself)."""
    if endpoint.quota is None:
        return
    seconds = retry_after_s if retry_after_s and retry_after_s > 0 else DEFAULT_PAUSE_S
    limiter = quota_limiter()
    for suffix, rate in _rates(endpoint.quota):
        limiter.pause(f"{endpoint.key}:{suffix}", rate, min(seconds, MAX_PAUSE_S))
