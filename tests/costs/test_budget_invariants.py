"""The hard-budget invariants, each once found broken (issue 8, item 9), on PostgreSQL with threads.

1. A hold is the worst case: a settle larger than its hold is recorded and alerted as an overrun
   (and the spending protocol never makes one: its hold bounds what the provider can bill).
2. A hold expires only after its call can no longer settle; a settle after the expiry is still
   recorded, and alerted as an overrun.
3. Reconciliation never forgets a settlement (spend settled without a ledger row stays counted).
4. An expired hold stops counting at its expiry: admission ignores it without waiting for the sweeper.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from costs.choices import BudgetPeriod, ReservationState
from costs.errors import BudgetExceededError
from costs.models import BudgetCounter, BudgetReservation
from costs.pricing import usd_to_nanos
from costs.services.budgets import (
    budget_counter_current,
    budget_holds_release_expired,
    budget_reconcile,
    budget_reserve,
    budget_settle,
)
from governance.models import Alert

D = Decimal
CENT2 = D("0.02")


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``n`` threads started together; return what they raised unexpectedly."""
    barrier = threading.Barrier(n)
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return unexpected


def spent(budget) -> int:
    return budget_counter_current(budget=budget).settled_nanos


def on_postgres(test: Callable[..., None]) -> Callable[..., None]:
    """Threads with their own connections: committed data, real row locks."""
    marked = pytest.mark.django_db(transaction=True)(pytest.mark.postgres(test))
    return pytest.mark.usefixtures("postgres_required")(marked)  # type: ignore[no-any-return]


@on_postgres
def test_a_settle_larger_than_its_hold_is_recorded_and_alerted_as_an_overrun(alice_project, make_budget):
    budget = make_budget(alice_project, "1", period=BudgetPeriod.DAY)
    admitted: list[str] = []
    lock = threading.Lock()

    def spend(i: int) -> None:
        try:
            r = budget_reserve(project=alice_project, estimate_usd=CENT2)
        except BudgetExceededError:
            return
        budget_settle(reservation_id=r.pk, actual_usd=D("0.03"))  # more than was held
        with lock:
            admitted.append(str(r.pk))

    assert not run_threads(50, spend)
    overruns = BudgetReservation.objects.filter(pk__in=admitted)
    assert {(r.overrun_nanos, r.overrun_reason) for r in overruns} == {(usd_to_nanos("0.01"), "larger_than_hold")}
    # The spend is the truth (the provider billed it): recorded in full, never capped away...
    assert spent(budget) == usd_to_nanos("0.03") * len(admitted)
    # ...and every cent beyond the limit is an overrun someone was told about.
    assert spent(budget) - usd_to_nanos(1) <= usd_to_nanos("0.01") * len(admitted)
    alert = Alert.objects.get(kind="budget_overrun")
    assert alert.count == len(admitted)
    assert alert.severity == "critical"
    # Once over, nothing more is admitted.
    with pytest.raises(BudgetExceededError):
        budget_reserve(project=alice_project, estimate_usd=D("0.000001"))


@on_postgres
def test_a_late_settle_after_its_hold_expired_and_was_reused_is_an_overrun(alice_project, make_budget):
    budget = make_budget(alice_project, "1", period=BudgetPeriod.DAY)
    now = datetime.now(UTC)
    stale = [
        budget_reserve(project=alice_project, estimate_usd=CENT2, ttl_seconds=60, now=now - timedelta(minutes=5))
        for _ in range(50)
    ]  # $1.00 held by 50 calls whose holds have expired
    fresh: list[str] = []
    lock = threading.Lock()

    def reserve(i: int) -> None:
        r = budget_reserve(project=alice_project, estimate_usd=CENT2)  # refused before the fix
        with lock:
            fresh.append(str(r.pk))

    def settle_late(i: int) -> None:
        budget_settle(reservation_id=stale[i].pk, actual_usd=CENT2)

    assert not run_threads(50, reserve)
    assert len(fresh) == 50  # the expired holds stopped counting at their expiry, no sweeper ran
    assert not run_threads(50, settle_late)
    late = BudgetReservation.objects.filter(pk__in=[s.pk for s in stale])
    assert {(r.state, r.overrun_nanos, r.overrun_reason) for r in late} == {
        (ReservationState.SETTLED, usd_to_nanos(CENT2), "after_expiry")
    }
    counter = budget_counter_current(budget=budget)
    assert counter.settled_nanos == usd_to_nanos(1)  # every late cent recorded
    assert counter.held_nanos == usd_to_nanos(1)  # the fresh holds, and only them
    assert Alert.objects.get(kind="budget_overrun").count == 50


