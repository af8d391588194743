"""Budgets: reserve, then settle (or release). The low-level verbs of the spending protocol.

A spender reserves its worst-case cost before a call and settles the actual cost after it.
The reservation places a hold on the current period's counter of every budget that applies;
each hold is admitted by one conditional UPDATE of that counter row
(``settled + held + estimate <= limit``), so concurrent spenders can never overshoot a hard
limit with what they hold, and counters are always updated in primary-key order so two
reservations touching the same budgets cannot deadlock.

The invariants that keep a hard budget hard (each tested on PostgreSQL with 50 threads in
``tests/costs/test_budget_invariants.py``):

1. **A hold is the worst case.** What a call can be billed never exceeds what it holds: the
   spending protocol (``costs.services.spending``) holds an upper bound of the input tokens plus
   ``max_tokens`` at the dearest prices, and refuses unpriced models under a hard budget. A
   settle larger than its hold (a caller of these low-level verbs that estimated low) is
   recorded in full, since the provider billed it, and is an **overrun**: the excess is kept on
   the reservation (``overrun_nanos``), counted and alerted (``budget_overrun``).
2. **A hold expires only after its call can no longer settle.** The protocol's hold lives for
   the call's deadline (every attempt's timeouts and backoffs) plus a grace. A settle that
   still comes after the expiry (its hold may have been re-used) is recorded in full and is an
   overrun too.
3. **Reconciliation never forgets a settlement.** ``budget_reconcile`` recomputes a counter as
   the settled reservations that held on it plus the ledger's rows that no open or settled
   reservation on it accounts for (usage posted by services, calls whose spender died); it
   never resets spend that was settled without a ledger row.
4. **Expired holds stop counting at their expiry.** A reservation refused by a counter first
   releases that counter's expired holds and tries again, so admission never waits for the
   sweeper (``costs.release_expired_holds``), which remains the cleanup for idle budgets.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from prometheus_client import Counter

from costs.choices import BudgetMode, BudgetScope, OverrunReason, ReservationState
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
# A refused reservation retries only when room appeared meanwhile (expired holds released, a
# concurrent settle); bounded, so a budget at its limit under contention refuses promptly.
_ADMISSION_ATTEMPTS = 3

BUDGET_OVERRUNS = Counter(
    "arbiter_budget_overruns_total", "Settlements that spent beyond their hold, by reason", ["reason"]
)


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
    fields = {
        "project": project,
        "estimate_nanos": estimate,
        "api_key_id": api_key_id,
        "feature": feature,
        "customer": customer,
        "pipeline": pipeline,
        "trace_id": trace_id[:64],
        "run_id": run_id[:64],
        "purpose": purpose[:200],
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
    }
    for attempt in range(1, _ADMISSION_ATTEMPTS + 1):
        try:
            return _reserve(pairs, estimate, fields)
        except _Refused as refused:
            # Expired holds stop counting at their expiry: release the refusing counter's (each
            # in its own transaction, reservation then counters, the order settles use), and try
            # again if that, or a concurrent release or settle, made room.
            budget_holds_release_expired(now=now, counter_ids=[refused.counter.pk])
            counter = refused.counter
            counter.refresh_from_db()
            room = counter.limit_nanos - counter.settled_nanos - counter.held_nanos
            if attempt == _ADMISSION_ATTEMPTS or estimate > room:
                _refuse(refused.budget, counter, estimate)
    raise AssertionError("unreachable")  # the last attempt returns or refuses


def _reserve(pairs: list[tuple[Budget, BudgetCounter]], estimate: int, fields: dict[str, Any]) -> BudgetReservation:
    with transaction.atomic():
        reservation = BudgetReservation.objects.create(**fields)
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
    return reservation


def _refuse(budget: Budget, counter: BudgetCounter, estimate: int) -> NoReturn:
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
    rid = uuid.UUID(str(reservation_id))
    now = timezone.now()
    touched: list[int] = []
    with transaction.atomic():
        # The state transition is the claim: only the settle that moves the row out of
        # open/expired touches the counters, so settling twice cannot count twice. The overrun
        # is computed in the same UPDATE: beyond the hold if it was still held, all of it if the
        # hold had expired (and may have been admitted to another call since).
        claim = BudgetReservation.objects.filter(pk=rid)
        closed = {"state": state, "actual_nanos": actual, "settled_at": now}
        beyond_hold = Greatest(Value(actual) - F("estimate_nanos"), Value(0))
        if claim.filter(state=ReservationState.OPEN).update(
            **closed,
            overrun_nanos=beyond_hold,
            overrun_reason=Case(
                When(estimate_nanos__lt=actual, then=Value(OverrunReason.LARGER_THAN_HOLD)),
                default=Value(OverrunReason.NONE),
            ),
        ):
            release_hold = True
        elif claim.filter(state=ReservationState.EXPIRED).update(
            **closed,
            overrun_nanos=actual,
            overrun_reason=OverrunReason.AFTER_EXPIRY if actual else OverrunReason.NONE,
        ):
            release_hold = False
        else:
            existing = claim.first()
            if existing is None:
                raise NotFoundError(f"No budget reservation {rid}.", code="reservation_not_found")
            return existing
        for hold in BudgetHold.objects.filter(reservation_id=rid).order_by("counter_id"):
            changes: dict[str, Any] = {"settled_nanos": F("settled_nanos") + actual}
            if release_hold:
                changes["held_nanos"] = _minus(hold.amount_nanos)
            BudgetCounter.objects.filter(pk=hold.counter_id).update(**changes)
            touched.append(hold.counter_id)
    reservation = BudgetReservation.objects.get(pk=rid)
    if reservation.overrun_nanos:
        _overrun(reservation, counter_ids=touched)
    if actual:
        budget_alerts_check(counter_ids=touched)
    return reservation


def _overrun(reservation: BudgetReservation, *, counter_ids: list[int]) -> None:
    """Count, log and alert a settlement beyond its hold (once per budget period, counted after)."""
    overrun, reason = reservation.overrun_nanos, reservation.overrun_reason
    BUDGET_OVERRUNS.labels(reason).inc()
    log.warning(
        "budget.overrun",
        reservation_id=str(reservation.pk),
        reason=reason,
        overrun_usd=str(nanos_to_usd(overrun)),
        estimate_usd=str(nanos_to_usd(reservation.estimate_nanos)),
        purpose=reservation.purpose,
        trace_id=reservation.trace_id,
    )
    for counter in BudgetCounter.objects.filter(pk__in=counter_ids).select_related("budget__project"):
        budget = counter.budget
        hard = budget.mode == BudgetMode.HARD
        alert_raise(
            kind=AlertKind.BUDGET_OVERRUN,
            subject=f"budget:{budget.pk}:{budget.name}",
            message=(
                f"Budget {budget.name!r} ({counter.period_key}): a settlement spent ${nanos_to_usd(overrun)} "
                f"beyond its hold ({reason.replace('_', ' ')}); ${nanos_to_usd(counter.settled_nanos)} of "
                f"${nanos_to_usd(counter.limit_nanos)} spent."
            ),
            severity=AlertSeverity.CRITICAL if hard else AlertSeverity.WARNING,
            project=budget.project,
            payload={
                "budget_id": budget.pk,
                "period": counter.period_key,
                "reservation_id": str(reservation.pk),
                "reason": reason,
                "overrun_usd": str(nanos_to_usd(overrun)),
            },
            period_key=counter.period_key,
        )


def _minus(amount: int) -> Greatest:
    # Floored at zero: a counter that drifted below its open holds is repaired by reconcile, and
    # must not make the release (or reconcile's own sweep) fail on the non-negative constraint.
    return Greatest(F("held_nanos") - Value(amount), Value(0))


def budget_holds_release_expired(
    *, now: datetime | None = None, batch_size: int = 1000, counter_ids: list[int] | None = None
) -> int:
    """Release the holds of reservations past their expiry; returns how many were released.

    ``counter_ids`` limits it to reservations holding on those counters (admission's own sweep).
    Each reservation is claimed by a conditional UPDATE (open → expired), so this is safe to run
    concurrently with itself, with admission and with a late ``budget_settle``.
    """
    now = now or timezone.now()
    expired = BudgetReservation.objects.filter(state=ReservationState.OPEN, expires_at__lt=now)
    if counter_ids is not None:
        expired = expired.filter(holds__counter_id__in=counter_ids)
    ids = list(expired.order_by("expires_at").values_list("pk", flat=True).distinct()[:batch_size])
    released = 0
    for reservation_id in ids:
        with transaction.atomic():
            if not BudgetReservation.objects.filter(pk=reservation_id, state=ReservationState.OPEN).update(
                state=ReservationState.EXPIRED
            ):
                continue
            for hold in BudgetHold.objects.filter(reservation_id=reservation_id).order_by("counter_id"):
                BudgetCounter.objects.filter(pk=hold.counter_id).update(held_nanos=_minus(hold.amount_nanos))
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


def budget_ledger_spend_nanos(
    *, budget: Budget, start: datetime | None, end: datetime | None, excluding_reservations: Any = None
) -> int:
    """Priced spend in the ledger that falls under the budget's scope in ``[start, end)``, leaving
    out the rows of the reservations ``excluding_reservations`` (a queryset of their ids)."""
    rows = UsageRecord.objects.filter(_ledger_filter(budget), project_id=budget.project_id, cost_nanos__isnull=False)
    if excluding_reservations is not None:
        rows = rows.exclude(reservation_id__in=excluding_reservations)
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    return int(rows.aggregate(total=Coalesce(Sum("cost_nanos"), 0))["total"])


def budget_reconcile(*, now: datetime | None = None, budget: Budget | None = None) -> int:
    """Recompute current counters: settled from the settlements and the ledger, held from open holds.

    Expired holds are released first. Then, with the counter row locked (so no reservation,
    settle or expiry on it interleaves: each needs that lock before it commits):
    ``settled`` = the actual cost of every settled reservation that held on the counter (a
    settlement without a ledger row is never forgotten) + the priced ledger rows in the
    budget's scope and period that no open or settled reservation on the counter accounts for
    (usage posted by services, calls made outside a budgeted path, a spender that died before
    settling); ``held`` = the open holds. Returns the number of counters reconciled.
    """
    now = now or timezone.now()
    budget_holds_release_expired(now=now)
    budgets = [budget] if budget else list(Budget.objects.filter(enabled=True).select_related("project"))
    done = 0
    for b in budgets:
        counter = budget_counter_current(budget=b, at=now)
        with transaction.atomic():
            locked = BudgetCounter.objects.select_for_update().get(pk=counter.pk)
            holds = BudgetHold.objects.filter(counter=locked)
            by_settlement = holds.filter(reservation__state=ReservationState.SETTLED).aggregate(
                total=Coalesce(Sum("reservation__actual_nanos"), 0)
            )["total"]
            accounted = holds.filter(reservation__state__in=[ReservationState.OPEN, ReservationState.SETTLED]).values(
                "reservation_id"
            )
            by_ledger = budget_ledger_spend_nanos(
                budget=b, start=locked.period_start, end=locked.period_end, excluding_reservations=accounted
            )
            held = holds.filter(reservation__state=ReservationState.OPEN).aggregate(
                total=Coalesce(Sum("amount_nanos"), 0)
            )["total"]
            BudgetCounter.objects.filter(pk=locked.pk).update(
                settled_nanos=by_settlement + by_ledger,
                held_nanos=held,
                limit_nanos=usd_to_nanos(b.limit_usd),
                reconciled_at=now,
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
