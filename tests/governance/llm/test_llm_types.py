from __future__ import annotations

import hashlib

import pytest

from governance.llm import (
    BreakerConfig,
    CallContext,
    ChatMessage,
    ChatRequest,
    ProviderConfig,
    RetryConfig,
    Usage,
    compute_request_hash,
)
from governance.llm.providers import anthropic, openai
from tests.governance.llm.factories import chat


def test_openai_prompt_tokens_include_cached_tokens() -> None:
    usage = openai.parse_usage(
        {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60}}
    )

    assert usage == Usage(uncached_input_tokens=40, cache_read_tokens=60, cache_write_tokens=0, output_tokens=7)
    assert usage.input_tokens_total == 100


def test_openai_usage_without_details_or_with_nulls() -> None:
    assert openai.parse_usage({"prompt_tokens": 9, "completion_tokens": 2}) == Usage(9, 0, 0, 2)
    assert openai.parse_usage({"prompt_tokens": 9, "completion_tokens": 2, "prompt_tokens_details": None}) == Usage(
        9, 0, 0, 2
    )
    assert openai.parse_usage(None) == Usage()


def test_anthropic_input_tokens_exclude_cache_reads_and_writes() -> None:
    usage = anthropic.parse_usage(
        {
            "input_tokens": 40,
            "output_tokens": 7,
            "cache_read_input_tokens": 60,
            "cache_creation_input_tokens": 20,
        }
    )

    assert usage == Usage(uncached_input_tokens=40, cache_read_tokens=60, cache_write_tokens=20, output_tokens=7)
    assert usage.input_tokens_total == 120


def test_anthropic_usage_with_null_cache_fields() -> None:
    usage = anthropic.parse_usage(
        {"input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": None, "cache_creation_input_tokens": None}
    )

    assert usage == Usage(5, 0, 0, 1)


def test_request_hash_is_stable_and_ignores_metadata() -> None:
    base = chat("hello", system="be brief", temperature=0.0)
    other_caller = chat("hello", system="be brief", temperature=0.0, metadata=CallContext(customer="other", run_id="r"))

    assert compute_request_hash("openai", base) == compute_request_hash("openai", other_caller)
    # Pinned to the canonical form: the costs app compares hashes across
    # releases to find recomputed work, so the encoding must not drift.
    canonical = (
        '{"json":false,"max_tokens":1024,"messages":[["user","hello"]],"model":"gpt-test",'
        '"provider_kind":"openai","system":"be brief","temperature":0.0}'
    )
    assert compute_request_hash("openai", base) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "changed",
    [
        chat("hello!", system="be brief", temperature=0.0),
        chat("hello", system="be long", temperature=0.0),
        chat("hello", system="be brief", temperature=0.5),
        chat("hello", system="be brief", temperature=None),
        chat("hello", system="be brief", temperature=0.0, max_tokens=5),
        chat("hello", system="be brief", temperature=0.0, json_response=True),
        chat("hello", system="be brief", temperature=0.0, model="other"),
    ],
)
def test_request_hash_changes_with_what_determines_the_answer(changed: ChatRequest) -> None:
    base = chat("hello", system="be brief", temperature=0.0)

    assert compute_request_hash("openai", changed) != compute_request_hash("openai", base)


def test_request_hash_depends_on_provider_kind() -> None:
    assert compute_request_hash("openai", chat()) != compute_request_hash("anthropic", chat())


def test_chat_request_accepts_a_list_and_keeps_a_tuple() -> None:
    request = ChatRequest(model="m", messages=[ChatMessage("user", "hi")])  # type: ignore[arg-type]

    assert request.messages == (ChatMessage("user", "hi"),)


def test_retry_config_caps_attempts_at_three() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryConfig(max_attempts=4)


def test_breaker_config_rejects_rates_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="failure_rate_threshold"):
        BreakerConfig(failure_rate_threshold=50)


def test_provider_config_copies_its_mappings_read_only() -> None:
    offline = {"mode": "echo"}
    provider = ProviderConfig(name="sim", kind="offline", offline=offline)
    offline["mode"] = "fail"

    assert provider.offline["mode"] == "echo"
    with pytest.raises(TypeError):
        provider.offline["mode"] = "fail"  # type: ignore[index]
    assert hash(provider) == hash(ProviderConfig(name="sim", kind="offline", offline={"mode": "echo"}))


def test_provider_config_needs_a_base_url_for_http_kinds() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ProviderConfig(name="p", kind="openai")