@on_postgres
def test_reconcile_never_forgets_a_settlement_without_a_ledger_row(alice_project, make_budget):
    budget = make_budget(alice_project, "1", period=BudgetPeriod.DAY)
    stop = threading.Event()

    def spend_or_reconcile(i: int) -> None:
        if i == 0:
            while not stop.is_set():
                budget_reconcile(budget=budget)
            return
        for _ in range(5):
            try:
                r = budget_reserve(project=alice_project, estimate_usd=CENT2)
            except BudgetExceededError:
                continue
            budget_settle(reservation_id=r.pk, actual_usd=CENT2)  # spend reported without a ledger row
        if i == 1:
            stop.set()

    errors = run_threads(51, spend_or_reconcile)
    stop.set()
    assert not errors
    budget_reconcile(budget=budget)
    settled = sum(r.actual_nanos or 0 for r in BudgetReservation.objects.filter(state=ReservationState.SETTLED))
    assert spent(budget) == settled <= usd_to_nanos(1)
    # The day is spent: reconciling does not make room for another dollar.
    budget_reconcile(budget=budget)
    assert spent(budget) == settled
    if settled == usd_to_nanos(1):
        with pytest.raises(BudgetExceededError):
            budget_reserve(project=alice_project, estimate_usd=CENT2)


@pytest.mark.django_db
def test_an_expired_hold_stops_refusing_at_its_expiry_without_the_sweeper(alice_project, make_budget):
    budget = make_budget(alice_project, "1")
    stale = budget_reserve(
        project=alice_project, estimate_usd=D(1), ttl_seconds=60, now=datetime.now(UTC) - timedelta(minutes=5)
    )
    fresh = budget_reserve(project=alice_project, estimate_usd=D("0.5"))  # no sweeper has run
    assert BudgetReservation.objects.get(pk=stale.pk).state == ReservationState.EXPIRED
    assert budget_counter_current(budget=budget).held_nanos == usd_to_nanos("0.5")
    assert budget_holds_release_expired() == 0  # already released, exactly once
    budget_settle(reservation_id=fresh.pk, actual_usd=D("0.5"))
    assert budget_counter_current(budget=budget).held_nanos == 0


@pytest.mark.django_db
def test_reconcile_releases_expired_holds_and_keeps_settlements(alice_project, make_budget, make_usage):
    budget = make_budget(alice_project, "10")
    settled = budget_reserve(project=alice_project, estimate_usd=D(3))
    budget_settle(reservation_id=settled.pk, actual_usd=D(2))  # no ledger row: reported spend
    budget_reserve(project=alice_project, estimate_usd=D(4), ttl_seconds=1, now=datetime.now(UTC) - timedelta(hours=1))
    make_usage(alice_project, cost=usd_to_nanos(1), occurred_at=datetime.now(UTC))  # spend outside any reservation
    BudgetCounter.objects.filter(budget=budget).update(settled_nanos=0, held_nanos=0)  # drifted below the truth
    budget_reconcile(budget=budget)
    counter = budget_counter_current(budget=budget)
    assert (counter.settled_nanos, counter.held_nanos) == (usd_to_nanos(3), 0)


@pytest.mark.django_db
def test_reconcile_counts_each_ledger_row_once(alice_project, make_budget, make_usage):
    """Rows of a settled reservation count through its settlement; rows of one whose spender died
    (expired, never settled) through the ledger; rows of an open one through its hold."""
    budget = make_budget(alice_project, "10")
    now = datetime.now(UTC)
    done = budget_reserve(project=alice_project, estimate_usd=D(2))
    make_usage(alice_project, cost=usd_to_nanos("1.5"), occurred_at=now, reservation_id=done.pk)
    budget_settle(reservation_id=done.pk, actual_usd=D("1.5"))
    died = budget_reserve(project=alice_project, estimate_usd=D(1), ttl_seconds=1, now=now - timedelta(hours=1))
    make_usage(alice_project, cost=usd_to_nanos("0.25"), occurred_at=now, reservation_id=died.pk)
    running = budget_reserve(project=alice_project, estimate_usd=D(1))
    make_usage(alice_project, cost=usd_to_nanos("0.5"), occurred_at=now, reservation_id=running.pk)
    budget_reconcile(budget=budget)
    counter = budget_counter_current(budget=budget)
    assert (counter.settled_nanos, counter.held_nanos) == (usd_to_nanos("1.75"), usd_to_nanos(1))
    budget_settle(reservation_id=running.pk, actual_usd=D("0.5"))
    budget_reconcile(budget=budget)
    assert budget_counter_current(budget=budget).settled_nanos == usd_to_nanos("2.25")
