"""Calling configured providers: provider rows, breaker alerts, the breakers page, metrics."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance import hooks, tracing
from governance.choices import AlertKind, ProviderKind
from governance.llm import PROVIDER_CALL_ATTEMPTED, BreakerOpenError, MemoryBreakerStore, ProviderHTTPError, configure
from governance.models import Alert, ModelEndpoint, Provider
from governance.services.provider_calls import model_resolve, provider_call
from tests.support.fake_provider import openai_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_with_memory_breakers():
    client = configure(breaker_store=MemoryBreakerStore(), sleep=lambda s: None)
    yield client
    configure()


@pytest.fixture
def events():
    with hooks.capture(PROVIDER_CALL_ATTEMPTED) as seen:
        yield seen


@pytest.fixture
def http_provider(fake_provider):
    provider = Provider.objects.create(
        name="fake-openai",
        kind=ProviderKind.OPENAI,
        base_url=fake_provider.openai_base_url,
        max_attempts=1,
        breaker_window_size=4,
        breaker_minimum_calls=4,
        breaker_failure_rate=0.5,
        breaker_wait_in_open_s=300,
    )
    ModelEndpoint.objects.create(provider=provider, name="gpt-test")
    return provider


def test_model_call_carries_project_and_trace_into_the_usage_event(
    http_provider, fake_provider, alice_project, events, client_with_memory_breakers
):
    fake_provider.enqueue(json=openai_reply(text="hello", prompt_tokens=20, cached_tokens=5, completion_tokens=3))
    ctx = tracing.context_from_traceparent(None)
    with tracing.activate(ctx):
        result = provider_call(
            provider=http_provider, model="gpt-test", messages=[("user", "hi")], project=alice_project, feature="faq"
        )
    assert result.text == "hello"
    assert result.usage.uncached_input_tokens == 15
    assert result.usage.cache_read_tokens == 5
    (event,) = events
    assert event.context.project_id == alice_project.pk
    assert event.context.feature == "faq"
    assert event.context.trace_id == ctx.trace_id
    # The trace continues into the provider request.
    assert fake_provider.requests[0].headers["traceparent"].split("-")[1] == ctx.trace_id


def test_breaker_trip_raises_one_alert_and_rejects_without_a_network_call(
    http_provider, fake_provider, client_with_memory_breakers
):
    for _ in range(4):
        fake_provider.enqueue(status=500, json={"error": {"message": "down", "type": "server_error"}})
    for _ in range(4):
        with pytest.raises(ProviderHTTPError):
            provider_call(provider=http_provider, model="gpt-test", messages=[("user", "hi")])
    sent = fake_provider.request_count
    with pytest.raises(BreakerOpenError):
        provider_call(provider=http_provider, model="gpt-test", messages=[("user", "hi")])
    assert fake_provider.request_count == sent
    alert = Alert.objects.get(kind=AlertKind.BREAKER_OPEN)
    assert alert.subject == "breaker:fake-openai:gpt-test"
    assert alert.count == 1


def test_breakers_admin_page_shows_and_resets_an_open_breaker(
    admin_client, http_provider, fake_provider, client_with_memory_breakers
):
    for _ in range(4):
        fake_provider.enqueue(status=503, json={"error": {"message": "down"}})
        with pytest.raises(ProviderHTTPError):
            provider_call(provider=http_provider, model="gpt-test", messages=[("user", "hi")])
    page = admin_client.get(reverse("admin:governance_provider_breakers"))
    assert b"fake-openai:gpt-test" in page.content
    assert b"open" in page.content
    response = admin_client.post(reverse("admin:governance_provider_breaker_reset"), {"key": "fake-openai:gpt-test"})
    assert response.status_code == 302
    fake_provider.enqueue(json=openai_reply(text="back"))
    assert provider_call(provider=http_provider, model="gpt-test", messages=[("user", "hi")]).text == "back"


def test_model_resolve_refuses_unknown_names(http_provider):
    from governance.errors import ArbiterError

    assert model_resolve(provider="fake-openai", model="gpt-test").model == "gpt-test"
    with pytest.raises(ArbiterError) as exc:
        model_resolve(provider="fake-openai", model="nope")
    assert exc.value.code == "unknown_model"
    with pytest.raises(ArbiterError) as exc:
        model_resolve(provider="nope", model="gpt-test")
    assert exc.value.code == "unknown_provider"


def test_offline_demo_provider_is_simulated_and_counted_in_metrics(client, client_with_memory_breakers):
    from governance.services.demo import offline_provider_ensure

    provider = offline_provider_ensure()
    result = provider_call(provider=provider, model="sim-small", messages=[("user", "hello there")])
    assert result.simulated
    assert result.text.startswith("[simulated]")
    body = client.get("/metrics").content.decode()
    assert 'arbiter_model_calls_total{model="sim-small",provider="offline",status="ok"}' in body


def test_metrics_token(client, settings):
    settings.ARBITER_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_model_call_tags_reach_the_usage_event(client_with_memory_breakers, events):
    from governance.services.demo import offline_provider_ensure

    provider_call(
        provider=offline_provider_ensure(),
        model="sim-small",
        messages=[("user", "hi")],
        pipeline="triage",
        run_id="run-1",
        step="classify",
        customer="acme",
    )
    (event,) = events
    assert (event.context.pipeline, event.context.run_id, event.context.step, event.context.customer) == (
        "triage",
        "run-1",
        "classify",
        "acme",
    )
