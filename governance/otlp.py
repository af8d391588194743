"""OTLP/HTTP trace ingest: decode an ``ExportTraceServiceRequest`` and turn it into spans.

Binary protobuf and JSON (the OTLP JSON mapping: hex trace/span ids, camelCase or
snake_case field names, unknown fields ignored), gzip-compressed or not. Decoding uses the
published ``opentelemetry-proto`` classes and ``google.protobuf.json_format``; nothing here
parses the wire format by hand. Spans with invalid ids are rejected one by one and reported
as a partial success, as the OTLP specification asks.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from governance import jsonlimits
from governance.models import Project, Span
from governance.models.provenance import SpanKind, SpanSource, SpanStatus

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_KINDS = {0: SpanKind.INTERNAL, 1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT}
_KINDS.update({4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER})
_STATUSES = {0: SpanStatus.UNSET, 1: SpanStatus.OK, 2: SpanStatus.ERROR}


class OtlpDecodeError(Exception):
    """The body is not a decodable OTLP trace export (answer 400, store nothing)."""


@dataclass
class IngestBatch:
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise OtlpDecodeError(f"the body is not valid gzip: {exc}") from exc
    if inflater.unconsumed_tail:
        raise OtlpDecodeError(f"the decompressed body is larger than {limit} bytes")
    return data


def _hex_ids_to_base64(payload: Any) -> None:
    # The OTLP JSON mapping writes ids as hex; protobuf's JSON mapping expects bytes as base64.
    if not isinstance(payload, dict):
        raise OtlpDecodeError("the JSON body must be an object")
    for resource_spans in payload.get("resourceSpans", payload.get("resource_spans", [])) or []:
        for scope_spans in resource_spans.get("scopeSpans", resource_spans.get("scope_spans", [])) or []:
            for span in scope_spans.get("spans", []) or []:
                for item in (span, *(span.get("links", []) or [])):
                    for key in ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"):
                        value = item.get(key) if isinstance(item, dict) else None
                        if isinstance(value, str) and value:
                            try:
                                item[key] = base64.b64encode(bytes.fromhex(value)).decode()
                            except ValueError:
                                item[key] = ""  # not hex: becomes an empty id, and the span is rejected
                        elif value == "":
                            del item[key]


def decode_request(body: bytes, *, content_type: str | None, content_encoding: str | None, limit: int) -> Any:
    """``ExportTraceServiceRequest`` from an HTTP body; ``OtlpDecodeError`` when it is not one."""
    encoding = (content_encoding or "").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, limit)
    elif encoding not in ("", "identity"):
        raise OtlpDecodeError(f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    request = ExportTraceServiceRequest()
    kind = media_type(content_type)
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise OtlpDecodeError(f"the body is not a valid ExportTraceServiceRequest: {exc}") from exc
    elif kind == JSON:
        try:
            payload = json.loads(body)
        except RecursionError as exc:
            raise OtlpDecodeError("the JSON body is nested too deeply") from exc
        except ValueError as exc:
            raise OtlpDecodeError(f"the body is not valid JSON: {exc}") from exc
        try:
            _hex_ids_to_base64(payload)
            json_format.ParseDict(payload, request, ignore_unknown_fields=True)
        except (ValueError, TypeError, AttributeError, RecursionError, json_format.ParseError, binascii.Error) as exc:
            raise OtlpDecodeError(f"the body is not a valid OTLP JSON trace export: {exc}") from exc
    else:
        raise OtlpDecodeError(f"unsupported Content-Type {kind!r} (use {PROTOBUF} or {JSON})")
    return request


def any_value(value: Any) -> Any:
    """A plain JSON value from an OTLP ``AnyValue``."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if which == "double_value" and not math.isfinite(value.double_value):
        # JSON has no NaN or infinity; these are the protobuf JSON mapping's spellings of them.
        return "NaN" if math.isnan(value.double_value) else ("Infinity" if value.double_value > 0 else "-Infinity")
    return getattr(value, which)


