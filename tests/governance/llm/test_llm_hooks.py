from __future__ import annotations

import logging

import pytest

from governance.llm import (
    BreakerConfig,
    BreakerRegistry,
    CallContext,
    MemoryBreakerStore,
    StateChange,
    Usage,
    UsageEvent,
    isolated_subscribers,
    on_breaker_state_change,
    on_model_call,
    publish_model_call,
)
from governance.llm.hooks import clear_subscribers, remove_model_call_subscriber


def make_event() -> UsageEvent:
    from datetime import UTC, datetime

    return UsageEvent(
        provider="p",
        provider_kind="openai",
        model="m",
        response_model="m",
        usage=Usage(1, 0, 0, 1),
        latency_ms=1.0,
        status="ok",
        attempt=1,
        error_code=None,
        request_hash="h",
        context=CallContext(trace_id="t"),
        occurred_at=datetime.now(UTC),
        simulated=False,
    )


def test_subscribers_receive_events_once_even_if_subscribed_twice() -> None:
    seen: list[UsageEvent] = []
    on_model_call(seen.append)
    on_model_call(seen.append)

    publish_model_call(make_event())

    assert len(seen) == 1


def test_a_failing_subscriber_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[UsageEvent] = []

    @on_model_call
    def broken(event: UsageEvent) -> None:
        raise RuntimeError("ledger down")

    on_model_call(seen.append)

    with caplog.at_level(logging.ERROR, logger="governance.llm.hooks"):
        publish_model_call(make_event())

    assert len(seen) == 1
    assert "ledger down" in caplog.text
    assert "trace_id=t" in caplog.text


def test_remove_clear_and_isolate() -> None:
    seen: list[UsageEvent] = []
    on_model_call(seen.append)
    with isolated_subscribers():
        publish_model_call(make_event())
    publish_model_call(make_event())
    remove_model_call_subscriber(seen.append)
    publish_model_call(make_event())
    on_model_call(seen.append)
    clear_subscribers()
    publish_model_call(make_event())

    assert len(seen) == 1


def test_breaker_transitions_reach_the_global_hook_whichever_registry_caused_them() -> None:
    seen: list[str] = []

    @on_breaker_state_change
    def alert(change: StateChange) -> None:
        seen.append(f"{change.key} {change.previous}->{change.current} {change.reason}")

    @on_breaker_state_change
    def broken(change: StateChange) -> None:
        raise RuntimeError("alerting down")

    breaker = BreakerRegistry(MemoryBreakerStore(), clock=lambda: 0.0).get(
        "p:m", BreakerConfig(window_size=1, minimum_calls=1)
    )
    breaker.record(breaker.acquire(), failed=True, duration_s=0.0)

    assert seen == ["p:m closed->open failure_rate"]
