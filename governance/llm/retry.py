"""When to retry a failed attempt, how long to wait, and the retry budget.

Policy:

* Only transient errors are retried: 429, 5xx, timeouts, connection errors
  (``LlmError.retryable``); never a 400/401/404 or an unparsable body.
* At most ``RetryConfig.max_attempts`` attempts (hard cap 3) per request.
* Delay: exponential backoff with full jitter, ``uniform(0, min(max, base * 2**n))``
  (AWS Architecture Blog, "Exponential Backoff and Jitter"), so a fleet that
  failed together does not retry together.
* ``Retry-After`` (seconds or an HTTP date; OpenAI's ``retry-after-ms`` too) on a
  429/503 replaces the computed delay and is honoured exactly. When it asks
  for more than ``backoff_max_s`` we do **not** retry early: a retry sooner than
  the server asked for is almost certainly throttled again and only spends the
  budget. The call fails at once with the hint on the error
  (``ProviderHTTPError.retry_after_s``) so a task queue can reschedule.
* A retry budget (Finagle's ``RetryBudget``), per process and provider: a retry
  is allowed only while ``retries < ratio * requests + min_per_s * window`` over
  the last window, so during an outage retries add at most ~``ratio`` extra load
  instead of multiplying it by ``max_attempts``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from governance.llm.errors import LlmError, ProviderHTTPError
from governance.llm.types import MAX_ATTEMPTS_CAP, RetryConfig

RETRY_AFTER_STATUSES = frozenset({429, 503})


def backoff_delay(retry_number: int, config: RetryConfig, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter delay before retry ``retry_number`` (1 for the first retry)."""
    ceiling = min(config.backoff_max_s, config.backoff_base_s * (2.0 ** (retry_number - 1)))
    return rng() * ceiling


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` / ``Retry-After``, or None.

    ``headers`` must be case-insensitive (``httpx.Headers`` is). A date in the
    past gives 0; an unparsable value is ignored rather than trusted.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis)
        except ValueError:
            value = -1.0
        if value >= 0:
            return value / 1000.0
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


class RetryBudget:
    """Sliding-window retry budget for one provider in one process (thread-safe).

    The window is kept as ten time buckets: O(1) memory whatever the traffic,
    at the cost of the window edge being accurate to a tenth of its width.
    """

    _BUCKETS = 10

    def __init__(self, config: RetryConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ratio = config.retry_budget_ratio
        self._reserve = config.retry_budget_min_per_s * config.retry_budget_window_s
        self._width = config.retry_budget_window_s / self._BUCKETS
        self._clock = clock
        self._lock = threading.Lock()
        # Each bucket: [bucket index, requests, retries].
        self._buckets: deque[list[int]] = deque()

    def _current(self) -> list[int]:
        index = int(self._clock() // self._width)
        while self._buckets and self._buckets[0][0] <= index - self._BUCKETS:
            self._buckets.popleft()
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        return self._buckets[-1]

    def record_request(self) -> None:
        """Count a first attempt (retries are not requests: they do not earn budget)."""
        with self._lock:
            self._current()[1] += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; False means do not retry."""
        with self._lock:
            bucket = self._current()
            requests = sum(b[1] for b in self._buckets)
            retries = sum(b[2] for b in self._buckets)
            if retries < self._ratio * requests + self._reserve:
                bucket[2] += 1
                return True
            return False


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """``reason`` is ``retry``, ``not_retryable``, ``attempts_exhausted``,
    ``retry_after_too_long`` or ``budget_exhausted``."""

    retry: bool
    delay_s: float
    reason: str


def plan_retry(
    error: LlmError,
    *,
    attempt: int,
    config: RetryConfig,
    budget: RetryBudget,
    rng: Callable[[], float] = random.random,
) -> RetryDecision:
    """Decide whether attempt number ``attempt`` (1-based) that raised ``error`` is retried.

    The budget is consulted last, and only spent when the retry will happen.
    """
    if not error.retryable:
        return RetryDecision(False, 0.0, "not_retryable")
    if attempt >= min(config.max_attempts, MAX_ATTEMPTS_CAP):
        return RetryDecision(False, 0.0, "attempts_exhausted")
    delay = backoff_delay(attempt, config, rng)
    retry_after = None
    if isinstance(error, ProviderHTTPError) and error.status in RETRY_AFTER_STATUSES:
        retry_after = error.retry_after_s
    if retry_after is not None:
        if retry_after > config.backoff_max_s:
            return RetryDecision(False, 0.0, "retry_after_too_long")
        delay = retry_after
    if not budget.try_spend():
        return RetryDecision(False, 0.0, "budget_exhausted")
    return RetryDecision(True, delay, "retry")
