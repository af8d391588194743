"""OTLP/HTTP trace ingest: the official SDK exporter against a live server, JSON, gzip, errors."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from governance.models import Span

URL = "/api/v1/otlp/v1/traces"
TRACE = "5b8efff798038103d269b633813fc60c"


def _sdk_provider(endpoint: str, key: str, **exporter_kwargs):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {key}"}, **exporter_kwargs)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _send_agent_trace(provider) -> str:
    tracer = provider.get_tracer("support-bot.agent")
    with tracer.start_as_current_span("invoke_agent support") as root:
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.provider.name", "openai")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
            chat.set_attribute("gen_ai.usage.input_tokens", 812)
            chat.set_attribute("gen_ai.usage.output_tokens", 96)
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.force_flush()
    provider.shutdown()
    return trace_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_official_sdk_exporter_sends_a_trace_that_comes_back_as_a_tree(live_server, alice, bob, compression):
    from opentelemetry.exporter.otlp.proto.http import Compression

    provider = _sdk_provider(
        f"{live_server.url}{URL}",
        alice.key,
        compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression,
    )
    trace_id = _send_agent_trace(provider)

    response = bob.client().get(f"/api/v1/traces/{trace_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    # The ingest request's own span is in the project too, but in its own trace.
    assert body["span_count"] == 2
    [root] = body["spans"]
    assert root["name"] == "invoke_agent support"
    assert root["service_name"] == "support-bot"
    assert root["source"] == "otlp"
    [chat] = root["children"]
    assert chat["parent_span_id"] == root["span_id"]
    assert chat["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 812
    assert chat["resource"]["otel.scope.name"] == "support-bot.agent"


def _json_export(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
                "scopeSpans": [{"scope": {"name": "billing"}, "spans": list(spans)}],
            }
        ]
    }


def _span(span_id: str, name: str, parent: str = "", trace: str = TRACE, **extra: Any) -> dict[str, Any]:
    span = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "40"}},
            {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"boolValue": True}]}}},
        ],
        "status": {"code": 2, "message": "boom"},
        **extra,
    }
    if parent:
        span["parentSpanId"] = parent
    return span


@pytest.mark.django_db
@pytest.mark.parametrize("gzipped", [False, True])
def test_json_export_gzip_or_not(alice, bob, gzipped):
    body = json.dumps(
        _json_export(_span("051581bf3cb55c13", "root"), _span("5fb397be34d26b51", "child", parent="051581bf3cb55c13"))
    ).encode()
    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if gzipped else {}
    response = alice.client().generic(
        "POST", URL, gzip.compress(body) if gzipped else body, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    trace = bob.client().get(f"/api/v1/traces/{TRACE}").json()
    [root] = trace["spans"]
    child = root["children"][0]
    assert (child["name"], child["kind"], child["status"], child["status_message"]) == (
        "child",
        "client",
        "error",
        "boom",
    )
    assert child["attributes"] == {
        "gen_ai.request.model": "claude-sonnet",
        "gen_ai.usage.input_tokens": 40,
        "tags": ["a", True],
    }
    assert child["duration_ms"] == 250.0
    # The exporter retries: the same spans again are not stored twice.
    alice.client().generic("POST", URL, body, content_type="application/json")
    assert Span.objects.filter(source="otlp").count() == 2


@pytest.mark.django_db
def test_protobuf_export_answers_in_protobuf(alice):
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes.fromhex(TRACE), bytes.fromhex("051581bf3cb55c13"), "op"
    response = alice.client().generic("POST", URL, request.SerializeToString(), content_type="application/x-protobuf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse()
    parsed.ParseFromString(response.content)
    assert parsed.partial_success.rejected_spans == 0
    assert Span.objects.filter(source="otlp", trace_id=TRACE).count() == 1


@pytest.mark.django_db
def test_invalid_spans_are_rejected_one_by_one_as_partial_success(alice):
    body = _json_export(
        _span("051581bf3cb55c13", "good"),
        _span("nothex!!", "bad id"),
        _span("5fb397be34d26b51", "bad trace", trace="abcd"),
    )
    response = alice.client().generic("POST", URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "bad id" in partial["errorMessage"]
    assert list(Span.objects.filter(source="otlp").values_list("name", flat=True)) == ["good"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        (b"\xff\xff\xff\x0f garbage", "application/x-protobuf", None),
        (b"{not json", "application/json", None),
        (b'{"resourceSpans": "nope"}', "application/json", None),
        (b"[1, 2]", "application/json", None),
        (b"not gzip at all", "application/json", "gzip"),
        (b"{}", "application/json", "br"),
        (b"{}", "text/plain", None),
    ],
)
def test_a_malformed_body_gets_400_and_stores_nothing(alice, body, content_type, encoding):
    extra = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    before = Span.objects.filter(source="otlp").count()
    response = alice.client().generic("POST", URL, body, content_type=content_type, **extra)
    assert response.status_code == 400
    assert Span.objects.filter(source="otlp").count() == before == 0


@pytest.mark.django_db
def test_ingest_needs_a_key_with_envelopes_write(bob, anon):
    body = json.dumps(_json_export(_span("051581bf3cb55c13", "x")))
    assert bob.client().generic("POST", URL, body, content_type="application/json").status_code == 403
    assert anon.generic("POST", URL, body, content_type="application/json").status_code == 401
    assert not Span.objects.filter(source="otlp").exists()


@pytest.mark.django_db
def test_spans_land_in_the_keys_project_only(alice, charlie):
    body = json.dumps(_json_export(_span("051581bf3cb55c13", "x")))
    charlie.client().generic("POST", URL, body, content_type="application/json")
    assert alice.client().get(f"/api/v1/traces/{TRACE}").status_code == 404
    assert charlie.client().get(f"/api/v1/traces/{TRACE}").status_code == 200
