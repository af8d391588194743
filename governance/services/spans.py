"""Writing provenance spans: one per API request, one per model-call attempt, services' own, OTLP.

Span attributes use the OpenTelemetry semantic-convention names (``gen_ai.*``, ``http.*``).
Attributes that carry prompt or completion text are stored per the project's
``content_storage`` like envelope content: raw, redacted, or as a ``sha256:`` digest.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from governance import otel_export, redaction, tracing
from governance.choices import ContentStorage
from governance.llm.types import UsageEvent
from governance.models import ApiKey, Project, Span
from governance.models.provenance import SpanKind, SpanSource, SpanStatus

#: GenAI semconv attributes that hold content rather than metadata.
CONTENT_ATTRIBUTES = frozenset(
    {
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    }
)

log = structlog.get_logger(__name__)

_PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "offline": "arbiter.offline"}


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


def apply_content_policy(project: Project | None, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with content (see ``CONTENT_ATTRIBUTES``) kept as the project's setting says."""
    mode = project.content_storage if project is not None else ContentStorage.HASHED
    result = dict(attributes)
    if mode == ContentStorage.RAW:
        return result
    for key in CONTENT_ATTRIBUTES.intersection(result):
        value = result[key]
        if mode == ContentStorage.REDACTED and redaction.has_redactor():
            try:
                result[key] = redaction.redact_value(value)
                continue
            except Exception:
                # A failing redactor leaves the digest, never the raw text.
                log.exception("span.redactor_failed", attribute=key)
        result[key] = _digest(value)
    return result


class SpanBuffer:
    """A per-process background writer for request spans: batches of ``bulk_create``.

    The thread starts on first use in each process (so it survives gunicorn's fork) and
    flushes every ``ARBITER_SPAN_BUFFER_MS`` or every ``max_batch`` spans; ``flush()`` drains
    it synchronously (tests, shutdown; registered with ``atexit``).
    """

    def __init__(self, max_batch: int = 500) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Span] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def put(self, span: Span) -> None:
        if self._pid != os.getpid():
            self._start()
        self._queue.put(span)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()  # a queue inherited through fork belongs to the parent
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="arbiter-span-writer", daemon=True).start()
            atexit.register(self.flush)

    def _drain(self, first: Span | None = None) -> list[Span]:
        batch = [first] if first is not None else []
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Span]) -> None:
        if not batch:
            return
        try:
            Span.objects.bulk_create(batch, ignore_conflicts=True)
        except Exception:
            log.exception("span_buffer.write_failed", spans=len(batch))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            time.sleep(settings.ARBITER_SPAN_BUFFER_MS / 1000)
            self._write(self._drain(first))
            close_old_connections()

    def flush(self) -> None:
        while batch := self._drain():
            self._write(batch)


span_buffer = SpanBuffer()


def span_record(
    *,
    project: Project | None,
    name: str,
    start_time: datetime,
    end_time: datetime,
    trace_id: str | None = None,
    span_id: str | None = None,
    parent_span_id: str = "",
    kind: str = SpanKind.INTERNAL,
    source: str = SpanSource.SERVICE,
    status: str = SpanStatus.UNSET,
    status_message: str = "",
    attributes: Mapping[str, Any] | None = None,
    resource: Mapping[str, Any] | None = None,
    service_name: str = "arbiter",
    buffered: bool = False,
) -> Span:
    """Record one span (one INSERT). ``trace_id`` defaults to the current trace, ``span_id`` to a new id.

    ``buffered=True`` (request spans), when ``ARBITER_SPAN_BUFFER_MS`` > 0, hands the row to this
    process's background writer, which inserts in batches: the request does not wait for the
    database, and a crashed process loses at most that interval of request spans.
    """
    ctx = tracing.current()
    span = Span(
        project=project,
        trace_id=trace_id or (ctx.trace_id if ctx else tracing.new_trace_id()),
        span_id=span_id or tracing.new_span_id(),
        parent_span_id=parent_span_id or "",
        name=name[:300],
        kind=kind,
        source=source,
        start_time=start_time,
        end_time=end_time,
        duration_ms=max((end_time - start_time).total_seconds() * 1000.0, 0.0),
        status=status,
        status_message=status_message[:500],
        service_name=service_name[:200],
        attributes=apply_content_policy(project, attributes or {}),
        resource=dict(resource or {}),
    )
    if buffered and settings.ARBITER_SPAN_BUFFER_MS > 0:
        span_buffer.put(span)
    else:
        span.save()
    if otel_export.enabled():
        otel_export.export([span])
    return span


