"""Fixtures and factories for the costs tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from costs.choices import BudgetMode, BudgetPeriod, BudgetScope, CostSource, UsageSource
from costs.models import Budget, ModelPrice, Outcome, UsageRecord
from costs.pricing import usd_to_nanos
from costs.services.budgets import budget_save
from costs.services.prices import price_create
from governance.models import Project
from tests.support.fake_provider import fake_provider  # noqa: F401  (re-exported fixture)

PRICES_FROM = datetime(2024, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture
def make_price() -> Callable[..., ModelPrice]:
    def make(provider: str = "openai", model: str = "gpt-4o-mini", **fields: Any) -> ModelPrice:
        fields.setdefault("input_per_mtok", Decimal("1"))
        fields.setdefault("output_per_mtok", Decimal("2"))
        fields.setdefault("effective_from", PRICES_FROM)
        return price_create(provider=provider, model=model, **fields)

    return make


@pytest.fixture
def make_usage() -> Callable[..., UsageRecord]:
    """A ledger row with an explicit cost (in nanos; ``None`` for unknown)."""

    def make(project: Project, *, cost: int | None, occurred_at: datetime, **fields: Any) -> UsageRecord:
        fields.setdefault("provider", "openai")
        fields.setdefault("model", "gpt-4o-mini")
        fields.setdefault("status", "ok")
        fields.setdefault("request_hash", f"h{next(_ids)}")
        record = UsageRecord(
            project=project,
            source=UsageSource.INGEST,
            client_id=f"c{next(_ids)}",
            occurred_at=occurred_at,
            cost_nanos=cost,
            cost_source=CostSource.UNKNOWN if cost is None else CostSource.REPORTED,
            **fields,
        )
        record.save()
        return record

    return make


@pytest.fixture
def make_outcome() -> Callable[..., Outcome]:
    def make(
        project: Project, *, occurred_at: datetime, success: bool = True, value: int = 0, **fields: Any
    ) -> Outcome:
        fields.setdefault("kind", "ticket_resolved")
        return Outcome.objects.create(
            project=project,
            client_id=f"o{next(_ids)}",
            occurred_at=occurred_at,
            success=success,
            value_nanos=value,
            **fields,
        )

    return make


@pytest.fixture
def make_budget() -> Callable[..., Budget]:
    def make(project: Project, limit: str = "10", **fields: Any) -> Budget:
        fields.setdefault("name", f"b{next(_ids)}")
        fields.setdefault("scope", BudgetScope.PROJECT)
        fields.setdefault("period", BudgetPeriod.MONTH)
        fields.setdefault("mode", BudgetMode.HARD)
        return budget_save(budget=Budget(project=project, limit_usd=Decimal(limit), **fields))

    return make


# The hand-computed fixture of the report tests: two past days in a UTC project.
D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


@pytest.fixture
def fixture_rows(alice_project, make_usage, make_outcome):
    p, usd = alice_project, usd_to_nanos
    make_usage(p, cost=usd(1), occurred_at=at(D1, 10), feature="support", customer="acme", trace_id="t1",
               request_hash="h1", pipeline="triage", step="draft")  # fmt: skip
    make_usage(p, cost=usd("0.5"), occurred_at=at(D1, 10, 1), feature="support", customer="acme", trace_id="t1",
               request_hash="h1", attempt=2, pipeline="triage", step="draft")  # fmt: skip
    make_usage(p, cost=usd(2), occurred_at=at(D1, 10, 30), feature="support", customer="acme", trace_id="t2",
               request_hash="h2", status="error", pipeline="triage", step="classify")  # fmt: skip
    make_usage(p, cost=usd(1), occurred_at=at(D1, 10, 40), feature="support", customer="beta", trace_id="t3",
               request_hash="h1")  # fmt: skip
    make_usage(
        p, cost=usd(3), occurred_at=at(D2, 9), feature="search", customer="beta", trace_id="t4", request_hash="h3"
    )
    make_usage(
        p, cost=None, occurred_at=at(D2, 9, 10), feature="search", customer="beta", trace_id="t5", model="mystery"
    )
    make_outcome(p, occurred_at=at(D1, 11), trace_id="t1", value=usd(5), feature="support", customer="acme")
    make_outcome(p, occurred_at=at(D2, 10), trace_id="t4", value=usd(1), feature="search", customer="beta")
    make_outcome(p, occurred_at=at(D1, 11), trace_id="t3", success=False, feature="support", customer="beta")
    return p
