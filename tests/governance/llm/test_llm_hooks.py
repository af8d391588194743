"""The LLM client's two hooks on the registry: usage per attempt, breaker transitions."""

from __future__ import annotations

from datetime import UTC, datetime

from governance import hooks
from governance.llm import (
    BREAKER_STATE_CHANGED,
    PROVIDER_CALL_ATTEMPTED,
    BreakerConfig,
    BreakerRegistry,
    CallContext,
    MemoryBreakerStore,
    StateChange,
    Usage,
    UsageEvent,
)


def make_event() -> UsageEvent:
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


def test_a_failing_usage_subscriber_is_counted_under_the_events_trace_and_the_others_still_run() -> None:
    def broken(event: UsageEvent) -> None:
        raise RuntimeError("ledger down")

    name = f"{__name__}.{broken.__qualname__}"
    counter = hooks.SUBSCRIBER_FAILURES.labels("provider_call_attempted", name)
    before = counter._value.get()
    hooks.subscribe(PROVIDER_CALL_ATTEMPTED, broken)
    with hooks.capture(PROVIDER_CALL_ATTEMPTED) as seen:
        PROVIDER_CALL_ATTEMPTED.publish(make_event())
    assert len(seen) == 1
    assert counter._value.get() == before + 1
    assert PROVIDER_CALL_ATTEMPTED._trace_of(make_event()) == "t"


def test_breaker_transitions_reach_the_hook_whichever_registry_caused_them() -> None:
    seen: list[str] = []

    def alert(change: StateChange) -> None:
        seen.append(f"{change.key} {change.previous}->{change.current} {change.reason}")

    def broken(change: StateChange) -> None:
        raise RuntimeError("alerting down")

    hooks.subscribe(BREAKER_STATE_CHANGED, broken)
    hooks.subscribe(BREAKER_STATE_CHANGED, alert)
    breaker = BreakerRegistry(MemoryBreakerStore(), clock=lambda: 0.0).get(
        "p:m", BreakerConfig(window_size=1, minimum_calls=1)
    )
    breaker.record(breaker.acquire(), failed=True, duration_s=0.0)

    assert seen == ["p:m closed->open failure_rate"]
