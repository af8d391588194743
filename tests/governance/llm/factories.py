"""Small builders shared by the LLM client tests (no Django)."""

from __future__ import annotations

from typing import Any

from governance.llm import BreakerConfig, CallContext, ChatMessage, ChatRequest, ProviderConfig, RetryConfig

# Small numbers so a handful of calls exercise every transition.
FAST_BREAKER = BreakerConfig(
    window_size=4,
    minimum_calls=4,
    failure_rate_threshold=0.5,
    slow_call_duration_s=10.0,
    slow_call_rate_threshold=1.0,
    wait_in_open_s=30.0,
    half_open_permitted_calls=2,
    max_wait_in_half_open_s=60.0,
)
# A breaker that never trips, for tests about retries alone.
LAX_BREAKER = BreakerConfig(window_size=100, minimum_calls=100)
NO_RETRY = RetryConfig(max_attempts=1)
TEST_KEY_ENV = "ARBITER_PROVIDER_TEST_LLM_KEY"
TEST_KEY = "sk-test-not-a-secret"


class FakeClock:
    """Wall and monotonic clock that only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepRecorder:
    """Stands in for ``time.sleep``: records the delays, waits for none."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def openai_provider(base_url: str, **overrides: Any) -> ProviderConfig:
    options: dict[str, Any] = {
        "name": "oai",
        "kind": "openai",
        "base_url": base_url,
        "api_key_env": TEST_KEY_ENV,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 2.0,
        "breaker": LAX_BREAKER,
    }
    options.update(overrides)
    return ProviderConfig(**options)


def anthropic_provider(base_url: str, **overrides: Any) -> ProviderConfig:
    return openai_provider(base_url, **{"name": "anth", "kind": "anthropic", **overrides})


def offline_provider(**overrides: Any) -> ProviderConfig:
    options: dict[str, Any] = {"name": "sim", "kind": "offline", "breaker": LAX_BREAKER}
    options.update(overrides)
    return ProviderConfig(**options)


def chat(text: str = "hello", **overrides: Any) -> ChatRequest:
    options: dict[str, Any] = {
        "model": "gpt-test",
        "messages": (ChatMessage("user", text),),
        "metadata": CallContext(feature="tests", customer="acme"),
    }
    options.update(overrides)
    return ChatRequest(**options)
