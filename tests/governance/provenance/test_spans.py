"""Spans: one per authenticated API request, one per model call; traces come back as trees."""

from __future__ import annotations

import pytest
from django.conf import settings

from governance import otel_export, tracing
from governance.llm import CallContext, ChatMessage, ChatRequest, LlmClient, ProviderConfig, RetryConfig
from governance.models import Span
from governance.services.envelopes import envelope_append
from tests.support.fake_provider import fake_provider, openai_reply  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_an_api_request_leaves_one_server_span(alice, anon):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = alice.client().get("/api/v1/whoami", HTTP_TRACEPARENT=parent)
    assert response.status_code == 200
    [span] = Span.objects.all()
    assert span.project == alice.project
    assert (span.trace_id, span.parent_span_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert span.span_id == response["traceparent"].split("-")[2]
    assert (span.name, span.kind, span.source) == ("GET /api/v1/whoami", "server", "request")
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["enduser.id"] == f"api-key:{alice.issued.api_key.prefix}"
    assert span.duration_ms >= 0
    # Unauthenticated requests have no project to record them in.
    anon.get("/api/v1/whoami")
    assert Span.objects.count() == 1


def test_a_failing_request_subscriber_never_breaks_the_response(alice):
    from governance import hooks
    from governance.middleware import REQUEST_FINISHED, RequestFinished

    def broken(event: RequestFinished) -> None:
        raise RuntimeError("metrics down")

    name = f"{__name__}.{broken.__qualname__}"
    failures = hooks.SUBSCRIBER_FAILURES.labels("request_finished", name)
    before = failures._value.get()
    with hooks.isolated(REQUEST_FINISHED):
        hooks.subscribe(REQUEST_FINISHED, broken)
        with hooks.capture(REQUEST_FINISHED) as seen:
            response = alice.client().get("/api/v1/whoami")
    assert response.status_code == 200
    assert response["traceparent"]
    assert [(e.response.status_code, e.trace.trace_id) for e in seen] == [(200, response["traceparent"].split("-")[1])]
    assert failures._value.get() == before + 1


@pytest.mark.django_db(transaction=True)
def test_request_spans_record_the_status_and_cost_one_insert(alice, django_assert_num_queries):
    # Committed data and no test transaction around the request, as in production: inside a
    # transaction the hook registry would add a savepoint around each subscriber.
    client = alice.client()
    client.get("/api/v1/whoami")  # warm: key lookup + last_used touch
    with django_assert_num_queries(2):  # the key lookup, and the span INSERT
        client.get("/api/v1/whoami")
    client.get("/api/v1/envelopes/00000000-0000-0000-0000-000000000000")
    statuses = [s.attributes["http.response.status_code"] for s in Span.objects.order_by("start_time")]
    assert statuses == [200, 200, 404]


def _chat(metadata: CallContext) -> ChatRequest:
    return ChatRequest(model="gpt-test", messages=(ChatMessage("user", "hello"),), metadata=metadata)


def test_a_model_call_leaves_a_genai_span(alice_project):
    ctx = tracing.TraceContext(trace_id="1" * 32, span_id="2" * 16)
    client = LlmClient()
    with tracing.activate(ctx):
        client.complete(ProviderConfig(name="sim", kind="offline"), _chat(CallContext(project_id=alice_project.pk)))
    [span] = Span.objects.filter(source="model_call")
    assert span.project == alice_project
    assert (span.trace_id, span.parent_span_id, span.kind, span.status) == ("1" * 32, "2" * 16, "client", "ok")
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "arbiter.offline"
    assert attrs["gen_ai.request.model"] == "gpt-test"
    assert attrs["gen_ai.response.model"] == "gpt-test"
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["arbiter.simulated"] is True


def test_a_model_call_over_http_leaves_one_span_per_attempt(alice_project, fake_provider, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ARBITER_PROVIDER_PROV_TEST_KEY", "sk-test")
    fake_provider.enqueue(status=500)
    fake_provider.enqueue(json=openai_reply(model="gpt-4o-mini-2024", prompt_tokens=9, completion_tokens=3))
    provider = ProviderConfig(
        name="fake",
        kind="openai",
        base_url=fake_provider.openai_base_url,
        api_key_env="ARBITER_PROVIDER_PROV_TEST_KEY",
        retry=RetryConfig(max_attempts=2, backoff_base_s=0.0, backoff_max_s=0.0),
    )
    metadata = CallContext(trace_id="3" * 32, span_id="4" * 16, project_id=alice_project.pk)
    LlmClient().complete(provider, _chat(metadata))
    spans = list(Span.objects.filter(source="model_call").order_by("start_time"))
    assert [s.status for s in spans] == ["error", "ok"]
    ok = spans[-1].attributes
    assert ok["gen_ai.provider.name"] == "openai"
    assert ok["gen_ai.response.model"] == "gpt-4o-mini-2024"
    assert (ok["gen_ai.usage.input_tokens"], ok["gen_ai.usage.output_tokens"]) == (9, 3)


def test_trace_api_returns_spans_as_a_tree_with_envelopes(alice, bob, charlie, alice_project):
    trace = tracing.TraceContext(trace_id="5" * 32, span_id="6" * 16)
    with tracing.activate(trace):
        response = alice.client().get("/api/v1/whoami", HTTP_TRACEPARENT=trace.traceparent)
        request_span = response["traceparent"].split("-")[2]
        with tracing.activate(tracing.TraceContext(trace_id=trace.trace_id, span_id=request_span)):
            metadata = CallContext(trace_id=trace.trace_id, span_id=request_span, project_id=alice_project.pk)
            LlmClient().complete(ProviderConfig(name="sim", kind="offline"), _chat(metadata))
            envelope_append(project=alice_project, decision_type="llm_call", outcome="allowed")
    body = bob.client().get(f"/api/v1/traces/{trace.trace_id}").json()
    assert body["span_count"] == 2
    [root] = body["spans"]
    assert root["name"] == "GET /api/v1/whoami"
    [child] = root["children"]
    assert child["attributes"]["gen_ai.request.model"] == "gpt-test"
    assert [e["decision_type"] for e in body["envelopes"]] == ["llm_call"]
    assert body["envelopes"][0]["span_id"] == request_span
    assert charlie.client().get(f"/api/v1/traces/{trace.trace_id}").status_code == 404


def test_content_attributes_follow_the_project_setting(alice_project):
    from django.utils import timezone

    from governance.services.spans import span_record

    now = timezone.now()
    span = span_record(
        project=alice_project,  # "redacted", and no redactor registered in these tests
        name="chat",
        start_time=now,
        end_time=now,
        attributes={"gen_ai.input.messages": "my pin is 1234", "gen_ai.request.model": "m"},
    )
    assert span.attributes["gen_ai.input.messages"].startswith("sha256:")
    assert span.attributes["gen_ai.request.model"] == "m"


def test_own_spans_are_exported_when_an_endpoint_is_set(alice, monkeypatch):
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    monkeypatch.setattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", raising=False)
    monkeypatch.setattr(otel_export, "_processor", SimpleSpanProcessor(exporter))
    alice.client().get("/api/v1/whoami")
    [exported] = exporter.get_finished_spans()
    assert exported.name == "GET /api/v1/whoami"
    assert exported.attributes is not None
    assert exported.attributes["arbiter.project"] == "alice"
    assert format(exported.context.trace_id, "032x") == Span.objects.get().trace_id


def test_export_is_off_by_default():
    assert settings.OTEL_EXPORTER_OTLP_ENDPOINT is None
    assert not otel_export.enabled()


def test_buffered_request_spans_are_written_in_batches(alice, settings, monkeypatch):
    import os

    from governance.services.spans import span_buffer

    settings.ARBITER_SPAN_BUFFER_MS = 200
    # Drive the buffer by hand: no background thread (it would use its own connection,
    # which cannot see this test's uncommitted rows).
    monkeypatch.setattr(span_buffer, "_pid", os.getpid())
    client = alice.client()
    for _ in range(3):
        assert client.get("/api/v1/whoami").status_code == 200
    assert not Span.objects.exists()  # nothing written on the request path
    span_buffer.flush()
    assert Span.objects.filter(source="request").count() == 3
