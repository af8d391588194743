"""Fixtures for the LLM client tests: fake clock and sleep, clients, breaker stores.

Nothing here needs Django settings or a database. Redis-backed cases run when
``REDIS_URL`` is set (use a scratch database, e.g. ``redis://127.0.0.1:6379/15``),
are skipped otherwise, and fail when ``ARBITER_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from governance import hooks
from governance.llm import (
    PROVIDER_CALL_ATTEMPTED,
    BreakerStore,
    LlmClient,
    MemoryBreakerStore,
    RedisBreakerStore,
    UsageEvent,
)
from governance.llm.providers.offline import reset_offline_counters
from tests.governance.llm.factories import TEST_KEY, TEST_KEY_ENV, FakeClock, SleepRecorder
from tests.support.fake_provider import fake_provider  # noqa: F401  (re-exported fixture)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Receivers connected by apps (the costs ledger) must not see these calls,
    # and the simulator's fail_first_n counters must start at zero.
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)
    reset_offline_counters()
    with hooks.isolated():
        yield
    reset_offline_counters()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def events() -> list[UsageEvent]:
    recorded: list[UsageEvent] = []
    hooks.subscribe(PROVIDER_CALL_ATTEMPTED, recorded.append)
    return recorded


@pytest.fixture
def llm_redis(redis_url: str) -> Iterator[redis.Redis]:
    # redis_url (tests/conftest.py) skips without REDIS_URL, or fails when services are required.
    url = redis_url
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"REDIS_URL={url} is set but Redis does not answer: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_store_factory(llm_redis: redis.Redis) -> Iterator[Callable[..., RedisBreakerStore]]:
    """Builds RedisBreakerStores under a prefix unique to this test; deletes its keys after."""
    prefix = f"arbiter-test:{uuid.uuid4().hex}:"

    def make(**kwargs: Any) -> RedisBreakerStore:
        return RedisBreakerStore(llm_redis, prefix=prefix, **kwargs)

    yield make
    keys = list(llm_redis.scan_iter(match=prefix + "*"))
    if keys:
        llm_redis.delete(*keys)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def breaker_store(request: pytest.FixtureRequest) -> BreakerStore:
    """Each breaker test runs against both stores: they must behave identically."""
    if request.param == "memory":
        return MemoryBreakerStore()
    factory: Callable[..., RedisBreakerStore] = request.getfixturevalue("redis_store_factory")
    return factory()


@pytest.fixture
def make_client(clock: FakeClock, sleeps: SleepRecorder) -> Iterator[Callable[..., LlmClient]]:
    """Clients on the fake clock and sleep; full jitter pinned to its ceiling (rng=1)."""
    made: list[LlmClient] = []

    def make(store: BreakerStore | None = None, **kwargs: Any) -> LlmClient:
        options: dict[str, Any] = {"clock": clock, "monotonic": clock, "sleep": sleeps, "rng": lambda: 1.0}
        options.update(kwargs)
        client = LlmClient(breaker_store=store or MemoryBreakerStore(), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., LlmClient]) -> LlmClient:
    return make_client()