def spans_ingest(*, spans: Iterable[Span]) -> int:
    """Insert spans in bulk (OTLP ingest); spans already stored (same project, trace, span id) are
    skipped, so an exporter's retry stores nothing twice. Returns how many were offered."""
    batch = list(spans)
    for span in batch:
        span.attributes = apply_content_policy(span.project, span.attributes)
    Span.objects.bulk_create(batch, ignore_conflicts=True, batch_size=500)
    return len(batch)


def span_record_request(request: HttpRequest, response: HttpResponse, ctx: tracing.TraceContext, ms: float) -> None:
    """The request middleware's observer: one span per authenticated API request."""
    api_key = getattr(request, "auth", None)
    if not isinstance(api_key, ApiKey):
        return  # unauthenticated or not an API request: no project to record it in
    match = request.resolver_match
    route = f"/{match.route}" if match and match.route else request.path
    end = timezone.now()
    span_record(
        project=api_key.project,
        name=f"{request.method} {route}",
        start_time=end - timedelta(milliseconds=ms),
        end_time=end,
        trace_id=ctx.trace_id,
        span_id=ctx.span_id,
        parent_span_id=ctx.parent_span_id or "",
        kind=SpanKind.SERVER,
        source=SpanSource.REQUEST,
        buffered=True,
        status=SpanStatus.ERROR if response.status_code >= 500 else SpanStatus.UNSET,
        attributes={
            "http.request.method": request.method,
            "http.route": route,
            "url.path": request.path,
            "http.response.status_code": response.status_code,
            "enduser.id": f"api-key:{api_key.prefix}",
            "arbiter.api_key_id": api_key.pk,
            "arbiter.latency_ms": round(ms, 3),
        },
    )


def span_record_model_call(event: UsageEvent) -> None:
    """The ``provider_call_attempted`` receiver's service: one client span per attempt of a provider call."""
    context = event.context
    current = tracing.current()
    trace_id = context.trace_id or (current.trace_id if current else "")
    parent = context.span_id or (current.span_id if current else "")
    project = Project.objects.filter(pk=context.project_id).first() if context.project_id else None
    end = event.occurred_at
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _PROVIDER_NAMES.get(event.provider_kind, event.provider_kind),
        "gen_ai.request.model": event.model,
        "gen_ai.usage.input_tokens": event.usage.input_tokens_total,
        "gen_ai.usage.output_tokens": event.usage.output_tokens,
        "arbiter.provider": event.provider,
        "arbiter.attempt": event.attempt,
        "arbiter.call_status": event.status,
        "arbiter.request_hash": event.request_hash,
        "arbiter.simulated": event.simulated,
    }
    if event.response_model:
        attributes["gen_ai.response.model"] = event.response_model
    if event.error_code:
        attributes["error.type"] = event.error_code
    for key, value in (("feature", context.feature), ("run_id", context.run_id), ("step", context.step)):
        if value:
            attributes[f"arbiter.{key}"] = value
    span_record(
        project=project,
        name=f"chat {event.model}",
        start_time=end - timedelta(milliseconds=event.latency_ms),
        end_time=end,
        trace_id=trace_id or None,
        span_id=secrets.token_hex(8),
        parent_span_id=parent,
        kind=SpanKind.CLIENT,
        source=SpanSource.MODEL_CALL,
        status=SpanStatus.OK if event.status == "ok" else SpanStatus.ERROR,
        status_message=event.error_code or "",
        attributes=attributes,
    )
