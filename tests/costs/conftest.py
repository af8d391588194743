"""Fixtures and factories for the costs tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from costs.choices import BudgetMode, BudgetPeriod, BudgetScope, CostSource, UsageSource
from costs.models import Budget, ModelPrice, Outcome, UsageRecord
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
