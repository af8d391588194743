"""The offline simulator runs through the same breaker, retry and usage pipeline."""

from __future__ import annotations

import json

import pytest

from governance.llm import (
    BreakerConfig,
    BreakerOpenError,
    ChatMessage,
    LlmClient,
    ProviderConfigError,
    ProviderHTTPError,
    ProviderTimeoutError,
    UsageEvent,
)
from tests.governance.llm.factories import NO_RETRY, SleepRecorder, chat, offline_provider


def test_echo_is_deterministic_labelled_and_reports_usage(client: LlmClient, events: list[UsageEvent]) -> None:
    provider = offline_provider()
    request = chat("What is   the\ncapital of France?", system="be brief")

    first = client.complete(provider, request)
    second = client.complete(provider, request)

    assert first.text == second.text == "[simulated] reply to: What is the capital of France?"
    assert first.simulated is True
    assert (first.model, first.provider, first.provider_kind, first.finish_reason) == (
        "gpt-test",
        "sim",
        "offline",
        "stop",
    )
    # ~4 characters per token over the system prompt and the messages (41 characters).
    assert first.usage.uncached_input_tokens == 11
    assert first.usage.output_tokens == (len(first.text) + 3) // 4
    assert [(e.status, e.simulated, e.provider_kind) for e in events] == [("ok", True, "offline")] * 2


def test_json_verdict_default_custom_and_keyword_block(client: LlmClient) -> None:
    default = offline_provider(offline={"mode": "json_verdict"})
    custom = offline_provider(offline={"mode": "json_verdict", "verdict": {"verdict": "flag", "score": 0.5}})
    keywords = offline_provider(offline={"mode": "json_verdict", "unsafe_keywords": ["Bomb", "exploit"]})

    assert json.loads(client.complete(default, chat("hi", json_response=True)).text) == {
        "verdict": "allow",
        "score": 0.0,
        "reason": "simulated",
    }
    assert json.loads(client.complete(custom, chat("hi")).text) == {"verdict": "flag", "score": 0.5}
    blocked = json.loads(client.complete(keywords, chat("how to build a BOMB")).text)
    assert (blocked["verdict"], blocked["score"]) == ("block", 0.95)
    assert json.loads(client.complete(keywords, chat("hello")).text)["verdict"] == "allow"


def test_keywords_are_looked_for_in_user_text_only(client: LlmClient) -> None:
    provider = offline_provider(offline={"mode": "json_verdict", "unsafe_keywords": ["exploit"]})
    request = chat("hi", system="never explain an exploit", messages=(ChatMessage("user", "hi"),))

    assert json.loads(client.complete(provider, request).text)["verdict"] == "allow"


def test_fail_mode_raises_typed_errors_after_retries(
    client: LlmClient, sleeps: SleepRecorder, events: list[UsageEvent]
) -> None:
    provider = offline_provider(offline={"mode": "fail", "fail_status": 502})

    with pytest.raises(ProviderHTTPError) as excinfo:
        client.complete(provider, chat())

    assert excinfo.value.status == 502
    assert len(sleeps.calls) == 2
    assert [e.status for e in events] == ["retry", "retry", "error"]
    assert all(e.simulated for e in events)


def test_fail_first_n_demoes_a_recovered_retry(
    client: LlmClient, sleeps: SleepRecorder, events: list[UsageEvent]
) -> None:
    provider = offline_provider(
        offline={"mode": "fail", "fail_first_n": 2, "fail_status": 429, "fail_retry_after_s": 1}
    )

    result = client.complete(provider, chat())

    assert result.attempts == 3
    assert result.text.startswith("[simulated] ")
    assert sleeps.calls == [1.0, 1.0]
    assert [e.status for e in events] == ["retry", "retry", "ok"]
    # Later calls succeed at once: the counter is per process and provider.
    assert client.complete(provider, chat()).attempts == 1


def test_fail_first_n_applies_to_other_modes(client: LlmClient) -> None:
    provider = offline_provider(offline={"mode": "json_verdict", "fail_first_n": 1})

    result = client.complete(provider, chat())

    assert result.attempts == 2
    assert json.loads(result.text)["verdict"] == "allow"


def test_slow_mode_counts_as_slow_for_the_breaker(client: LlmClient) -> None:
    breaker = BreakerConfig(window_size=2, minimum_calls=2, slow_call_duration_s=0.03)
    provider = offline_provider(offline={"mode": "slow"}, breaker=breaker, retry=NO_RETRY)

    client.complete(provider, chat())
    client.complete(provider, chat())

    with pytest.raises(BreakerOpenError):
        client.complete(provider, chat())


def test_slow_mode_beyond_the_read_timeout_times_out(client: LlmClient) -> None:
    provider = offline_provider(offline={"mode": "slow", "latency_ms": 500}, read_timeout_s=0.05, retry=NO_RETRY)

    with pytest.raises(ProviderTimeoutError):
        client.complete(provider, chat())


def test_repeated_failures_open_the_breaker(client: LlmClient) -> None:
    breaker = BreakerConfig(window_size=3, minimum_calls=3)
    provider = offline_provider(offline={"mode": "fail"}, breaker=breaker, retry=NO_RETRY)
    for _ in range(3):
        with pytest.raises(ProviderHTTPError):
            client.complete(provider, chat())

    with pytest.raises(BreakerOpenError):
        client.complete(provider, chat())


def test_unknown_mode_is_a_configuration_error(client: LlmClient) -> None:
    with pytest.raises(ProviderConfigError):
        client.complete(offline_provider(offline={"mode": "chaos"}), chat())


def test_post_json_offline_classifies_the_text(client: LlmClient) -> None:
    provider = offline_provider(offline={"unsafe_keywords": ["secret"]})

    assert client.post_json(provider, "/classify", {"text": "tell me the SECRET"}, breaker_model="clf")["verdict"] == (
        "block"
    )
    assert client.post_json(provider, "/classify", {"text": "hello"}, breaker_model="clf") == {
        "verdict": "allow",
        "score": 0.0,
        "reason": "simulated",
    }
