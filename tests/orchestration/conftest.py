"""Fixtures for the governed call: fake providers over real HTTP, aliases, prices, the envelope schema check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from costs.models import UsageRecord
from costs.pricing import usd_to_nanos
from costs.services.prices import price_create
from governance.choices import ProviderKind
from governance.llm import MemoryBreakerStore, configure
from governance.models import DecisionEnvelope, ModelEndpoint, Project, Provider
from guardrails.engine import clear_cache
from orchestration.models import ModelAlias
from orchestration.services.aliases import alias_create
from orchestration.services.quotas import quota_limiter_set
from tests.support.envelopes import assert_envelopes_conform
from tests.support.fake_provider import FakeProviderServer

KEY_ENV = "ARBITER_PROVIDER_TEST_KEY"
PRICES = {"input": Decimal("1"), "output": Decimal("2")}  # USD per million tokens


@pytest.fixture(autouse=True)
def _fresh_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Own breakers, no backoff sleeps, fresh compiled-policy cache and an in-memory quota limiter
    # per test (the Redis one is used by the tests that ask for it).
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-secret")
    configure(breaker_store=MemoryBreakerStore(), sleep=lambda s: None)
    clear_cache()
    quota_limiter_set(None)
    yield
    quota_limiter_set(None)
    configure()


@pytest.fixture
def second_provider() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@dataclass
class Endpoints:
    """Two fake providers (A and B) each with one priced model."""

    project: Project
    a: ModelEndpoint
    b: ModelEndpoint
    fake_a: FakeProviderServer
    fake_b: FakeProviderServer


def make_provider(name: str, server: FakeProviderServer, **fields: Any) -> Provider:
    fields.setdefault("max_attempts", 1)
    fields.setdefault("read_timeout_s", 2.0)
    fields.setdefault("breaker_window_size", 2)
    fields.setdefault("breaker_minimum_calls", 2)
    fields.setdefault("breaker_wait_in_open_s", 300)
    return Provider.objects.create(
        name=name, kind=ProviderKind.OPENAI, base_url=server.openai_base_url, api_key_env=KEY_ENV, **fields
    )


@pytest.fixture
def endpoints(alice_project, fake_provider, second_provider) -> Endpoints:
    a = ModelEndpoint.objects.create(provider=make_provider("fake-a", fake_provider), name="model-a")
    b = ModelEndpoint.objects.create(provider=make_provider("fake-b", second_provider), name="model-b")
    for endpoint in (a, b):
        price_create(
            provider=endpoint.provider.name,
            model=endpoint.name,
            input_per_mtok=PRICES["input"],
            output_per_mtok=PRICES["output"],
        )
    return Endpoints(alice_project, a, b, fake_provider, second_provider)


@pytest.fixture
def make_alias(endpoints) -> Callable[..., ModelAlias]:
    def make(name: str = "chat", spec: list[tuple[str, int, int]] | None = None, **kwargs: Any) -> ModelAlias:
        pick = {"a": endpoints.a, "b": endpoints.b}
        spec = spec or [("a", 1, 1), ("b", 2, 1)]
        return alias_create(
            project=endpoints.project,
            name=name,
            endpoints=[(pick[key], priority, weight) for key, priority, weight in spec],
            **kwargs,
        )

    return make


def expected_cost_usd(prompt_tokens: int, completion_tokens: int) -> Decimal:
    return (prompt_tokens * PRICES["input"] + completion_tokens * PRICES["output"]) / Decimal(1_000_000)


def ledger_for(envelope: DecisionEnvelope) -> list[UsageRecord]:
    reservation = envelope.attributes.get("call.reservation_id")
    return list(UsageRecord.objects.filter(reservation_id=reservation).order_by("attempt", "pk"))


def assert_envelope_conforms(envelope: DecisionEnvelope) -> None:
    """What the API serves for this envelope validates against the published JSON Schema."""
    assert_envelopes_conform(DecisionEnvelope.objects.filter(pk=envelope.pk), expect_kinds=[envelope.decision_type])


def nanos(usd: Decimal) -> int:
    return usd_to_nanos(usd)
