from __future__ import annotations

import pytest

from governance.choices import ProviderKind
from governance.llm import MemoryBreakerStore, configure
from governance.models import ModelEndpoint, Provider
from guardrails.engine import clear_cache


@pytest.fixture(autouse=True)
def _fresh_client_and_cache():
    # Each test gets its own breakers and compiled-policy cache, so state never leaks between tests.
    configure(breaker_store=MemoryBreakerStore(), sleep=lambda s: None)
    clear_cache()
    yield
    configure()


@pytest.fixture
def classifier_provider(db, fake_provider):
    return Provider.objects.create(
        name="fake-classifier",
        kind=ProviderKind.OPENAI,
        base_url=fake_provider.url,
        max_attempts=1,
        read_timeout_s=0.3,
        breaker_window_size=2,
        breaker_minimum_calls=2,
        breaker_failure_rate=0.5,
        breaker_wait_in_open_s=300,
    )


@pytest.fixture
def judge_provider(db, fake_provider):
    provider = Provider.objects.create(
        name="fake-judge", kind=ProviderKind.OPENAI, base_url=fake_provider.openai_base_url, max_attempts=1,
        read_timeout_s=0.3,
    )  # fmt: skip
    ModelEndpoint.objects.create(provider=provider, name="judge-1")
    return provider
