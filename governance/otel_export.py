"""Optional export of Arbiter's own spans to an OTLP/HTTP collector.

Off by default. With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set (e.g. ``http://collector:4318``) every
span Arbiter records is also handed to the official OpenTelemetry SDK's batch processor and
OTLP/HTTP exporter, which send it from a background thread: the request never waits for the
collector. Needs the ``otel-export`` extra (``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``); without it a warning is logged once and nothing
is exported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings

if TYPE_CHECKING:
    from governance.models import Span

log = structlog.get_logger(__name__)

_lock = threading.Lock()
_processor: Any = None
_unavailable = False


def enabled() -> bool:
    return bool(getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", None)) and not _unavailable


def _get_processor() -> Any:
    global _processor, _unavailable
    with _lock:
        if _processor is None and not _unavailable:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
                from opentelemetry.sdk.trace.export import BatchSpanProcessor
            except ImportError:
                _unavailable = True
                log.warning("otel_export.unavailable", reason="install the otel-export extra")
                return None
            base = str(settings.OTEL_EXPORTER_OTLP_ENDPOINT).rstrip("/")
            _processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
        return _processor


def shutdown() -> None:
    """Flush and stop the exporter (tests, process exit)."""
    global _processor
    with _lock:
        if _processor is not None:
            _processor.shutdown()
            _processor = None


def to_readable_span(span: Span) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    kinds = {
        "internal": SpanKind.INTERNAL,
        "server": SpanKind.SERVER,
        "client": SpanKind.CLIENT,
        "producer": SpanKind.PRODUCER,
        "consumer": SpanKind.CONSUMER,
    }
    codes = {"unset": StatusCode.UNSET, "ok": StatusCode.OK, "error": StatusCode.ERROR}
    trace_id = int(span.trace_id, 16)
    context = SpanContext(trace_id, int(span.span_id, 16), is_remote=False, trace_flags=TraceFlags(1))
    parent = (
        SpanContext(trace_id, int(span.parent_span_id, 16), is_remote=True, trace_flags=TraceFlags(1))
        if span.parent_span_id
        else None
    )
    attributes = {k: v for k, v in span.attributes.items() if isinstance(v, (str, bool, int, float))}
    if span.project is not None:
        attributes["arbiter.project"] = span.project.slug
    return ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=Resource.create({"service.name": span.service_name or "arbiter"}),
        attributes=attributes,
        kind=kinds.get(span.kind, SpanKind.INTERNAL),
        status=Status(codes.get(span.status, StatusCode.UNSET), span.status_message or None),
        start_time=int(span.start_time.timestamp() * 1e9),
        end_time=int(span.end_time.timestamp() * 1e9),
        instrumentation_scope=InstrumentationScope("arbiter"),
    )


def export(spans: Sequence[Span]) -> None:
    """Queue ``spans`` for export; never raises (observability must not fail the work it observes)."""
    processor = _get_processor()
    if processor is None:
        return
    for span in spans:
        try:
            processor.on_end(to_readable_span(span))
        except Exception:
            log.exception("otel_export.failed", trace_id=span.trace_id)
