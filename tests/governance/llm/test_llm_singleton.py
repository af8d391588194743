from __future__ import annotations

from collections.abc import Iterator

import pytest

from governance.llm import LlmClient, MemoryBreakerStore, RedisBreakerStore, configure, get_client
from governance.llm import client as client_module


@pytest.fixture(autouse=True)
def _restore_singleton() -> Iterator[None]:
    saved = client_module._client
    yield
    current = client_module._client
    if current is not None and current is not saved:
        current.close()
    client_module._client = saved


def test_get_client_is_a_lazy_singleton_on_memory_without_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    client_module._client = None

    first = get_client()

    assert first is get_client()
    assert isinstance(first.breakers.store, MemoryBreakerStore)


def test_redis_url_selects_the_redis_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building the store does not connect, so any URL will do here.
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    client_module._client = None

    assert isinstance(get_client().breakers.store, RedisBreakerStore)


def test_configure_replaces_the_client_with_the_given_store() -> None:
    store = MemoryBreakerStore()
    before = get_client()

    configured = configure(breaker_store=store, clock=lambda: 5.0)

    assert isinstance(configured, LlmClient)
    assert configured is get_client() is not before
    assert configured.breakers.store is store
    assert configured.breakers.clock() == 5.0
