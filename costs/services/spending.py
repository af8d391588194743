"""The spending protocol: how every model call Arbiter makes is budgeted.

One verb pair around each call to a provider::

    bound = call_bound(provider=provider, model=model, texts=[system, *messages], max_tokens=200)
    reservation = spend_reserve(project=project, bound=bound, tags=SpendTags(feature="guardrails"))
    try:
        result = provider_call(..., reservation_id=str(reservation.id))
    finally:
        spend_settle(reservation_id=reservation.id)

or, the same in one block, ``with spending(project=..., bound=..., tags=...) as reservation:``.

1. **Reserve the worst case.** :func:`spend_reserve` prices the call's bound (an upper bound of
   its input tokens plus ``max_tokens``, at the dearest input bucket and either context tier;
   see ``costs.pricing.worst_case_nanos``) at the endpoint's price in force, and places that
   hold on every budget that applies (``budget_reserve``: one conditional UPDATE per budget,
   all or none). A hard budget without room refuses with ``BudgetExceededError``
   (``budget_exceeded``, 402). **A model without a price is refused when any hard budget
   applies** (``UnpricedSpendError``, ``price_unknown``): a hard limit is never admitted
   blind. With only soft budgets (or none) it is admitted with a zero hold and counted when
   the ledger learns its price.
2. **Call**, passing the reservation's id in the call context (``provider_call(...,
   reservation_id=...)``): every attempt's ledger row (written by the ``provider_call_attempted``
   receiver through the one ``UsageRecord`` builder) names the reservation.
3. **Settle** with the priced cost of every attempt: :func:`spend_settle` sums the ledger rows
   of the reservation (or prices the attempts' usage events it is given, through the same
   builder), records the spend against every held budget and releases the holds.
   **Release** when no call was made: a settle that finds no attempt releases the holds
   (state ``released``). Settling is idempotent: the first settle wins.

The hold lives until the call can no longer settle: the call's deadline (every attempt's
timeouts and backoffs, ``provider_call_deadline_s``) plus a grace for the settle itself.
Orchestration's governed model call is the next caller: it adds the guards and the envelope
around this same protocol.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client import Counter

from costs.choices import BudgetMode, ReservationState
from costs.errors import UnpricedSpendError
from costs.models import BudgetReservation, UsageRecord
from costs.pricing import input_tokens_upper_bound, worst_case_nanos
from costs.services.budgets import budget_release, budget_reserve, budget_settle, budgets_applicable
from costs.services.prices import PriceBook
from costs.services.usage import usage_record_from_event
from governance.errors import NotFoundError
from governance.llm import UsageEvent
from governance.models import Project, Provider
from governance.services.provider_calls import provider_call_deadline_s

log = structlog.get_logger(__name__)

#: Time allowed after a call's deadline for its settle to reach the database.
SETTLE_GRACE_S = 30.0

SPEND_REFUSALS = Counter(
    "arbiter_spend_refusals_total",
    "Model calls refused by the spending protocol, by code and purpose",
    ["code", "purpose"],
)


@dataclass(frozen=True, slots=True)
class CallBound:
    """The most one provider call can cost and take: what a reservation holds, and for how long."""

    provider: str
    provider_kind: str
    model: str
    input_tokens: int
    max_output_tokens: int
    deadline_s: float


@dataclass(frozen=True, slots=True)
class SpendTags:
    """Who spends: the tags that choose the budgets that apply (and label the reservation)."""

    api_key_id: int | None = None
    feature: str = ""
    customer: str = ""
    pipeline: str = ""
    trace_id: str = ""
    run_id: str = ""


@dataclass(frozen=True, slots=True)
class Reservation:
    """An admitted spend: pass ``str(id)`` as the call's ``reservation_id``, then settle it."""

    id: uuid.UUID
    project_id: int
    hold_nanos: int
    priced: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a reservation ended: ``settled`` (with the attempts' cost) or ``released`` (no call)."""

    reservation_id: uuid.UUID
    state: str
    hold_nanos: int
    actual_nanos: int
    attempts: int


def call_bound(*, provider: Provider, model: str, texts: Iterable[str], max_output_tokens: int) -> CallBound:
    """The bound of a call to ``provider``'s ``model`` whose messages (system prompt included)
    are ``texts``; a classifier endpoint has ``max_output_tokens=0``."""
    return CallBound(
        provider=provider.name,
        provider_kind=provider.kind,
        model=model,
        input_tokens=input_tokens_upper_bound(texts),
        max_output_tokens=max_output_tokens,
        deadline_s=provider_call_deadline_s(provider),
    )


def spend_reserve(*, project: Project, bound: CallBound, tags: SpendTags, purpose: str = "") -> Reservation:
    """Hold the worst case of one call on every applicable budget, or refuse.

    Raises ``BudgetExceededError`` (``budget_exceeded``) when a hard budget has no room, and
    ``UnpricedSpendError`` (``price_unknown``) when the model has no price and a hard budget
    applies. Both are ``SpendRefusedError``; nothing is held after a refusal.
    """
    now = timezone.now()
    budgets = budgets_applicable(
        project=project,
        api_key_id=tags.api_key_id,
        feature=tags.feature,
        customer=tags.customer,
        pipeline=tags.pipeline,
    )
    book = PriceBook.load(project_id=project.pk, providers=(bound.provider, bound.provider_kind))
    price = book.find(provider=bound.provider, provider_kind=bound.provider_kind, model=bound.model, at=now)
    if price is None:
        hard = [b.name for b in budgets if b.mode == BudgetMode.HARD]
        if hard:
            SPEND_REFUSALS.labels("price_unknown", _purpose_label(purpose)).inc()
            log.warning(
                "spend.refused_unpriced", provider=bound.provider, model=bound.model, budgets=hard, purpose=purpose
            )
            raise UnpricedSpendError(
                f"{bound.provider}/{bound.model} has no price, and the hard budget(s) {', '.join(hard)} "
                "cannot admit a call whose cost is unknown.",
                detail={"provider": bound.provider, "model": bound.model, "budgets": hard},
            )
        hold = 0
    else:
        hold = worst_case_nanos(
            input_tokens=bound.input_tokens, max_output_tokens=bound.max_output_tokens, terms=price.terms()
        )
    try:
        row = budget_reserve(
            project=project,
            estimate_nanos=hold,
            api_key_id=tags.api_key_id,
            feature=tags.feature,
            customer=tags.customer,
            pipeline=tags.pipeline,
            trace_id=tags.trace_id,
            run_id=tags.run_id,
            purpose=purpose,
            ttl_seconds=math.ceil(bound.deadline_s + SETTLE_GRACE_S),
            now=now,
            budgets=budgets,
        )
    except Exception as exc:
        code = getattr(exc, "code", "")
        if code == "budget_exceeded":
            SPEND_REFUSALS.labels(code, _purpose_label(purpose)).inc()
        raise
    return Reservation(
        id=row.pk, project_id=project.pk, hold_nanos=hold, priced=price is not None, expires_at=row.expires_at
    )


def spend_settle(*, reservation_id: uuid.UUID | str, attempts: Sequence[UsageEvent] | None = None) -> Settlement:
    """Settle a reservation with the priced cost of every attempt of its call; idempotent.

    Without ``attempts`` the cost is the sum of the ledger rows that name the reservation (the
    normal path: the ledger receiver wrote one per attempt). With ``attempts`` those usage
    events are priced through the same ``UsageRecord`` builder instead. No attempt at all means
    no call was made: the holds are released. An unknown price counts as zero here (only soft
    budgets admit unpriced calls) and stays unknown in the ledger. Raises ``NotFoundError``
    (``reservation_not_found``).
    """
    rid = uuid.UUID(str(reservation_id))
    reservation = BudgetReservation.objects.filter(pk=rid).first()
    if reservation is None:
        raise NotFoundError(f"No budget reservation {rid}.", code="reservation_not_found")
    if reservation.state in (ReservationState.SETTLED, ReservationState.RELEASED):
        return _settlement(reservation, attempts=_attempt_count(rid))
    if attempts is None:
        totals = UsageRecord.objects.filter(reservation_id=rid).aggregate(n=Count("pk"), cost=Sum("cost_nanos"))
        count, actual = int(totals["n"]), int(totals["cost"] or 0)
    else:
        book = PriceBook.load(project_id=reservation.project_id)
        count = len(attempts)
        actual = sum(usage_record_from_event(event, book=book).cost_nanos or 0 for event in attempts)
    if count == 0:
        settled = budget_release(reservation_id=rid)
    else:
        settled = budget_settle(reservation_id=rid, actual_nanos=actual)
    return _settlement(settled, attempts=count)


def spend_release(*, reservation_id: uuid.UUID | str) -> Settlement:
    """Give the holds back because no call was made (idempotent; a settled reservation stays settled)."""
    return _settlement(budget_release(reservation_id=reservation_id), attempts=0)


@contextmanager
def spending(*, project: Project, bound: CallBound, tags: SpendTags, purpose: str = "") -> Iterator[Reservation]:
    """Reserve, run the block (the call), settle from the ledger whatever the block did.

    A failing settle is logged, not raised over the call's own outcome: the hold then expires
    at its deadline and ``costs.reconcile_budgets`` counts the ledger rows.
    """
    reservation = spend_reserve(project=project, bound=bound, tags=tags, purpose=purpose)
    try:
        yield reservation
    finally:
        try:
            spend_settle(reservation_id=reservation.id)
        except Exception:
            log.exception("spend.settle_failed", reservation_id=str(reservation.id), purpose=purpose)


def _attempt_count(rid: uuid.UUID) -> int:
    return UsageRecord.objects.filter(reservation_id=rid).count()


def _settlement(reservation: BudgetReservation, *, attempts: int) -> Settlement:
    return Settlement(
        reservation_id=reservation.pk,
        state=str(reservation.state),
        hold_nanos=reservation.estimate_nanos,
        actual_nanos=reservation.actual_nanos or 0,
        attempts=attempts,
    )


def _purpose_label(purpose: str) -> str:
    # The purpose names a rule (``llm_guard:<rule name>``); the metric keeps only its kind.
    return purpose.partition(":")[0] or "unspecified"
