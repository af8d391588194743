"""Request middleware: size limit and W3C trace context."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from governance import tracing
from governance.errors import json_error

log = structlog.get_logger(__name__)


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies before anything reads them (413 with the JSON error shape)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(request, "malformed_request", "Content-Length is not a number.", 400)
        limit = settings.ARBITER_MAX_REQUEST_BYTES
        if length > limit:
            return json_error(request, "request_too_large", f"The body is larger than {limit} bytes.", 413)
        return self.get_response(request)


class TraceContextMiddleware:
    """Accept a ``traceparent`` (or start a trace), bind it to logs, echo it on the response.

    Hooks registered with :func:`register_request_observer` (provenance spans, metrics) are
    called once per request after the response is built, with the timing already measured.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = tracing.context_from_traceparent(request.headers.get("traceparent"))
        request_id = request.headers.get("X-Request-ID") or ctx.trace_id
        request.trace = ctx  # type: ignore[attr-defined]
        with tracing.activate(ctx):
            started = time.perf_counter()
            response = self.get_response(request)
            elapsed_ms = (time.perf_counter() - started) * 1000
            for observer in _observers:
                try:
                    observer(request, response, ctx, elapsed_ms)
                except Exception:
                    # Observability must never break the request it observes; it is logged instead.
                    log.exception("request_observer.failed", observer=getattr(observer, "__name__", repr(observer)))
        response["traceparent"] = ctx.traceparent
        response["X-Request-ID"] = request_id[:200]
        return response


RequestObserver = Callable[[HttpRequest, HttpResponse, tracing.TraceContext, float], None]
_observers: list[RequestObserver] = []


def register_request_observer(observer: RequestObserver) -> None:
    if observer not in _observers:
        _observers.append(observer)
