"""The costs app's periodic tasks: thin, idempotent, safe to deliver twice."""

from __future__ import annotations

from celery import shared_task

from costs.services.budgets import budget_holds_release_expired, budget_reconcile
from costs.services.rollups import rollup_daily as rollup_daily_service
from costs.services.rollups import rollup_recent as rollup_recent_service


@shared_task(name="costs.rollup_recent", acks_late=True, reject_on_worker_lost=True)
def rollup_recent() -> int:
    """Advance today's and yesterday's rollup watermarks and rebuild days that late data made stale."""
    return rollup_recent_service()


@shared_task(name="costs.rollup_daily", acks_late=True, reject_on_worker_lost=True)
def rollup_daily(days_back: int = 3) -> int:
    """Rebuild the rollups of the last ``days_back`` complete days of every project."""
    return rollup_daily_service(days_back=days_back)


@shared_task(name="costs.release_expired_holds", acks_late=True, reject_on_worker_lost=True)
def release_expired_holds() -> int:
    return budget_holds_release_expired()


@shared_task(name="costs.reconcile_budgets", acks_late=True, reject_on_worker_lost=True)
def reconcile_budgets() -> int:
    return budget_reconcile()
