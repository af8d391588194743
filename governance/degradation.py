"""Graceful degradation, wired into Django: what a request does when a dependency is down.

* **database** (required): API requests answer ``503 database_unavailable`` (JSON, with
  ``Retry-After``), other pages a 503 page; ``/healthz`` stays up; ``/readyz`` is 503.
* **Redis** (cache, rate limits, breaker state): requests are served; each process
  rate-limits, caches and keeps breaker state in its own memory; ``/readyz`` is 200
  ``degraded``.
* **broker**: requests are served; a task enqueued on commit runs in-process or is left for
  its sweeper (``governance.enqueue``); ``/readyz`` is 200 ``degraded``.

Each outage gives one log line (``governance.dependencies``), the metrics
``arbiter_dependency_up`` and ``arbiter_dependency_fallbacks_total``, and one alert per
dependency (``dependency_down``; de-duplicated across processes by ``alert_raise``). The
database is the exception: alerts are stored in it, so its outage is told by the log,
the metric and ``/readyz`` only.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import psycopg
import structlog
from django.conf import settings
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from prometheus_client import Counter, Gauge

from governance import dependencies
from governance.dependencies import BROKER, DATABASE, REDIS, DependencyChange, DependencyFallback
from governance.ratelimit import (
    MemoryRateLimitBackend,
    Rate,
    RateLimitBackend,
    RateLimiter,
    RedisRateLimitBackend,
    redis_client,
)

log = structlog.get_logger(__name__)

DEPENDENCY_UP = Gauge(
    "arbiter_dependency_up",
    "1 while this process reaches the dependency, 0 during an outage it noticed",
    ["dependency"],
    multiprocess_mode="min",
)
DEPENDENCY_FALLBACKS = Counter(
    "arbiter_dependency_fallbacks_total",
    "Operations served by a fallback because a dependency was unreachable",
    ["dependency", "component"],
)

#: What a request does instead, per dependency: the alert's message and ``/readyz`` say it.
FALLBACKS = {
    REDIS: "each process rate-limits, caches and keeps breaker state in its own memory",
    BROKER: "tasks enqueued on commit run in-process or wait for their sweeper",
    DATABASE: "API requests answer 503 database_unavailable",
}

# --- alerts: one per outage, raised outside any transaction ----------------------------------

_pending_lock = threading.Lock()
_pending_alerts: dict[str, DependencyChange] = {}
_ALERT_RETRY_S = 10.0
_alert_retry_at = 0.0


def dependency_changed(change: DependencyChange) -> None:
    """An outage began or ended in this process: gauge, log line, and (once) an alert."""
    DEPENDENCY_UP.labels(change.dependency).set(1 if change.available else 0)
    if change.available:
        log.warning("dependency.recovered", dependency=change.dependency, outage_s=round(change.outage_s, 1))
        with _pending_lock:
            _pending_alerts.pop(change.dependency, None)
        return
    log.error(
        "dependency.unavailable",
        dependency=change.dependency,
        component=change.component,
        error=change.error,
        fallback=FALLBACKS.get(change.dependency, ""),
    )
    if change.dependency == DATABASE:
        return  # alerts live in the database: the log, the metric and /readyz tell this one
    with _pending_lock:
        _pending_alerts.setdefault(change.dependency, change)
    flush_alerts()


def dependency_fallback(event: DependencyFallback) -> None:
    """Count a fallback; raise the outage's alert if it could not be raised yet."""
    DEPENDENCY_FALLBACKS.labels(event.dependency, event.component).inc()
    if _pending_alerts:
        flush_alerts()


