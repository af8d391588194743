from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from governance.llm import ProviderHTTPError, ProviderResponseError, ProviderTimeoutError, RetryConfig
from governance.llm.retry import RetryBudget, backoff_delay, parse_retry_after, plan_retry
from tests.governance.llm.factories import FakeClock

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=4), usegmt=True)}, 4.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=4), usegmt=True)}, 0.0),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling() -> None:
    config = RetryConfig(backoff_base_s=0.5, backoff_max_s=1.5)

    assert [backoff_delay(n, config, lambda: 1.0) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    assert backoff_delay(2, config, lambda: 0.25) == 0.25
    assert backoff_delay(2, config, lambda: 0.0) == 0.0


def test_budget_allows_the_reserve_then_a_ratio_of_requests() -> None:
    clock = FakeClock()
    budget = RetryBudget(RetryConfig(retry_budget_ratio=0.5, retry_budget_min_per_s=0.1), clock=clock)

    assert budget.try_spend()  # the reserve: 0.1/s x 10 s = 1 retry
    assert not budget.try_spend()
    for _ in range(4):
        budget.record_request()
    assert [budget.try_spend() for _ in range(3)] == [True, True, False]  # 1 < 3, 2 < 3, 3 !< 3


def test_budget_window_slides() -> None:
    clock = FakeClock()
    budget = RetryBudget(RetryConfig(retry_budget_ratio=0.0, retry_budget_min_per_s=0.1), clock=clock)
    assert budget.try_spend()
    assert not budget.try_spend()

    clock.advance(10.0)

    assert budget.try_spend()


def test_plan_retry_policy() -> None:
    config = RetryConfig(backoff_base_s=0.5, backoff_max_s=8.0)
    budget = RetryBudget(config, clock=FakeClock())

    def plan(error: ProviderHTTPError | ProviderTimeoutError | ProviderResponseError, attempt: int = 1) -> str:
        return plan_retry(error, attempt=attempt, config=config, budget=budget, rng=lambda: 1.0).reason

    assert plan(ProviderHTTPError("x", status=400)) == "not_retryable"
    assert plan(ProviderResponseError("x")) == "not_retryable"
    assert plan(ProviderHTTPError("x", status=502)) == "retry"
    assert plan(ProviderTimeoutError("x")) == "retry"
    assert plan(ProviderHTTPError("x", status=502), attempt=3) == "attempts_exhausted"
    assert plan(ProviderHTTPError("x", status=429, retry_after_s=30)) == "retry_after_too_long"
    decision = plan_retry(
        ProviderHTTPError("x", status=503, retry_after_s=2.0), attempt=1, config=config, budget=budget
    )
    assert (decision.retry, decision.delay_s) == (True, 2.0)
