"""The ledger is written for every LLM-client call (offline and over real HTTP), priced once per bucket."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costs.models import UsageRecord
from costs.pricing import usd_to_nanos
from governance.llm import CallContext, ChatMessage, ChatRequest, LlmClient, ProviderConfig, RetryConfig
from governance.llm.providers.offline import approx_tokens
from tests.support.fake_provider import anthropic_reply, openai_reply

pytestmark = pytest.mark.django_db
KEY_ENV = "ARBITER_PROVIDER_COSTS_TEST_KEY"


@pytest.fixture
def llm(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    client = LlmClient(sleep=lambda s: None)
    yield client
    client.close()


def _request(model: str, project_id: int, **ctx) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(ChatMessage("user", "hello there"),),
        max_tokens=50,
        metadata=CallContext(project_id=project_id, trace_id="t" * 32, **ctx),
    )


def test_an_offline_call_is_recorded_and_priced_as_simulated(llm, alice, make_price):
    make_price(provider="offline", model="sim-small", input_per_mtok=Decimal("0.10"), output_per_mtok=Decimal("0.40"))
    result = llm.complete(
        ProviderConfig(name="offline", kind="offline"),
        _request("sim-small", alice.project.pk, feature="support", customer="acme", run_id="r1", step="draft",
                 pipeline="triage", api_key_id=alice.issued.api_key.pk),
    )  # fmt: skip
    record = UsageRecord.objects.get()
    assert (record.project, record.feature, record.customer, record.run_id, record.step) == (
        alice.project,
        "support",
        "acme",
        "r1",
        "draft",
    )
    assert record.api_key_id == alice.issued.api_key.pk
    assert record.pipeline == "triage"
    assert record.simulated
    assert record.status == "ok"
    assert record.attempt == 1
    assert record.request_hash == result.request_hash
    assert len(record.request_hash) == 64
    prompt_tokens = approx_tokens("\nhello there")
    expected = (
        Decimal(prompt_tokens) * Decimal("0.10") + Decimal(result.usage.output_tokens) * Decimal("0.40")
    ) / 10**6
    assert record.uncached_input_tokens == prompt_tokens
    assert record.cost_nanos == usd_to_nanos(expected)
    assert record.cost_source == "priced"


def test_a_model_without_a_price_is_recorded_with_unknown_cost_not_zero(llm, alice):
    llm.complete(ProviderConfig(name="offline", kind="offline"), _request("sim-unpriced", alice.project.pk))
    record = UsageRecord.objects.get()
    assert record.cost_nanos is None
    assert record.cost_source == "unknown"


def test_openai_cached_tokens_are_not_double_counted_over_http(llm, alice, make_price, fake_provider):
    make_price(provider="openai", model="gpt-4o", input_per_mtok=Decimal("2.5"), output_per_mtok=Decimal("10"),
               cache_read_per_mtok=Decimal("1.25"))  # fmt: skip
    fake_provider.enqueue(
        json=openai_reply(model="gpt-4o-2024-08-06", prompt_tokens=1000, completion_tokens=100, cached_tokens=800)
    )
    provider = ProviderConfig(
        name="openai-main", kind="openai", base_url=fake_provider.openai_base_url, api_key_env=KEY_ENV
    )
    llm.complete(provider, _request("gpt-4o", alice.project.pk))
    record = UsageRecord.objects.get()
    assert (record.uncached_input_tokens, record.cache_read_tokens, record.output_tokens) == (200, 800, 100)
    assert record.provider == "openai-main"
    assert record.provider_kind == "openai"
    assert record.cost_nanos == usd_to_nanos(Decimal("0.0025"))  # not 1000 * 2.5 + 800 * 1.25


def test_anthropic_cache_reads_and_writes_are_priced_once_over_http(llm, alice, make_price, fake_provider):
    make_price(
        provider="anthropic", model="claude-sonnet-4-*", match="pattern", input_per_mtok=Decimal("3"),
        output_per_mtok=Decimal("15"), cache_read_per_mtok=Decimal("0.30"), cache_write_per_mtok=Decimal("3.75"),
    )  # fmt: skip
    fake_provider.enqueue(
        json=anthropic_reply(
            input_tokens=200, output_tokens=100, cache_read_input_tokens=800, cache_creation_input_tokens=400
        )
    )
    provider = ProviderConfig(name="claude", kind="anthropic", base_url=fake_provider.url, api_key_env=KEY_ENV)
    llm.complete(provider, _request("claude-sonnet-4-20250514", alice.project.pk))
    record = UsageRecord.objects.get()
    assert (record.uncached_input_tokens, record.cache_read_tokens, record.cache_write_tokens) == (200, 800, 400)
    # 200*3 + 800*0.30 + 400*3.75 + 100*15 = 600 + 240 + 1500 + 1500 = 3840 $/M
    assert record.cost_nanos == usd_to_nanos(Decimal("0.00384"))


def test_every_attempt_is_a_row_with_its_status(llm, alice, make_price, fake_provider):
    make_price(provider="openai", model="gpt-4o")
    fake_provider.enqueue(status=503)
    fake_provider.enqueue(json=openai_reply(prompt_tokens=10, completion_tokens=5))
    provider = ProviderConfig(
        name="openai-main", kind="openai", base_url=fake_provider.openai_base_url, api_key_env=KEY_ENV,
        retry=RetryConfig(max_attempts=2, backoff_base_s=0, backoff_max_s=0),
    )  # fmt: skip
    llm.complete(provider, _request("gpt-4o", alice.project.pk))
    rows = list(UsageRecord.objects.order_by("attempt").values_list("attempt", "status"))
    assert rows == [(1, "retry"), (2, "ok")]


def test_ledger_rows_are_append_only(llm, alice):
    llm.complete(ProviderConfig(name="offline", kind="offline"), _request("sim-small", alice.project.pk))
    record = UsageRecord.objects.get()
    record.output_tokens = 0
    with pytest.raises(ValueError, match="append-only"):
        record.save()