def flush_alerts() -> None:
    """Raise the alert for each outage not alerted yet (and retry one that failed to save).

    On the web path an outage is first noticed by the throttle, before any transaction opens,
    so the alert is committed at once; ``/readyz`` raises a pending one too.
    """
    global _alert_retry_at
    if not _pending_alerts or time.monotonic() < _alert_retry_at:
        return
    with _pending_lock:
        pending = list(_pending_alerts.values())
        _pending_alerts.clear()
    from governance.choices import AlertKind, AlertSeverity
    from governance.services.alerts import alert_raise

    for change in pending:
        try:
            alert_raise(
                kind=AlertKind.DEPENDENCY_DOWN,
                subject=f"dependency:{change.dependency}",
                severity=AlertSeverity.WARNING,
                message=(
                    f"{change.dependency} is unreachable ({change.error}); serving in degraded mode: "
                    f"{FALLBACKS.get(change.dependency, 'fallback in use')}."
                ),
                payload={"dependency": change.dependency, "component": change.component, "error": change.error},
            )
        except Exception:
            log.exception("dependency.alert_failed", dependency=change.dependency)
            # Probably the database is down too: try again later, not on every request.
            _alert_retry_at = time.monotonic() + _ALERT_RETRY_S
            with _pending_lock:
                _pending_alerts.setdefault(change.dependency, change)


def _on_connection_created(**_: Any) -> None:
    # A new database connection that opened is the database answering again.
    dependencies.dependency(DATABASE).succeeded("connect")


def connect_signals() -> None:
    """Django signals: a new database connection ends a database outage; tests that change
    ``REDIS_URL`` get a fresh limiter (``AppConfig.ready``)."""
    connection_created.connect(_on_connection_created, dispatch_uid="governance.degradation.db_up")
    setting_changed.connect(_on_setting_changed, dispatch_uid="governance.degradation.settings")


# --- the database ------------------------------------------------------------------------------

# SQLSTATE classes that mean "the server is not there for you right now": connection
# exception, insufficient resources (too many connections), operator intervention (shutdown).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
_UNAVAILABLE_SQLITE = ("database is locked", "unable to open database", "disk i/o error")


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True if ``exc`` says the database cannot be reached now (not a bug in a query)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if isinstance(cause, psycopg.Error):
        # A failed connect carries no SQLSTATE; a query error always does.
        return cause.sqlstate is None or cause.sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(cause, sqlite3.Error):
        return any(text in str(cause).lower() for text in _UNAVAILABLE_SQLITE)
    return isinstance(exc, InterfaceError)


def database_unavailable(component: str, exc: BaseException) -> None:
    """Record a request that found the database unreachable (log once, metric)."""
    dependencies.dependency(DATABASE).failed(component, exc, fell_back=False)


# --- the API rate limiter ------------------------------------------------------------------------

_limiter_lock = threading.Lock()
_limiter: tuple[str | None, RateLimiter] | None = None


def api_limiter() -> RateLimiter:
    """The process-wide limiter for API keys: Redis when ``REDIS_URL`` is set, else memory."""
    global _limiter
    url = settings.REDIS_URL
    current = _limiter
    if current is not None and current[0] == url:
        return current[1]
    with _limiter_lock:
        if _limiter is None or _limiter[0] != url:
            backend: RateLimitBackend
            if url:
                backend = RedisRateLimitBackend(redis_client(url, timeout_s=settings.ARBITER_REDIS_TIMEOUT))
            else:
                backend = MemoryRateLimitBackend()
            _limiter = (url, RateLimiter(backend, prefix="arbiter:rl:"))
        return _limiter[1]


_rates: dict[str, Rate] = {}


def api_rate() -> Rate:
    """``ARBITER_API_RATE`` per key (e.g. ``6000/min``: 6000 at once, then 100 per second)."""
    text = settings.ARBITER_API_RATE
    rate = _rates.get(text)
    if rate is None:
        rate = _rates[text] = Rate.parse(text)
    return rate


def reset() -> None:
    """Forget the limiter's state and every outage in this process (tests)."""
    global _limiter
    with _limiter_lock:
        _limiter = None
    global _alert_retry_at
    with _pending_lock:
        _pending_alerts.clear()
    _alert_retry_at = 0.0
    dependencies.reset_all()


def _on_setting_changed(setting: str, **_: Any) -> None:
    if setting in {"REDIS_URL", "ARBITER_REDIS_TIMEOUT"}:
        reset()
