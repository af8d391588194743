"""Budgets: reserve, then settle.

A spender reserves its worst-case cost before a call and settles the actual cost after it.
The reservation places a hold on the current period's counter of every budget that applies;
each hold is admitted by one conditional UPDATE of that counter row
(``settled + held + estimate <= limit``), so concurrent spenders can never overshoot a hard
limit, and counters are always updated in primary-key order so two reservations touching the
same budgets cannot deadlock. Holds expire (``costs.release_expired_holds``) so a spender that
dies leaks nothing past the expiry, and ``costs.reconcile_budgets`` recomputes the counters
from the ledger and the open holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NoReturn
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from costs.choices import BudgetMode, BudgetScope, ReservationState
from costs.errors import BudgetExceededError, PriceUnknownError
from costs.models import Budget, BudgetCounter, BudgetHold, BudgetReservation, UsageRecord
from costs.periods import period_for
from costs.pricing import nanos_to_usd, usd_to_nanos, worst_case_nanos
from costs.services.prices import price_find
from governance.choices import AlertKind, AlertSeverity
from governance.errors import NotFoundError
from governance.models import Project
from governance.services.alerts import alert_raise

log = structlog.get_logger(__name__)

DEFAULT_HOLD_TTL_S = 600


def budgets_applicable(
    *, project: Project, api_key_id: int | None = None, feature: str = "", customer: str = "", pipeline: str = ""
) -> list[Budget]:
    """The enabled budgets a call with these tags spends against, in primary-key order."""
    match = Q(scope=BudgetScope.PROJECT)
    if api_key_id:
        match |= Q(scope=BudgetScope.API_KEY, api_key_id=api_key_id)
    for scope, value in (
        (BudgetScope.FEATURE, feature),
        (BudgetScope.CUSTOMER, customer),
        (BudgetScope.PIPELINE, pipeline),
    ):
        if value:
            match |= Q(scope=scope, scope_value=value)
    return list(Budget.objects.filter(match, project=project, enabled=True).order_by("pk"))


def budget_counter_current(*, budget: Budget, at: datetime | None = None) -> BudgetCounter:
    """The counter of the budget's period containing ``at``, created on first use."""
    tz = ZoneInfo(budget.project.time_zone)
    period = period_for(period=budget.period, tz=tz, at=at or timezone.now())
    counter, _ = BudgetCounter.objects.get_or_create(
        budget=budget,
        period_key=period.key,
        defaults={
            "period_start": period.start,
            "period_end": period.end,
            "limit_nanos": usd_to_nanos(budget.limit_usd),
        },
    )
    return counter


def budget_save(*, budget: Budget) -> Budget:
    """Create or change a budget; the limit of its open periods follows at once."""
    budget.full_clean()
    with transaction.atomic():
        budget.save()
        now = timezone.now()
        BudgetCounter.objects.filter(budget=budget).filter(Q(period_end__isnull=True) | Q(period_end__gt=now)).update(
            limit_nanos=usd_to_nanos(budget.limit_usd)
        )
    return budget


def budget_estimate_nanos(
    *, project: Project, provider: str, model: str, input_tokens: int, max_output_tokens: int, provider_kind: str = ""
) -> int:
    """Worst-case cost of a call: input tokens * input price + max output tokens * output price.

    Raises ``PriceUnknownError`` (``price_unknown``) when the model has no price.
    """
    price = price_find(project_id=project.pk, provider=provider, provider_kind=provider_kind, model=model)
    if price is None:
        raise PriceUnknownError(f"No price for {provider}/{model}; cannot estimate a budget hold.")
    return worst_case_nanos(input_tokens=input_tokens, max_output_tokens=max_output_tokens, terms=price.terms())


class _Refused(Exception):
    def __init__(self, budget: Budget, counter: BudgetCounter) -> None:
        self.budget, self.counter = budget, counter


