"""Prometheus metrics for the core, served at ``/metrics``.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` so every process's
counters are aggregated (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prom_multiprocess

from governance.llm import StateChange, UsageEvent

MODEL_CALLS = Counter(
    "arbiter_model_calls_total", "Model call attempts by provider, model and status", ["provider", "model", "status"]
)
MODEL_LATENCY = Histogram(
    "arbiter_model_call_seconds",
    "Model call attempt latency",
    ["provider", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
MODEL_TOKENS = Counter(
    "arbiter_model_tokens_total", "Tokens by provider, model and kind", ["provider", "model", "kind"]
)
BREAKER_STATE = Gauge(
    "arbiter_breaker_open",
    "1 while a circuit breaker is open or half-open, else 0",
    ["breaker"],
    multiprocess_mode="max",
)


def record_model_call(event: UsageEvent) -> None:
    labels = (event.provider, event.model)
    MODEL_CALLS.labels(*labels, event.status).inc()
    MODEL_LATENCY.labels(*labels).observe(event.latency_ms / 1000)
    usage = event.usage
    for kind, value in (
        ("input", usage.uncached_input_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
        ("output", usage.output_tokens),
    ):
        if value:
            MODEL_TOKENS.labels(*labels, kind).inc(value)


def record_breaker_change(change: StateChange) -> None:
    BREAKER_STATE.labels(change.key).set(0 if str(change.current) == "closed" else 1)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. Protected by ``ARBITER_METRICS_TOKEN`` (compared in constant time), which
    the production profile requires; without one (development, tests) it is open."""
    token = settings.ARBITER_METRICS_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        return HttpResponse("metrics token required\n", status=401, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return HttpResponse(data, content_type=CONTENT_TYPE_LATEST)
