"""Which shared dependency this process currently finds unreachable (plain Python).

Every component that talks to Redis (the rate limiter, the breaker store, the cache) or to
the Celery broker reports each failure and success here, and asks before each use whether
to try the dependency at all. That gives the graceful-degradation rules of DESIGN.md one
place to live:

* **one notification per outage**: the ``dependency_changed`` hook carries ``down`` at the
  first failure and ``up`` at the first success after it, never once per request, so the
  log line and the alert built on them are not repeated thousands of times;
* **no stall while it is down**: after a failure only one caller per ``retry_interval_s``
  probes the dependency again (``should_try``); every other caller goes straight to its
  fallback instead of waiting for a connect timeout;
* **recovery on its own**: the first probe that succeeds ends the outage.

Each use of a fallback is published on the ``dependency_fallback`` hook (a metric counter).
State is per process: other processes find out for themselves, which is what each of them
needs in order to choose its own fallback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from governance.hooks import Hook

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class DependencyChange:
    """A dependency went down (``available=False``) or came back in this process."""

    dependency: str
    available: bool
    component: str
    error: str
    #: monotonic seconds the outage lasted (``available=True`` only).
    outage_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    dependency: str
    available: bool
    #: the last error while unavailable, else "".
    error: str
    #: component that first failed in the current outage, else "".
    component: str
    down_for_s: float
    fallbacks: int


@dataclass(frozen=True, slots=True)
class DependencyFallback:
    """One operation served by a fallback because ``dependency`` is unreachable."""

    dependency: str
    component: str


DEPENDENCY_CHANGED: Hook[DependencyChange] = Hook(
    "dependency_changed",
    DependencyChange,
    description="A shared dependency (Redis, the broker, the database) became unreachable in this process, "
    "or reachable again: once per outage per process.",
)
DEPENDENCY_FALLBACK: Hook[DependencyFallback] = Hook(
    "dependency_fallback",
    DependencyFallback,
    description="One operation was served by a fallback (per-process memory, an inline task, ...) because "
    "its dependency is unreachable.",
)


class Dependency:
    """The process-local availability of one dependency (thread-safe)."""

    def __init__(self, name: str, *, retry_interval_s: float = 2.0, clock: Clock = time.monotonic) -> None:
        self.name = name
        self.retry_interval_s = retry_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe_at = 0.0
        self._error = ""
        self._component = ""
        self._fallbacks = 0

    @property
    def available(self) -> bool:
        return self._down_since is None

    def should_try(self) -> bool:
        """True if the caller should use the dependency now, False to go to its fallback.

        While it is down, one caller per ``retry_interval_s`` is let through as the probe.
        """
        if self._down_since is None:
            return True
        with self._lock:
            if self._down_since is None:
                return True
            now = self._clock()
            if now >= self._next_probe_at:
                self._next_probe_at = now + self.retry_interval_s
                return True
            return False

    def failed(self, component: str, error: BaseException | str, *, fell_back: bool = True) -> None:
        """Report a failure; the caller then uses its fallback, which this also counts unless
        ``fell_back`` is False (a probe, or a request that has no fallback)."""
        text = (f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error)[:300]
        change = None
        with self._lock:
            now = self._clock()
            self._error = text
            self._next_probe_at = now + self.retry_interval_s
            if self._down_since is None:
                self._down_since = now
                self._component = component
                change = DependencyChange(self.name, False, component, text)
        if change is not None:
            logger.error("dependency %s unavailable (first seen by %s): %s", self.name, component, text)
            _notify(change)
        if fell_back:
            self.fell_back(component)

    def succeeded(self, component: str = "") -> None:
        """Report a successful use; ends an outage if there was one."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            change = DependencyChange(
                self.name, True, component, self._error, outage_s=self._clock() - self._down_since
            )
            self._down_since, self._error, self._component = None, "", ""
        logger.warning("dependency %s available again after %.1fs", self.name, change.outage_s)
        _notify(change)

    def fell_back(self, component: str) -> None:
        """Count one use of a fallback (without a new failure: the dependency is known down)."""
        with self._lock:
            self._fallbacks += 1
        DEPENDENCY_FALLBACK.publish(DependencyFallback(self.name, component))

    def status(self) -> DependencyStatus:
        with self._lock:
            down_since = self._down_since
            return DependencyStatus(
                dependency=self.name,
                available=down_since is None,
                error=self._error,
                component=self._component,
                down_for_s=0.0 if down_since is None else self._clock() - down_since,
                fallbacks=self._fallbacks,
            )

    def reset(self) -> None:
        """Forget any outage (tests)."""
        with self._lock:
            self._down_since, self._next_probe_at, self._error, self._component = None, 0.0, "", ""


def _notify(change: DependencyChange) -> None:
    DEPENDENCY_CHANGED.publish(change)


_registry_lock = threading.Lock()
_registry: dict[str, Dependency] = {}

REDIS = "redis"
BROKER = "broker"
DATABASE = "database"


def dependency(name: str) -> Dependency:
    """The process-wide ``Dependency`` called ``name`` (created on first use)."""
    found = _registry.get(name)
    if found is None:
        with _registry_lock:
            found = _registry.setdefault(name, Dependency(name))
    return found


def statuses() -> list[DependencyStatus]:
    return [d.status() for d in sorted(_registry.values(), key=lambda d: d.name)]


def reset_all() -> None:
    """Forget every outage in this process (tests)."""
    for found in list(_registry.values()):
        found.reset()