def attributes_dict(key_values: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


def _nanos(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1e9, UTC)


def _reject(batch: IngestBatch, span: Any, problem: str) -> None:
    batch.rejected += 1
    if len(batch.errors) < 5:
        name = span.name if jsonlimits.forbidden_character(span.name) is None else "(unprintable)"
        batch.errors.append(f"span {name!r}: {problem}")


def _id_problem(span: Any) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace_id must be 16 bytes and not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span_id must be 8 bytes and not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "parent_span_id must be empty or 8 bytes"
    return None


def _content_problem(span: Any, attributes: dict[str, Any], resource: dict[str, Any]) -> str | None:
    """Why a span cannot be stored as it is: NUL or a lone surrogate, or attributes beyond their bounds."""
    for what, text in (("name", span.name), ("status message", span.status.message)):
        found = jsonlimits.forbidden_character(text)
        if found is not None:
            return f"the {what} contains a {found} character"
    for what, value in (("attributes", attributes), ("resource", resource)):
        problem = jsonlimits.json_problem(value, jsonlimits.SPAN_ATTRIBUTES)
        if problem is not None:
            return f"{what}{problem.path}: {problem.message}"
    return None


def spans_from_request(request: Any, *, project: Project) -> IngestBatch:
    """The request's spans as unsaved ``Span`` rows of ``project``; invalid spans are counted, not kept.

    A span is rejected (reported in ``partial_success``, as OTLP asks) for invalid ids, for a NUL or
    lone surrogate in its name, status or attributes (PostgreSQL cannot store them), or for
    attributes beyond :data:`jsonlimits.SPAN_ATTRIBUTES`. NaN and infinite doubles are kept as the
    strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    """
    batch = IngestBatch()
    for resource_spans in request.resource_spans:
        resource = attributes_dict(resource_spans.resource.attributes)
        service_name = resource.get("service.name", "")
        service_name = service_name[:200] if isinstance(service_name, str) else ""
        for scope_spans in resource_spans.scope_spans:
            scope = {"otel.scope.name": scope_spans.scope.name, "otel.scope.version": scope_spans.scope.version}
            for span in scope_spans.spans:
                attributes = attributes_dict(span.attributes)
                problem = _id_problem(span) or _content_problem(span, attributes, {**resource, **scope})
                if problem:
                    _reject(batch, span, problem)
                    continue
                start, end = _nanos(span.start_time_unix_nano), _nanos(span.end_time_unix_nano)
                batch.spans.append(
                    Span(
                        project=project,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() if span.parent_span_id else "",
                        name=(span.name or "(unnamed)")[:300],
                        kind=_KINDS.get(span.kind, SpanKind.INTERNAL),
                        source=SpanSource.OTLP,
                        start_time=start,
                        end_time=max(start, end),
                        duration_ms=max((span.end_time_unix_nano - span.start_time_unix_nano) / 1e6, 0.0),
                        status=_STATUSES.get(span.status.code, SpanStatus.UNSET),
                        status_message=span.status.message[:500],
                        service_name=service_name,
                        attributes=attributes,
                        resource={**resource, **scope},
                    )
                )
    return batch


def encode_response(batch: IngestBatch, *, as_json: bool) -> bytes:
    response = ExportTraceServiceResponse()
    if batch.rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=batch.rejected, error_message="; ".join(batch.errors))
        )
    if as_json:
        return str(json_format.MessageToJson(response, indent=None)).encode()
    data: bytes = response.SerializeToString()
    return data


def encode_error(message: str, *, as_json: bool) -> bytes:
    """A ``google.rpc.Status`` (INVALID_ARGUMENT) for a 400, as the OTLP specification suggests."""
    if as_json:
        return json.dumps({"code": "malformed_otlp", "message": message, "detail": None}).encode()
    try:
        from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
    except ImportError:  # googleapis-common-protos is optional; an empty body is allowed
        return b""
    status: bytes = Status(code=3, message=message).SerializeToString()
    return status
