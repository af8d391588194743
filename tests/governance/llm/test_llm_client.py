"""The client against a real HTTP server speaking the providers' wire formats."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from governance import hooks
from governance.llm import (
    PROVIDER_CALL_ATTEMPTED,
    BreakerConfig,
    BreakerOpenError,
    BreakerState,
    BreakerStore,
    CallContext,
    ChatMessage,
    LlmClient,
    LlmError,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    RetryBudgetExhaustedError,
    RetryConfig,
    Usage,
    UsageEvent,
    compute_request_hash,
)
from tests.governance.llm.factories import (
    FAST_BREAKER,
    NO_RETRY,
    TEST_KEY,
    TEST_KEY_ENV,
    FakeClock,
    SleepRecorder,
    anthropic_provider,
    chat,
    openai_provider,
)
from tests.support.fake_provider import FakeProviderServer, anthropic_reply, openai_reply

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- wire formats --------------------------------------------------------------


def test_openai_wire_format_and_normalised_usage(
    client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(
        json=openai_reply("hi there", model="gpt-test-2025", prompt_tokens=100, completion_tokens=7, cached_tokens=60)
    )
    provider = openai_provider(fake_provider.openai_base_url, extra_headers={"x-org": "arbiter"})
    request = chat(
        "hello",
        system="be brief",
        temperature=0.2,
        json_response=True,
        max_tokens=50,
        metadata=CallContext(trace_id=TRACE_ID, span_id=SPAN_ID, feature="f"),
    )

    result = client.complete(provider, request)

    sent = fake_provider.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert sent.headers["x-org"] == "arbiter"
    assert sent.headers["traceparent"] == f"00-{TRACE_ID}-{SPAN_ID}-01"
    assert sent.json == {
        "model": "gpt-test",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
        "max_tokens": 50,
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
    }
    assert (result.text, result.model, result.provider, result.provider_kind) == (
        "hi there",
        "gpt-test-2025",
        "oai",
        "openai",
    )
    assert result.usage == Usage(uncached_input_tokens=40, cache_read_tokens=60, cache_write_tokens=0, output_tokens=7)
    assert (result.attempts, result.finish_reason, result.simulated) == (1, "stop", False)
    assert result.request_hash == compute_request_hash("openai", request)
    [event] = events
    assert (event.status, event.attempt, event.model, event.response_model) == ("ok", 1, "gpt-test", "gpt-test-2025")
    assert event.usage == result.usage
    assert event.context.feature == "f"
    assert event.request_hash == result.request_hash
    assert event.occurred_at.tzinfo is UTC


def test_anthropic_wire_format_and_normalised_usage(
    client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(
        json=anthropic_reply(
            "bonjour", input_tokens=40, output_tokens=7, cache_read_input_tokens=60, cache_creation_input_tokens=20
        )
    )
    provider = anthropic_provider(fake_provider.url)
    request = chat(
        "hello",
        model="claude-test",
        system="be brief",
        messages=(ChatMessage("user", "hello"), ChatMessage("assistant", "hi"), ChatMessage("user", "again")),
    )

    result = client.complete(provider, request)

    sent = fake_provider.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == TEST_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json["system"] == "be brief"
    assert [m["role"] for m in sent.json["messages"]] == ["user", "assistant", "user"]
    assert sent.json["max_tokens"] == 1024
    assert result.text == "bonjour"
    assert result.finish_reason == "end_turn"
    assert result.usage == Usage(uncached_input_tokens=40, cache_read_tokens=60, cache_write_tokens=20, output_tokens=7)
    assert result.usage.input_tokens_total == 120
    assert events[0].usage == result.usage
    assert events[0].provider_kind == "anthropic"


def test_anthropic_joins_text_blocks_and_skips_others(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    body = anthropic_reply()
    body["content"] = [
        {"type": "text", "text": "a"},
        {"type": "tool_use", "id": "t", "name": "x", "input": {}},
        {"type": "text", "text": "b"},
    ]
    fake_provider.enqueue(json=body)

    assert client.complete(anthropic_provider(fake_provider.url), chat()).text == "ab"


def test_missing_api_key_variable_fails_before_any_request(
    client: LlmClient, fake_provider: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TEST_KEY_ENV)

    with pytest.raises(ProviderConfigError) as excinfo:
        client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert excinfo.value.code == "provider_misconfigured"
    assert TEST_KEY_ENV in str(excinfo.value)
    assert fake_provider.request_count == 0


def test_key_is_read_at_call_time(
    client: LlmClient, fake_provider: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = openai_provider(fake_provider.openai_base_url)
    client.complete(provider, chat())
    monkeypatch.setenv(TEST_KEY_ENV, "sk-rotated")

    client.complete(provider, chat())

    assert [r.headers["authorization"] for r in fake_provider.requests] == [f"Bearer {TEST_KEY}", "Bearer sk-rotated"]
    assert "sk-rotated" not in repr(provider)


def test_no_auth_header_when_no_key_is_configured(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    client.complete(openai_provider(fake_provider.openai_base_url, api_key_env=None), chat())

    assert "authorization" not in fake_provider.requests[0].headers


# -- retries -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retries_honour_retry_after_seconds(
    client: LlmClient,
    fake_provider: FakeProviderServer,
    sleeps: SleepRecorder,
    events: list[UsageEvent],
    status: int,
) -> None:
    fake_provider.enqueue(status=status, headers={"Retry-After": "2"})

    result = client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert sleeps.calls == [2.0]
    assert result.attempts == 2
    assert fake_provider.request_count == 2
    assert [(e.status, e.attempt, e.error_code) for e in events] == [
        ("retry", 1, "provider_http_error"),
        ("ok", 2, None),
    ]
    assert events[0].usage == Usage()
    assert events[0].response_model == ""


def test_retry_after_as_http_date(client: LlmClient, fake_provider: FakeProviderServer, sleeps: SleepRecorder) -> None:
    when = datetime.now(UTC) + timedelta(seconds=3)
    fake_provider.enqueue(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})

    client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert len(sleeps.calls) == 1
    assert 1.0 < sleeps.calls[0] <= 3.0


def test_retry_after_longer_than_backoff_max_fails_fast_with_the_hint(
    client: LlmClient, fake_provider: FakeProviderServer, sleeps: SleepRecorder
) -> None:
    fake_provider.enqueue(status=429, headers={"Retry-After": "120"})

    with pytest.raises(ProviderHTTPError) as excinfo:
        client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert (excinfo.value.status, excinfo.value.retry_after_s) == (429, 120.0)
    assert sleeps.calls == []
    assert fake_provider.request_count == 1


def test_5xx_retried_with_backoff_at_most_three_attempts(
    client: LlmClient, fake_provider: FakeProviderServer, sleeps: SleepRecorder, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(status=500, json={"error": {"type": "server_error", "message": "boom"}}, times=5)

    with pytest.raises(ProviderHTTPError) as excinfo:
        client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert excinfo.value.status == 500
    assert excinfo.value.provider_error_type == "server_error"
    assert excinfo.value.provider == "oai"
    assert fake_provider.request_count == 3
    assert sleeps.calls == [0.5, 1.0]  # full jitter pinned at its ceiling: base, 2 x base
    assert [e.status for e in events] == ["retry", "retry", "error"]
    assert [e.attempt for e in events] == [1, 2, 3]


def test_no_retry_on_400(
    client: LlmClient, fake_provider: FakeProviderServer, sleeps: SleepRecorder, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(status=400, json={"error": {"type": "invalid_request_error", "message": "bad"}})

    with pytest.raises(ProviderHTTPError) as excinfo:
        client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert excinfo.value.status == 400
    assert "bad" not in str(excinfo.value)  # provider messages can quote keys or prompts
    assert fake_provider.request_count == 1
    assert sleeps.calls == []
    assert [(e.status, e.error_code) for e in events] == [("error", "provider_http_error")]


def test_client_errors_do_not_count_against_the_breaker(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    fake_provider.enqueue(status=400, times=4)
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER, retry=NO_RETRY)

    for _ in range(4):
        with pytest.raises(ProviderHTTPError):
            client.complete(provider, chat())

    snapshot = client.breakers.snapshot("oai:gpt-test")
    assert (snapshot.state, snapshot.failed_calls) == (BreakerState.CLOSED, 0)


def test_retry_budget_stops_a_retry_storm(
    client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(status=503, times=100)
    # Reserve of one retry per window plus 10 % of requests.
    retry = RetryConfig(retry_budget_ratio=0.1, retry_budget_min_per_s=0.1, retry_budget_window_s=10.0)
    provider = openai_provider(fake_provider.openai_base_url, retry=retry)
    outcomes: list[str] = []

    for _ in range(10):
        with pytest.raises(LlmError) as excinfo:
            client.complete(provider, chat())
        outcomes.append(excinfo.value.code)

    # Call 1 spends the reserve (2 retries); calls 2..10 are refused a retry:
    # 12 requests instead of the 30 that 3 attempts each would make.
    assert fake_provider.request_count == 12
    assert outcomes == ["provider_http_error"] + ["retry_budget_exhausted"] * 9
    assert [e.status for e in events].count("retry") == 2


def test_budget_error_carries_the_last_provider_error(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    fake_provider.enqueue(status=502, times=10)
    provider = openai_provider(
        fake_provider.openai_base_url, retry=RetryConfig(retry_budget_ratio=0.0, retry_budget_min_per_s=0.0)
    )

    with pytest.raises(RetryBudgetExhaustedError) as excinfo:
        client.complete(provider, chat())

    assert isinstance(excinfo.value.last_error, ProviderHTTPError)
    assert excinfo.value.__cause__ is excinfo.value.last_error
    assert fake_provider.request_count == 1


# -- timeouts and connection errors ----------------------------------------------


def test_read_timeout_raises_provider_timeout(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    fake_provider.enqueue(delay=2.0)
    provider = openai_provider(fake_provider.openai_base_url, read_timeout_s=0.1, retry=NO_RETRY)

    with pytest.raises(ProviderTimeoutError) as excinfo:
        client.complete(provider, chat())

    assert excinfo.value.code == "provider_timeout"
    fake_provider.reset()  # wake the delayed handler


def test_timeouts_are_retried(client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent]) -> None:
    fake_provider.enqueue(delay=2.0)
    provider = openai_provider(fake_provider.openai_base_url, read_timeout_s=0.1)

    result = client.complete(provider, chat())

    assert result.attempts == 2
    assert [(e.status, e.error_code) for e in events] == [("retry", "provider_timeout"), ("ok", None)]


def test_connection_refused_is_retried_then_raised(client: LlmClient, sleeps: SleepRecorder) -> None:
    provider = openai_provider(f"http://127.0.0.1:{closed_port()}/v1")

    with pytest.raises(ProviderConnectionError) as excinfo:
        client.complete(provider, chat())

    assert excinfo.value.code == "provider_unreachable"
    assert len(sleeps.calls) == 2


@pytest.mark.parametrize("body", [b"not json", b'{"unexpected": true}', b'{"choices": [{"message": {"content": 5}}]}'])
def test_unparsable_response_is_not_retried(
    client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent], body: bytes
) -> None:
    fake_provider.enqueue(body=body)

    with pytest.raises(ProviderResponseError) as excinfo:
        client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert excinfo.value.code == "provider_bad_response"
    assert fake_provider.request_count == 1
    assert [(e.status, e.error_code) for e in events] == [("error", "provider_bad_response")]


# -- breaker through the client ----------------------------------------------------


@pytest.fixture
def breaker_client(make_client: Callable[..., LlmClient], breaker_store: BreakerStore) -> LlmClient:
    return make_client(breaker_store)


def test_breaker_opens_then_rejects_without_network_calls(
    breaker_client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent]
) -> None:
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER, retry=NO_RETRY)
    fake_provider.enqueue(status=503, times=2)
    for _ in range(2):
        with pytest.raises(ProviderHTTPError):
            breaker_client.complete(provider, chat())
    for _ in range(2):
        breaker_client.complete(provider, chat())
    assert breaker_client.breakers.snapshot("oai:gpt-test").state is BreakerState.OPEN
    count, published = fake_provider.request_count, len(events)

    with pytest.raises(BreakerOpenError) as excinfo:
        breaker_client.complete(provider, chat())

    assert excinfo.value.code == "breaker_open"
    assert excinfo.value.provider == "oai"
    assert fake_provider.request_count == count
    assert len(events) == published  # no attempt, no usage event


def test_breaker_is_per_provider_and_model(breaker_client: LlmClient, fake_provider: FakeProviderServer) -> None:
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER, retry=NO_RETRY)
    fake_provider.enqueue(status=500, times=4)
    for _ in range(4):
        with pytest.raises(ProviderHTTPError):
            breaker_client.complete(provider, chat())

    result = breaker_client.complete(provider, chat(model="other-model"))

    assert result.text == "fake reply"


def test_breaker_half_opens_closes_on_success_and_reopens_on_failure(
    breaker_client: LlmClient, fake_provider: FakeProviderServer, clock: FakeClock
) -> None:
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER, retry=NO_RETRY)
    key = "oai:gpt-test"

    def fail(times: int) -> None:
        fake_provider.enqueue(status=500, times=times)
        for _ in range(times):
            with pytest.raises(ProviderHTTPError):
                breaker_client.complete(provider, chat())

    fail(4)
    clock.advance(30)
    fail(2)  # both probes fail
    assert breaker_client.breakers.snapshot(key).state is BreakerState.OPEN
    clock.advance(29)
    with pytest.raises(BreakerOpenError):
        breaker_client.complete(provider, chat())
    clock.advance(1)
    breaker_client.complete(provider, chat())
    assert breaker_client.breakers.snapshot(key).state is BreakerState.HALF_OPEN
    breaker_client.complete(provider, chat())

    assert breaker_client.breakers.snapshot(key).state is BreakerState.CLOSED
    assert fake_provider.request_count == 8


def test_half_open_admits_only_n_probes_when_many_callers_arrive(
    breaker_client: LlmClient, fake_provider: FakeProviderServer, clock: FakeClock
) -> None:
    config = BreakerConfig(window_size=2, minimum_calls=2, wait_in_open_s=30, half_open_permitted_calls=3)
    provider = openai_provider(fake_provider.openai_base_url, breaker=config, retry=NO_RETRY)
    fake_provider.enqueue(status=500, times=2)
    for _ in range(2):
        with pytest.raises(ProviderHTTPError):
            breaker_client.complete(provider, chat())
    clock.advance(30)
    # Probes stay in flight while the other callers arrive.
    fake_provider.enqueue(delay=0.3, times=3)
    callers = 12
    barrier = threading.Barrier(callers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def caller() -> None:
        barrier.wait()
        try:
            breaker_client.complete(provider, chat())
            outcome = "ok"
        except LlmError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert sorted(outcomes) == ["breaker_open"] * (callers - 3) + ["ok"] * 3
    assert fake_provider.request_count == 2 + 3
    assert breaker_client.breakers.snapshot("oai:gpt-test").state is BreakerState.CLOSED


def test_slow_calls_trip_the_breaker(breaker_client: LlmClient, fake_provider: FakeProviderServer) -> None:
    config = BreakerConfig(window_size=2, minimum_calls=2, slow_call_duration_s=0.05, slow_call_rate_threshold=1.0)
    provider = openai_provider(fake_provider.openai_base_url, breaker=config, retry=NO_RETRY)
    fake_provider.enqueue(delay=0.08, times=2)

    breaker_client.complete(provider, chat())
    breaker_client.complete(provider, chat())

    snapshot = breaker_client.breakers.snapshot("oai:gpt-test")
    assert (snapshot.state, snapshot.slow_call_rate) == (BreakerState.OPEN, 0.0)  # window cleared on opening
    with pytest.raises(BreakerOpenError):
        breaker_client.complete(provider, chat())


def test_a_retry_that_meets_an_open_breaker_stops_with_the_cause_chained(
    breaker_client: LlmClient, fake_provider: FakeProviderServer
) -> None:
    config = BreakerConfig(window_size=1, minimum_calls=1)
    provider = openai_provider(fake_provider.openai_base_url, breaker=config)
    fake_provider.enqueue(status=503, times=3)

    with pytest.raises(BreakerOpenError) as excinfo:
        breaker_client.complete(provider, chat())

    assert isinstance(excinfo.value.__cause__, ProviderHTTPError)
    assert fake_provider.request_count == 1


def test_breaker_trip_notifies_listeners(breaker_client: LlmClient, fake_provider: FakeProviderServer) -> None:
    tripped: list[str] = []
    breaker_client.breakers.on_state_change(lambda change: tripped.append(f"{change.key}:{change.current}"))
    provider = openai_provider(fake_provider.openai_base_url, breaker=FAST_BREAKER, retry=NO_RETRY)
    fake_provider.enqueue(status=500, times=4)

    for _ in range(4):
        with pytest.raises(ProviderHTTPError):
            breaker_client.complete(provider, chat())

    assert tripped == ["oai:gpt-test:open"]


# -- usage events -------------------------------------------------------------------


def test_a_failing_subscriber_never_breaks_the_call(
    client: LlmClient, fake_provider: FakeProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: UsageEvent) -> None:
        raise RuntimeError("ledger down")

    hooks.subscribe(PROVIDER_CALL_ATTEMPTED, broken)
    with caplog.at_level(logging.ERROR, logger="governance.hooks"):
        result = client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert result.text == "fake reply"
    assert "ledger down" in caplog.text


def test_event_timestamp_comes_from_the_injected_clock(
    client: LlmClient, fake_provider: FakeProviderServer, events: list[UsageEvent], clock: FakeClock
) -> None:
    client.complete(openai_provider(fake_provider.openai_base_url), chat())

    assert events[0].occurred_at == datetime.fromtimestamp(clock.now, UTC)


# -- post_json ------------------------------------------------------------------------


def test_post_json_goes_through_breaker_and_retries_without_usage_events(
    client: LlmClient, fake_provider: FakeProviderServer, sleeps: SleepRecorder, events: list[UsageEvent]
) -> None:
    fake_provider.enqueue(status=503, headers={"Retry-After": "1"})
    fake_provider.enqueue(json={"verdict": "block", "score": 0.9})
    provider = openai_provider(fake_provider.url, name="clf")

    body = client.post_json(
        provider,
        "classify",
        {"text": "x"},
        breaker_model="toxicity-v1",
        context=CallContext(trace_id=TRACE_ID, span_id=SPAN_ID),
    )

    assert body == {"verdict": "block", "score": 0.9}
    assert sleeps.calls == [1.0]
    assert [r.path for r in fake_provider.requests] == ["/classify", "/classify"]
    assert fake_provider.requests[0].json == {"text": "x"}
    assert fake_provider.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert fake_provider.requests[0].headers["traceparent"].startswith(f"00-{TRACE_ID}")
    assert events == []
    assert client.breakers.snapshot("clf:toxicity-v1").calls == 2


def test_post_json_rejects_a_non_object_body(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    fake_provider.enqueue(json=[1, 2])

    with pytest.raises(ProviderResponseError):
        client.post_json(openai_provider(fake_provider.url), "/classify", {}, breaker_model="m")


def test_connections_are_pooled_across_calls(client: LlmClient, fake_provider: FakeProviderServer) -> None:
    provider = openai_provider(fake_provider.openai_base_url)
    for _ in range(3):
        client.complete(provider, chat())

    # One keep-alive connection served all three requests.
    assert len({r.peer for r in fake_provider.requests}) == 1
