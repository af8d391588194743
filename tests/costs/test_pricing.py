"""Pricing buckets and effective prices: cached tokens are never counted twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costs.models import ModelPrice
from costs.pricing import (
    PriceTerms,
    cost_nanos,
    nanos_to_usd,
    usage_from_anthropic,
    usage_from_openai,
    usage_from_total_input,
    usd_to_nanos,
    worst_case_nanos,
)
from costs.services.prices import price_find, price_list_import
from governance.errors import ArbiterError
from governance.llm import Usage


def _find(**kwargs) -> ModelPrice:
    price = price_find(**kwargs)
    assert price is not None
    return price


TERMS = PriceTerms(input=Decimal("2.50"), output=Decimal("10"), cache_read=Decimal("1.25"), cache_write=Decimal("3.75"))


def test_openai_prompt_tokens_include_cached_tokens_so_they_are_split_out():
    usage = usage_from_openai(prompt_tokens=1000, completion_tokens=100, cached_tokens=800)
    assert usage == Usage(uncached_input_tokens=200, cache_read_tokens=800, output_tokens=100)
    # 200 * 2.50 + 800 * 1.25 + 100 * 10 = 500 + 1000 + 1000 = 2500 $/M tokens -> $0.0025
    assert cost_nanos(usage, TERMS) == usd_to_nanos(Decimal("0.0025"))


def test_anthropic_input_tokens_exclude_cache_reads_and_writes_so_they_are_kept():
    usage = usage_from_anthropic(
        input_tokens=200, output_tokens=100, cache_read_input_tokens=800, cache_creation_input_tokens=400
    )
    assert usage == Usage(uncached_input_tokens=200, cache_read_tokens=800, cache_write_tokens=400, output_tokens=100)
    # 500 + 1000 + 400 * 3.75 (1500) + 1000 = 4000 -> $0.004
    assert cost_nanos(usage, TERMS) == usd_to_nanos(Decimal("0.004"))


def test_the_ingest_convention_is_total_input_for_every_provider():
    assert usage_from_total_input(input_tokens=1400, output_tokens=100, cached_tokens=800, cache_write_tokens=400) == (
        usage_from_anthropic(
            input_tokens=200, output_tokens=100, cache_read_input_tokens=800, cache_creation_input_tokens=400
        )
    )
    with pytest.raises(ValueError, match="exceed"):
        usage_from_total_input(input_tokens=10, output_tokens=0, cached_tokens=11)


def test_long_context_tier_bills_the_whole_request_at_the_higher_price():
    terms = PriceTerms(
        input=Decimal(3), output=Decimal(15), cache_read=Decimal("0.3"), cache_write=Decimal("3.75"),
        long_context_threshold=200_000, long_input=Decimal(6), long_output=Decimal("22.5"),
    )  # fmt: skip
    short = Usage(uncached_input_tokens=200_000, output_tokens=1000)
    long = Usage(uncached_input_tokens=150_000, cache_read_tokens=50_001, output_tokens=1000)
    assert cost_nanos(short, terms) == usd_to_nanos(Decimal("0.6") + Decimal("0.015"))
    # Above the threshold: input at 6, output at 22.5, cache read falls back to its base price.
    expected = (Decimal(150_000) * 6 + Decimal(50_001) * Decimal("0.3") + Decimal(1000) * Decimal("22.5")) / 10**6
    assert cost_nanos(long, terms) == usd_to_nanos(expected)


def test_money_round_trips_exactly():
    assert nanos_to_usd(usd_to_nanos(Decimal("0.000000123"))) == Decimal("0.000000123")
    # The worst case prices input at the dearest input bucket (here the cache write, 3.75).
    assert worst_case_nanos(input_tokens=1000, max_output_tokens=500, terms=TERMS) == usd_to_nanos(Decimal("0.00875"))


@pytest.mark.django_db
def test_the_price_in_force_at_call_time_is_used(make_price):
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    make_price(effective_from=t0, input_per_mtok=Decimal(1))
    make_price(effective_from=t0 + timedelta(days=30), input_per_mtok=Decimal(2))
    find = lambda at: _find(project_id=None, provider="openai", model="gpt-4o-mini", at=at)  # noqa: E731
    assert price_find(project_id=None, provider="openai", model="gpt-4o-mini", at=t0 - timedelta(seconds=1)) is None
    assert find(t0 + timedelta(days=29)).input_per_mtok == 1
    assert find(t0 + timedelta(days=30)).input_per_mtok == 2


@pytest.mark.django_db
def test_project_row_wins_then_exact_over_pattern_then_provider_name_over_kind(
    make_price, alice_project, charlie_project
):
    at = datetime(2025, 1, 1, tzinfo=UTC)
    make_price(model="gpt-4o-*", match="pattern", input_per_mtok=Decimal(5))
    assert _find(project_id=None, provider="openai", model="gpt-4o-2024-08-06", at=at).input_per_mtok == 5
    make_price(model="gpt-4o-2024-08-06", input_per_mtok=Decimal(4))
    assert _find(project_id=None, provider="openai", model="gpt-4o-2024-08-06", at=at).input_per_mtok == 4
    make_price(model="gpt-4o-*", match="pattern", input_per_mtok=Decimal(3), project=alice_project)
    alice = _find(project_id=alice_project.pk, provider="openai", model="gpt-4o-2024-08-06", at=at)
    assert alice.input_per_mtok == 3
    charlie = _find(project_id=charlie_project.pk, provider="openai", model="gpt-4o-2024-08-06", at=at)
    assert charlie.input_per_mtok == 4
    # A row for the provider's own name (e.g. an Azure deployment) beats the row for its kind.
    make_price(provider="azure-east", model="gpt-4o-2024-08-06", input_per_mtok=Decimal(7))
    azure = _find(project_id=None, provider="azure-east", provider_kind="openai", model="gpt-4o-2024-08-06", at=at)
    assert azure.input_per_mtok == 7
    assert price_find(project_id=None, provider="openai", model="o3", at=at) is None


@pytest.mark.django_db
def test_price_list_import_json_and_csv_is_idempotent(alice_project):
    content = json.dumps(
        [{"provider": "openai", "model": "gpt-4o", "input_per_mtok": 2.5, "output_per_mtok": "10",
          "cache_read_per_mtok": 1.25, "effective_from": "2024-05-13"}]
    )  # fmt: skip
    assert price_list_import(content=content, fmt="json").created == 1
    again = price_list_import(content=content, fmt="json")
    assert (again.created, again.unchanged) == (0, 1)
    price = _find(project_id=None, provider="openai", model="gpt-4o", at=datetime(2025, 1, 1, tzinfo=UTC))
    assert price.cache_read_per_mtok == Decimal("1.25")  # not the float's binary expansion
    csv = (
        "provider,model,match,input_per_mtok,output_per_mtok,effective_from\n"
        "anthropic,claude-*,pattern,3,15,2024-06-01\n"
    )
    assert price_list_import(content=csv, fmt="csv", project=alice_project).created == 1
    with pytest.raises(ArbiterError) as exc:
        price_list_import(
            content='[{"provider": "openai", "model": "x", "input_per_mtok": "-1", "output_per_mtok": "x"}]', fmt="json"
        )
    assert exc.value.code == "invalid_price_list"
    assert "row 1" in exc.value.detail[0]
