"""Budgets: reserve then settle, expiry, reconciliation, alerts, and concurrency on PostgreSQL."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from costs.choices import BudgetMode, BudgetPeriod, BudgetScope, ReservationState
from costs.errors import BudgetExceededError
from costs.models import BudgetCounter, BudgetReservation
from costs.periods import period_for
from costs.pricing import usd_to_nanos
from costs.services.budgets import (
    budget_counter_current,
    budget_holds_release_expired,
    budget_reconcile,
    budget_release,
    budget_reserve,
    budget_settle,
)
from costs.tasks import reconcile_budgets, release_expired_holds
from governance.models import Alert

D = Decimal


def counter_of(budget) -> BudgetCounter:
    return budget_counter_current(budget=budget)


@pytest.mark.django_db
def test_reserve_holds_and_settle_records_the_actual_cost_once(alice_project, make_budget):
    budget = make_budget(alice_project, "10")
    reservation = budget_reserve(project=alice_project, estimate_usd=D("4"))
    c = counter_of(budget)
    assert (c.settled_nanos, c.held_nanos) == (0, usd_to_nanos(4))
    budget_settle(reservation_id=reservation.pk, actual_usd=D("1.5"))
    budget_settle(reservation_id=reservation.pk, actual_usd=D("1.5"))  # idempotent
    budget_settle(reservation_id=reservation.pk, actual_usd=D("9"))  # the first settle wins
    c.refresh_from_db()
    assert (c.settled_nanos, c.held_nanos) == (usd_to_nanos("1.5"), 0)
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.SETTLED
    assert reservation.actual_nanos == usd_to_nanos("1.5")


@pytest.mark.django_db
def test_a_hard_budget_refuses_spend_plus_holds_over_the_limit_with_the_typed_error(alice_project, make_budget):
    make_budget(alice_project, "10", name="monthly")
    budget_reserve(project=alice_project, estimate_usd=D("6"))
    with pytest.raises(BudgetExceededError) as exc:
        budget_reserve(project=alice_project, estimate_usd=D("5"))
    assert exc.value.code == "budget_exceeded"
    assert exc.value.detail["budget"] == "monthly"
    assert exc.value.detail["held_usd"] == "6.000000000"
    budget_reserve(project=alice_project, estimate_usd=D("4"))  # exactly at the limit is admitted


@pytest.mark.django_db
def test_all_or_nothing_across_budgets(alice, make_budget):
    project = alice.project
    wide = make_budget(project, "100")
    narrow = make_budget(project, "1", scope=BudgetScope.FEATURE, scope_value="search")
    with pytest.raises(BudgetExceededError):
        budget_reserve(project=project, estimate_usd=D("2"), feature="search")
    assert counter_of(wide).held_nanos == 0  # the first hold was rolled back
    budget_reserve(project=project, estimate_usd=D("2"), feature="chat")  # the feature budget does not apply
    assert counter_of(wide).held_nanos == usd_to_nanos(2)
    assert counter_of(narrow).held_nanos == 0


@pytest.mark.django_db
def test_scopes_api_key_customer_pipeline(alice, make_budget):
    project, key = alice.project, alice.issued.api_key
    by_key = make_budget(project, "1", scope=BudgetScope.API_KEY, api_key=key)
    by_customer = make_budget(project, "1", scope=BudgetScope.CUSTOMER, scope_value="acme")
    by_pipeline = make_budget(project, "1", scope=BudgetScope.PIPELINE, scope_value="triage")
    budget_reserve(project=project, estimate_usd=D("0.5"), api_key_id=key.pk, customer="acme", pipeline="triage")
    assert [counter_of(b).held_nanos for b in (by_key, by_customer, by_pipeline)] == [usd_to_nanos("0.5")] * 3


@pytest.mark.django_db
def test_soft_budgets_admit_and_alert_once_per_period(alice_project, make_budget):
    make_budget(alice_project, "10", mode=BudgetMode.SOFT, soft_alert_pct=50)
    for _ in range(3):
        r = budget_reserve(project=alice_project, estimate_usd=D("6"))
        budget_settle(reservation_id=r.pk, actual_usd=D("6"))
    assert Alert.objects.filter(kind="budget_soft").count() == 1
    assert Alert.objects.filter(kind="budget_hard").count() == 1
    assert Alert.objects.get(kind="budget_soft").count == 1


@pytest.mark.django_db
def test_hard_alert_once_when_refused(alice_project, make_budget):
    make_budget(alice_project, "1")
    for _ in range(3):
        with pytest.raises(BudgetExceededError):
            budget_reserve(project=alice_project, estimate_usd=D("2"))
    alert = Alert.objects.get(kind="budget_hard")
    assert alert.count == 1
    assert alert.project == alice_project


@pytest.mark.django_db
def test_a_new_period_starts_from_zero_and_alerts_again(alice_project, make_budget):
    budget = make_budget(alice_project, "1", period=BudgetPeriod.DAY)
    day1 = datetime(2025, 3, 1, 12, tzinfo=UTC)
    r = budget_reserve(project=alice_project, estimate_usd=D("1"), now=day1)
    budget_settle(reservation_id=r.pk, actual_usd=D("1"))
    r = budget_reserve(project=alice_project, estimate_usd=D("1"), now=day1 + timedelta(days=1))
    budget_settle(reservation_id=r.pk, actual_usd=D("1"))
    assert BudgetCounter.objects.filter(budget=budget).count() == 2
    assert Alert.objects.filter(kind="budget_hard").count() == 2


def test_periods_are_calendar_aligned_in_the_project_time_zone():
    tz = ZoneInfo("America/New_York")
    at = datetime(2025, 3, 10, 3, 30, tzinfo=UTC)  # still 9 March in New York
    day = period_for(period="day", tz=tz, at=at)
    assert day.key == "2025-03-09"
    assert day.start == datetime(2025, 3, 9, tzinfo=tz)
    assert day.end == datetime(2025, 3, 10, tzinfo=tz)
    assert day.end.astimezone(UTC) - day.start.astimezone(UTC) == timedelta(hours=23)  # DST: a 23-hour day
    assert period_for(period="week", tz=tz, at=at).key == "2025-W10"
    month = period_for(period="month", tz=tz, at=at)
    assert (month.key, month.start, month.end) == (
        "2025-03",
        datetime(2025, 3, 1, tzinfo=tz),
        datetime(2025, 4, 1, tzinfo=tz),
    )
    assert period_for(period="total", tz=tz, at=at).key == "total"


@pytest.mark.django_db
def test_expired_holds_are_released_and_a_late_settle_still_counts(alice_project, make_budget):
    budget = make_budget(alice_project, "10")
    stale = budget_reserve(project=alice_project, estimate_usd=D("8"), ttl_seconds=1,
                           now=datetime.now(UTC) - timedelta(minutes=5))  # fmt: skip
    assert release_expired_holds.delay().get() == 1
    assert budget_holds_release_expired() == 0
    assert counter_of(budget).held_nanos == 0
    fresh = budget_reserve(project=alice_project, estimate_usd=D("8"))
    budget_settle(reservation_id=stale.pk, actual_usd=D("1"))  # late: recorded, and an overrun
    c = counter_of(budget)
    assert (c.settled_nanos, c.held_nanos) == (usd_to_nanos(1), usd_to_nanos(8))
    assert BudgetReservation.objects.get(pk=stale.pk).overrun_reason == "after_expiry"
    budget_release(reservation_id=fresh.pk)
    assert counter_of(budget).held_nanos == 0
    assert BudgetReservation.objects.get(pk=fresh.pk).state == ReservationState.RELEASED


@pytest.mark.django_db
def test_reconcile_recomputes_counters_from_the_ledger_and_open_holds(alice_project, make_budget, make_usage):
    budget = make_budget(alice_project, "10", scope=BudgetScope.FEATURE, scope_value="search")
    now = datetime.now(UTC)
    make_usage(alice_project, cost=usd_to_nanos(2), occurred_at=now, feature="search")
    make_usage(alice_project, cost=usd_to_nanos(5), occurred_at=now, feature="chat")
    make_usage(alice_project, cost=None, occurred_at=now, feature="search")
    budget_reserve(project=alice_project, estimate_usd=D("1"), feature="search")
    BudgetCounter.objects.filter(budget=budget).update(held_nanos=123, settled_nanos=999)  # drifted
    assert reconcile_budgets.delay().get() == 1
    c = counter_of(budget)
    assert (c.settled_nanos, c.held_nanos) == (usd_to_nanos(2), usd_to_nanos(1))
    assert c.reconciled_at is not None
    assert budget_reconcile(budget=budget) == 1


@pytest.mark.django_db
def test_unknown_reservation_is_404(alice_project):
    from governance.errors import NotFoundError

    with pytest.raises(NotFoundError):
        budget_settle(reservation_id="00000000-0000-0000-0000-000000000000", actual_nanos=0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("spend_all", [True, False], ids=["actual=estimate", "actual<estimate"])
def test_fifty_concurrent_spenders_never_overshoot_a_hard_budget(
    postgres_required, alice_project, make_budget, spend_all
):
    budget = make_budget(alice_project, "10")
    counter_of(budget)
    barrier = threading.Barrier(50)
    admitted: list[tuple[Decimal, Decimal]] = []
    refused: list[BaseException] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def spend(seed: int) -> None:
        rng = random.Random(seed)
        estimate = D(rng.randint(20, 80)) / 100  # $0.20 .. $0.80
        actual = estimate if spend_all else estimate * D(rng.randint(50, 100)) / 100
        try:
            barrier.wait()
            try:
                reservation = budget_reserve(project=alice_project, estimate_usd=estimate)
            except BudgetExceededError as exc:
                with lock:
                    refused.append(exc)
                return
            budget_settle(reservation_id=reservation.pk, actual_usd=actual)
            budget_settle(reservation_id=reservation.pk, actual_usd=actual)  # twice: no effect
            with lock:
                admitted.append((estimate, actual))
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not unexpected, unexpected
    assert len(admitted) + len(refused) == 50
    assert refused, "50 spenders of at least $0.20 each cannot all fit in $10 of estimates"
    assert all(isinstance(e, BudgetExceededError) and e.code == "budget_exceeded" for e in refused)
    c = counter_of(budget)
    assert c.held_nanos == 0
    assert c.settled_nanos == sum(usd_to_nanos(a) for _, a in admitted)
    assert c.settled_nanos <= usd_to_nanos(10)
    if spend_all:
        # Every admitted call spent its whole estimate: the budget is full to within one call.
        assert D(10) - D("0.80") < sum(e for e, _ in admitted) <= 10
    assert BudgetReservation.objects.filter(state=ReservationState.SETTLED).count() == len(admitted)
