"""Liveness and readiness probes (plain Django views: no auth, no throttling, no database for /healthz).

``/readyz`` checks each dependency live and answers:

* ``200 {"status": "ok"}`` when every one answers;
* ``200 {"status": "degraded"}`` when an *optional* one (Redis, the broker, a model
  provider behind an open breaker) is down: requests are still served, in the degraded
  mode ``governance.degradation`` documents, so a load balancer must keep this instance;
* ``503 {"status": "unavailable"}`` when a *required* one (the database) is down.

Each check says ``ok``, ``degraded`` or ``error``, why, and what requests do meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance import degradation, dependencies
from governance.cache import FailSoftRedisCache


class Degraded(Exception):
    """An optional dependency is down: ready, in degraded mode."""


@dataclass(frozen=True)
class Check:
    name: str
    required: bool
    run: Callable[[], str]
    #: what requests do while this dependency is down
    when_down: str


def _check_database() -> str:
    try:
        for alias in connections:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as exc:
        if degradation.is_database_unavailable(exc):
            degradation.database_unavailable("readyz", exc)
        raise
    return "ok"


def _check_redis() -> str:
    cache = caches["default"]
    if not isinstance(cache, FailSoftRedisCache) and not settings.REDIS_URL:
        return "not configured (per-process memory)"
    redis_dependency = dependencies.dependency(dependencies.REDIS)
    try:
        if isinstance(cache, FailSoftRedisCache):
            cache.ping()
        else:
            from governance.ratelimit import redis_client

            redis_client(str(settings.REDIS_URL), timeout_s=settings.ARBITER_REDIS_TIMEOUT).ping()
    except Exception as exc:
        redis_dependency.failed("readyz", exc, fell_back=False)
        raise Degraded(f"{type(exc).__name__}: {exc}") from exc
    # Redis answers: end a known outage now rather than at the next probe by a request.
    redis_dependency.succeeded("readyz")
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (tasks run in-process)"
    from governance.celery import app

    broker = dependencies.dependency(dependencies.BROKER)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        broker.failed("readyz", exc, fell_back=False)
        raise Degraded(f"{type(exc).__name__}: {exc}") from exc
    broker.succeeded("readyz")
    return "ok"


def _check_providers() -> str:
    from governance.services.provider_calls import breaker_list

    not_closed = [s.key for s in breaker_list() if str(s.state) != "closed"]
    if not_closed:
        raise Degraded(f"circuit breaker not closed: {', '.join(not_closed[:20])}")
    return "ok"


CHECKS: tuple[Check, ...] = (
    Check("database", True, _check_database, degradation.FALLBACKS[dependencies.DATABASE]),
    Check("redis", False, _check_redis, degradation.FALLBACKS[dependencies.REDIS]),
    Check("broker", False, _check_broker, degradation.FALLBACKS[dependencies.BROKER]),
    Check(
        "providers",
        False,
        _check_providers,
        "calls to a provider behind an open breaker fail at once; guards apply their fail mode",
    ),
)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    ready, degraded = True, False
    for check in CHECKS:
        started = time.perf_counter()
        result: dict[str, object] = {"required": check.required}
        try:
            result["status"] = "ok"
            result["detail"] = check.run()
        except Degraded as exc:
            degraded = True
            result.update(status="degraded", error=str(exc)[:300], when_down=check.when_down)
        except Exception as exc:  # a dependency that fails its check, with the reason
            if check.required:
                ready = False
            else:
                degraded = True
            result.update(
                status="error" if check.required else "degraded",
                error=f"{type(exc).__name__}: {exc}"[:300],
                when_down=check.when_down,
            )
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[check.name] = result
    if ready:
        # A probe outside any transaction: raise the alert of an outage not alerted yet.
        degradation.flush_alerts()
    status = "ok" if ready and not degraded else "degraded" if ready else "unavailable"
    return JsonResponse({"status": status, "checks": results}, status=200 if ready else 503)
