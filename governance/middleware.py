"""Request middleware: size limit and W3C trace context."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from governance import hooks, tracing
from governance.errors import json_error


@dataclass(frozen=True, slots=True)
class RequestFinished:
    """A request was served; ``elapsed_ms`` is measured around the whole view."""

    request: HttpRequest
    response: HttpResponse
    trace: tracing.TraceContext
    elapsed_ms: float


# Declared here rather than in ``governance.hooks`` because its payload is Django's request
# and response, which the plain-Python registry module must not import.
REQUEST_FINISHED: hooks.Hook[RequestFinished] = hooks.Hook(
    "request_finished",
    RequestFinished,
    trace_id=lambda event: event.trace.trace_id,
    description="An HTTP request was served (provenance request spans, metrics). Published by the "
    "trace-context middleware after the response is built; a failing subscriber never breaks the response.",
)


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


def _has_nul(request: HttpRequest) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class NulInAddressMiddleware:
    """Refuse a NUL character in the path or query string (``?trace_id=%00``) with a 400.

    PostgreSQL cannot compare text with NUL in it, so a filter on such a value (an admin list
    filter, an API path parameter) would otherwise end as a ``DataError`` and a 500. The API
    answers with the JSON error shape; the admin and other pages with a short HTML page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or ("%00" in query and _has_nul(request)):
            message = "The address contains a NUL character (%00), which no field can hold."
            if request.path.startswith("/api/"):
                return json_error(request, "invalid_characters", message, 400)
            return HttpResponseBadRequest(
                f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{message}</p>",
                content_type="text/html; charset=utf-8",
            )
        return self.get_response(request)


class TraceContextMiddleware:
    """Accept a ``traceparent`` (or start a trace), bind it to logs, echo it on the response.

    Subscribers of ``REQUEST_FINISHED`` (provenance spans, metrics) are told once per request
    after the response is built, with the timing already measured.
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
            if REQUEST_FINISHED.subscriptions:
                # Not transactional: observability must never break the request it observes.
                REQUEST_FINISHED.publish(RequestFinished(request, response, ctx, elapsed_ms))
        response["traceparent"] = ctx.traceparent
        response["X-Request-ID"] = request_id[:200]
        return response
