"""Outbound quotas: shared by every caller, waiting a bounded time or failing fast, fed by 429s."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from django.db import connection

from governance.models import DecisionEnvelope, Provider
from governance.ratelimit import RateLimiter, RedisRateLimitBackend, redis_client
from orchestration.errors import CallRateLimited, GovernedCallError
from orchestration.models import EndpointQuota
from orchestration.services import governed_call
from orchestration.services.aliases import alias_resolve, endpoint_quota_save
from orchestration.services.quotas import quota_acquire, quota_limiter_set
from tests.support.fake_provider import openai_reply

USER = [{"role": "user", "content": "hello"}]


def call(project, **kwargs):
    return governed_call(project=project, alias="chat", decision_type="llm_call", messages=USER, **kwargs)


@pytest.mark.django_db
def test_fail_fast_is_rate_limited_with_retry_after_and_one_envelope(endpoints, make_alias):
    make_alias(spec=[("a", 1, 1)])
    # 3 per minute less the 5% headroom: a bucket of 2.
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, requests_per_minute=3))
    call(endpoints.project, max_quota_wait_s=0)
    call(endpoints.project, max_quota_wait_s=0)
    with pytest.raises(CallRateLimited) as excinfo:
        call(endpoints.project, max_quota_wait_s=0)
    assert excinfo.value.code == "rate_limited"
    assert 0 < excinfo.value.retry_after_s <= 30
    assert endpoints.fake_a.request_count == 2
    envelope = DecisionEnvelope.objects.get(pk=str(excinfo.value.envelope_id))
    assert envelope.outcome == "error"
    assert envelope.attributes["call.attempts"] == [{"endpoint": "fake-a:model-a", "outcome": "rate_limited"}]


@pytest.mark.django_db
def test_a_burst_waits_a_bounded_time_for_capacity(endpoints, make_alias):
    make_alias(spec=[("a", 1, 1)], max_tokens=50)
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, tokens_per_minute=6_000, max_wait_s=2.0))
    # Take the whole token bucket (6,000 less the 5% headroom) in one request; the next call needs
    # its input bound plus max_tokens (~65 tokens): at 100 tokens a second it waits ~0.6 s.
    endpoint = alias_resolve(project=endpoints.project, name="chat").endpoints[0]
    assert quota_acquire(endpoint=endpoint, tokens=5_700, max_wait_s=0).admitted
    started = time.monotonic()
    result = call(endpoints.project, max_quota_wait_s=2.0)
    waited = time.monotonic() - started
    assert result.text
    assert result.timings_ms["quota"] >= 200  # it waited for capacity, inside the call
    assert waited < 2.0 + 1.0


@pytest.mark.django_db
def test_a_full_endpoint_falls_back_to_the_next(endpoints, make_alias):
    make_alias()
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, requests_per_minute=1))
    assert call(endpoints.project, max_quota_wait_s=0).served_by.provider == "fake-a"
    assert call(endpoints.project, max_quota_wait_s=0).served_by.provider == "fake-b"


@pytest.mark.django_db
def test_a_providers_429_pauses_the_endpoint_for_every_caller(endpoints, make_alias):
    make_alias(spec=[("a", 1, 1)])
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, requests_per_minute=1000))
    endpoints.fake_a.enqueue(status=429, headers={"Retry-After": "30"})
    with pytest.raises(GovernedCallError):
        call(endpoints.project, max_quota_wait_s=0)
    with pytest.raises(CallRateLimited) as excinfo:
        call(endpoints.project, max_quota_wait_s=0)
    assert excinfo.value.retry_after_s > 20
    assert endpoints.fake_a.request_count == 1  # the paused endpoint was not asked again


@pytest.mark.django_db
def test_a_call_larger_than_the_token_quota_can_never_run_there(endpoints, make_alias):
    make_alias(max_tokens=5000)
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, tokens_per_minute=1000))
    result = call(endpoints.project, max_quota_wait_s=0)
    assert result.served_by.provider == "fake-b"
    envelope = DecisionEnvelope.objects.get(pk=result.envelope_id)
    assert envelope.attributes["call.attempts"][0]["outcome"] == "too_large_for_quota"


@pytest.mark.django_db
def test_with_redis_unreachable_a_hard_quota_still_limits(endpoints, make_alias):
    # Nothing listens on port 1: the limiter decides locally with this process's share of the quota.
    backend = RedisRateLimitBackend(redis_client("redis://127.0.0.1:1/0", timeout_s=0.1), local_share=0.5)
    quota_limiter_set(RateLimiter(backend, prefix=f"test:{uuid.uuid4().hex}:"))
    make_alias(spec=[("a", 1, 1)])
    # 10 per minute less the headroom is a bucket of 9; this process may use half of it: 4.
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, requests_per_minute=10))
    outcomes = []
    for _ in range(6):
        try:
            call(endpoints.project, max_quota_wait_s=0)
            outcomes.append("ok")
        except CallRateLimited:
            outcomes.append("rate_limited")
    assert outcomes == ["ok"] * 4 + ["rate_limited"] * 2
    assert endpoints.fake_a.request_count == 4


def test_the_fake_providers_own_limit_is_real(fake_provider):
    # The control for the concurrency test below: past its bucket the fake answers 429.
    fake_provider.enforce_rate_limit(requests=5, per_s=60)
    with httpx.Client() as client:
        statuses = [client.post(fake_provider.openai_base_url + "/chat/completions", json={}).status_code
                    for _ in range(7)]  # fmt: skip
    assert statuses == [200] * 5 + [429] * 2
    assert fake_provider.throttled_count == 2


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_callers_never_exceed_60_requests_per_minute(
    endpoints, make_alias, redis_url, postgres_required, monkeypatch
):
    quota_limiter_set(RateLimiter(RedisRateLimitBackend(redis_client(redis_url)), prefix=f"test:{uuid.uuid4().hex}:"))
    # A breaker that does not trip on a stray failure: this test is about the quota alone.
    Provider.objects.filter(pk=endpoints.a.provider_id).update(breaker_window_size=100, breaker_minimum_calls=100)
    make_alias(spec=[("a", 1, 1)])
    endpoint_quota_save(quota=EndpointQuota(endpoint=endpoints.a, requests_per_minute=60))
    # The fake enforces the same quota as a provider would (a token bucket of 60 per minute):
    # every request over it would come back as a 429.
    endpoints.fake_a.enforce_rate_limit(requests=60, per_s=60)
    endpoints.fake_a.enqueue(json=openai_reply("ok"), times=200)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(20)

    def caller() -> None:
        try:
            start.wait()
            for _ in range(5):
                try:
                    call(endpoints.project, max_quota_wait_s=0.2)
                    outcome = "ok"
                except GovernedCallError as exc:
                    outcome = exc.code
                with lock:
                    outcomes[outcome] += 1
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=caller) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    assert sum(outcomes.values()) == 100
    assert set(outcomes) <= {"ok", "rate_limited"}
    assert endpoints.fake_a.throttled_count == 0  # never over the provider's quota: no 429 collected
    # Our bucket (60 less the 5% headroom, refilled at one per second) admits at most 57 + elapsed.
    assert outcomes["ok"] == endpoints.fake_a.request_count
    assert 57 <= endpoints.fake_a.request_count <= 57 + math.ceil(elapsed)
    assert outcomes["rate_limited"] == 100 - outcomes["ok"]
    assert DecisionEnvelope.objects.filter(project=endpoints.project).count() == 100