def budget_reserve(
    *,
    project: Project,
    estimate_nanos: int | None = None,
    estimate_usd: Decimal | None = None,
    api_key_id: int | None = None,
    feature: str = "",
    customer: str = "",
    pipeline: str = "",
    trace_id: str = "",
    run_id: str = "",
    purpose: str = "",
    ttl_seconds: int = DEFAULT_HOLD_TTL_S,
    now: datetime | None = None,
    budgets: list[Budget] | None = None,
) -> BudgetReservation:
    """Hold ``estimate`` against every applicable budget, or refuse with ``BudgetExceededError``.

    All holds or none: a refusal by any hard budget rolls back the holds already placed. Soft
    budgets always admit (and alert). The reservation must be settled (``budget_settle``)
    within ``ttl_seconds`` or its holds are released by ``costs.release_expired_holds``.
    """
    if (estimate_nanos is None) == (estimate_usd is None):
        raise ValueError("give exactly one of estimate_nanos and estimate_usd")
    estimate = estimate_nanos if estimate_nanos is not None else usd_to_nanos(estimate_usd or 0)
    if estimate < 0:
        raise ValueError("a budget estimate cannot be negative")
    now = now or timezone.now()
    if budgets is None:
        budgets = budgets_applicable(
            project=project, api_key_id=api_key_id, feature=feature, customer=customer, pipeline=pipeline
        )
    for budget in budgets:
        budget.project = project  # the counter needs the time zone; saves a query per budget
    pairs = sorted(((b, budget_counter_current(budget=b, at=now)) for b in budgets), key=lambda p: p[1].pk)
    try:
        with transaction.atomic():
            reservation = BudgetReservation.objects.create(
                project=project,
                estimate_nanos=estimate,
                api_key_id=api_key_id,
                feature=feature,
                customer=customer,
                pipeline=pipeline,
                trace_id=trace_id[:64],
                run_id=run_id[:64],
                purpose=purpose[:200],
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
            BudgetHold.objects.bulk_create(
                [BudgetHold(reservation=reservation, counter=counter, amount_nanos=estimate) for _, counter in pairs]
            )
            # Counters last: their row locks are then held only from these UPDATEs to the commit.
            for budget, counter in pairs:
                # The admission check and the hold are one statement: PostgreSQL re-checks the
                # condition on the latest row version after waiting for a concurrent writer.
                target = BudgetCounter.objects.filter(pk=counter.pk)
                if budget.mode == BudgetMode.HARD:
                    target = target.filter(settled_nanos__lte=F("limit_nanos") - F("held_nanos") - Value(estimate))
                if not target.update(held_nanos=F("held_nanos") + estimate):
                    raise _Refused(budget, counter)
    except _Refused as refused:
        _refuse(refused.budget, refused.counter, estimate)
    return reservation


def _refuse(budget: Budget, counter: BudgetCounter, estimate: int) -> NoReturn:
    counter.refresh_from_db()
    detail = {
        "budget": budget.name,
        "budget_id": budget.pk,
        "scope": budget.scope_label,
        "period": counter.period_key,
        "limit_usd": str(nanos_to_usd(counter.limit_nanos)),
        "settled_usd": str(nanos_to_usd(counter.settled_nanos)),
        "held_usd": str(nanos_to_usd(counter.held_nanos)),
        "estimate_usd": str(nanos_to_usd(estimate)),
    }
    log.info("budget.refused", **detail)
    _alert_once(budget, counter, hard=True, reason="refused a reservation")
    raise BudgetExceededError(
        f"Budget {budget.name!r} ({counter.period_key}) cannot admit ${nanos_to_usd(estimate)}: "
        f"${nanos_to_usd(counter.settled_nanos)} spent and ${nanos_to_usd(counter.held_nanos)} held "
        f"of ${nanos_to_usd(counter.limit_nanos)}.",
        detail=detail,
    )


def budget_settle(
    *, reservation_id: uuid.UUID | str, actual_nanos: int | None = None, actual_usd: Decimal | None = None
) -> BudgetReservation:
    """Record the actual cost against every held budget and release the holds. Idempotent.

    The first settle wins: a second settle (or one after a release) changes nothing and returns
    the reservation as it is. Settling after the hold expired still records the spend (the
    expiry already released the hold). Raises ``NotFoundError`` for an unknown reservation.
    """
    if (actual_nanos is None) == (actual_usd is None):
        raise ValueError("give exactly one of actual_nanos and actual_usd")
    actual = actual_nanos if actual_nanos is not None else usd_to_nanos(actual_usd or 0)
    if actual < 0:
        raise ValueError("an actual cost cannot be negative")
    return _close(reservation_id, actual=actual, state=ReservationState.SETTLED)


def budget_release(*, reservation_id: uuid.UUID | str) -> BudgetReservation:
    """Give the holds back without spending, because the call was not made. Idempotent; a
    reservation already settled stays settled."""
    return _close(reservation_id, actual=0, state=ReservationState.RELEASED)


def _close(reservation_id: uuid.UUID | str, *, actual: int, state: ReservationState) -> BudgetReservation:
    now = timezone.now()
    touched: list[int] = []
    with transaction.atomic():
        # The state transition is the claim: only the settle that moves the row out of
        # open/expired touches the counters, so settling twice cannot count twice.
        claim = BudgetReservation.objects.filter(pk=reservation_id)
        if claim.filter(state=ReservationState.OPEN).update(state=state, actual_nanos=actual, settled_at=now):
            release_hold = True
        elif claim.filter(state=ReservationState.EXPIRED).update(state=state, actual_nanos=actual, settled_at=now):
            release_hold = False
        else:
            reservation = BudgetReservation.objects.filter(pk=reservation_id).first()
            if reservation is None:
                raise NotFoundError(f"No budget reservation {reservation_id}.", code="reservation_not_found")
            return reservation
        for hold in BudgetHold.objects.filter(reservation_id=uuid.UUID(str(reservation_id))).order_by("counter_id"):
            changes = {"settled_nanos": F("settled_nanos") + actual}
            if release_hold:
                changes["held_nanos"] = F("held_nanos") - hold.amount_nanos
            BudgetCounter.objects.filter(pk=hold.counter_id).update(**changes)
            touched.append(hold.counter_id)
    if actual:
        budget_alerts_check(counter_ids=touched)
    return BudgetReservation.objects.get(pk=reservation_id)


def budget_holds_release_expired(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Release the holds of reservations past their expiry; returns how many were released.

    Each reservation is claimed by a conditional UPDATE (open → expired), so this is safe to run
    concurrently with itself and with a late ``budget_settle``.
    """
    now = now or timezone.now()
    ids = list(
        BudgetReservation.objects.filter(state=ReservationState.OPEN, expires_at__lt=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    released = 0
    for reservation_id in ids:
        with transaction.atomic():
            if not BudgetReservation.objects.filter(pk=reservation_id, state=ReservationState.OPEN).update(
                state=ReservationState.EXPIRED
            ):
                continue
            for hold in BudgetHold.objects.filter(reservation_id=reservation_id).order_by("counter_id"):
                BudgetCounter.objects.filter(pk=hold.counter_id).update(held_nanos=F("held_nanos") - hold.amount_nanos)
            released += 1
    if released:
        log.info("budget.holds_expired", released=released)
    return released


def _ledger_filter(budget: Budget) -> Q:
    if budget.scope == BudgetScope.API_KEY:
        return Q(api_key_id=budget.api_key_id)
    if budget.scope in {BudgetScope.FEATURE, BudgetScope.CUSTOMER, BudgetScope.PIPELINE}:
        return Q(**{budget.scope: budget.scope_value})
    return Q()


def budget_ledger_spend_nanos(*, budget: Budget, start: datetime | None, end: datetime | None) -> int:
    """Priced spend in the ledger that falls under the budget's scope in ``[start, end)``."""
    rows = UsageRecord.objects.filter(_ledger_filter(budget), project_id=budget.project_id, cost_nanos__isnull=False)
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    return int(rows.aggregate(total=Coalesce(Sum("cost_nanos"), 0))["total"])


def budget_reconcile(*, now: datetime | None = None, budget: Budget | None = None) -> int:
    """Recompute current counters from the ledger (settled) and the open holds (held).

    The counter row is locked first, so no reservation or settle interleaves with the
    recomputation. Spend that reached the ledger without a reservation (usage posted by other
    services, calls made outside a budgeted path) is counted from here on. Returns the number of
    counters reconciled.
    """
    now = now or timezone.now()
    budgets = [budget] if budget else list(Budget.objects.filter(enabled=True).select_related("project"))
    done = 0
    for b in budgets:
        counter = budget_counter_current(budget=b, at=now)
        with transaction.atomic():
            locked = BudgetCounter.objects.select_for_update().get(pk=counter.pk)
            settled = budget_ledger_spend_nanos(budget=b, start=locked.period_start, end=locked.period_end)
            held = BudgetHold.objects.filter(counter=locked, reservation__state=ReservationState.OPEN).aggregate(
                total=Coalesce(Sum("amount_nanos"), 0)
            )["total"]
            BudgetCounter.objects.filter(pk=locked.pk).update(
                settled_nanos=settled, held_nanos=held, limit_nanos=usd_to_nanos(b.limit_usd), reconciled_at=now
            )
        done += 1
        budget_alerts_check(counter_ids=[counter.pk])
    return done


def _alert_once(budget: Budget, counter: BudgetCounter, *, hard: bool, reason: str) -> None:
    field = "hard_alerted_at" if hard else "soft_alerted_at"
    # Claimed by a conditional UPDATE so one alert is raised per budget period, however many race.
    if not BudgetCounter.objects.filter(pk=counter.pk, **{f"{field}__isnull": True}).update(**{field: timezone.now()}):
        return
    spent = nanos_to_usd(counter.settled_nanos)
    limit = nanos_to_usd(counter.limit_nanos)
    alert_raise(
        kind=AlertKind.BUDGET_HARD if hard else AlertKind.BUDGET_SOFT,
        subject=f"budget:{budget.pk}:{budget.name}",
        message=f"Budget {budget.name!r} {reason} in {counter.period_key}: ${spent} of ${limit}.",
        severity=AlertSeverity.CRITICAL if hard else AlertSeverity.WARNING,
        project=budget.project,
        payload={
            "budget_id": budget.pk,
            "period": counter.period_key,
            "spent_usd": str(spent),
            "limit_usd": str(limit),
        },
        period_key=counter.period_key,
    )


def budget_alerts_check(*, counter_ids: list[int]) -> None:
    """Raise the soft and hard alerts of these counters if their spend crossed the thresholds."""
    if not counter_ids:
        return
    for counter in BudgetCounter.objects.filter(pk__in=counter_ids).select_related("budget__project"):
        budget = counter.budget
        if counter.limit_nanos <= 0 and counter.settled_nanos <= 0:
            continue
        if counter.settled_nanos >= counter.limit_nanos:
            _alert_once(budget, counter, hard=True, reason="reached its limit")
        if counter.settled_nanos * 100 >= counter.limit_nanos * budget.soft_alert_pct:
            _alert_once(budget, counter, hard=False, reason=f"passed {budget.soft_alert_pct}% of its limit")
