"""Writing the usage ledger (from the LLM client's events and from the ingest API) and outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction
from django.db.models import Min, Q
from django.db.models.functions import TruncDate

from costs.choices import CostSource, UsageSource, UsageStatus
from costs.models import Outcome, RollupMark, UsageRecord
from costs.pricing import cost_nanos, usd_to_nanos
from costs.reports import DUPLICATE_WINDOW
from costs.services.prices import PriceBook
from governance.llm import Usage, UsageEvent
from governance.llm.types import PROVIDER_KINDS
from governance.models import ApiKey, Project

log = structlog.get_logger(__name__)


def _local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def _rollup_marks(
    *, project: Project, usage: Sequence[UsageRecord] = (), at: Iterable[tuple[date, datetime]] = ()
) -> None:
    """Mark the local days whose rollups these rows change, from the earliest changed instant on.

    Always written (never "only when the day is already rolled up"): a writer cannot know
    whether a rollup running now will advance the watermark past its uncommitted rows; the mark
    commits with the rows, so the rollup that missed them leaves it for the next one.
    """
    tz = ZoneInfo(project.time_zone)
    since: dict[date, datetime] = {}

    def touch(day: date, instant: datetime) -> None:
        since[day] = min(since.get(day, instant), instant)

    for day, instant in at:
        touch(day, instant)
    for r in usage:
        day = _local_day(r.occurred_at, tz)
        touch(day, r.occurred_at)
        if r.attempt == 1 and r.request_hash:
            # A first attempt makes identical requests up to DUPLICATE_WINDOW later duplicates,
            # and that window may reach into the next local day.
            last = _local_day(r.occurred_at + DUPLICATE_WINDOW, tz)
            while day < last:
                day += timedelta(days=1)
                touch(day, datetime.combine(day, time(0), tzinfo=tz))
    RollupMark.objects.bulk_create(
        [RollupMark(project=project, day=day, since=instant) for day, instant in sorted(since.items())]
    )


def usage_record_build(
    *,
    book: PriceBook,
    project: Project | None,
    source: str,
    occurred_at: datetime,
    provider: str,
    provider_kind: str,
    model: str,
    usage: Usage,
    reported_cost_nanos: int | None = None,
    api_key_id: int | None = None,
    client_id: str = "",
    feature: str = "",
    customer: str = "",
    pipeline: str = "",
    trace_id: str = "",
    run_id: str = "",
    step: str = "",
    latency_ms: int | None = None,
    status: str = UsageStatus.OK,
    error_code: str = "",
    attempt: int = 1,
    request_hash: str = "",
    simulated: bool = False,
    reservation_id: str = "",
) -> UsageRecord:
    """The one place a ledger row is made and priced (unsaved): every writer and the budget
    settlement go through it, so a call is priced the same wherever it is counted.

    A reported cost (ingest) is kept as reported; otherwise the price in force at
    ``occurred_at`` applies, and a model without a price gets an unknown cost (NULL), never zero.
    """
    price_id: int | None = None
    cost: int | None
    if reported_cost_nanos is not None:
        cost, cost_source = reported_cost_nanos, str(CostSource.REPORTED)
    else:
        price = book.find(provider=provider, provider_kind=provider_kind, model=model, at=occurred_at)
        if price is None:
            cost, cost_source = None, str(CostSource.UNKNOWN)
        else:
            cost, cost_source, price_id = cost_nanos(usage, price.terms()), str(CostSource.PRICED), price.pk
    return UsageRecord(
        project=project,
        api_key_id=api_key_id if api_key_id and project else None,
        source=source,
        client_id=client_id,
        occurred_at=occurred_at,
        feature=feature[:100],
        customer=customer[:200],
        pipeline=pipeline[:100],
        trace_id=trace_id[:64],
        run_id=run_id[:64],
        step=step[:100],
        provider=provider[:64],
        provider_kind=provider_kind if provider_kind in PROVIDER_KINDS else "",
        model=model[:200],
        uncached_input_tokens=usage.uncached_input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        cost_nanos=cost,
        cost_source=cost_source,
        price_id=price_id,
        latency_ms=latency_ms,
        status=status,
        error_code=error_code[:64],
        attempt=max(1, attempt),
        request_hash=request_hash,
        simulated=simulated,
        reservation_id=_uuid_or_none(reservation_id),
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def usage_record_from_event(event: UsageEvent, *, book: PriceBook | None = None) -> UsageRecord:
    """The (unsaved) ledger row for one attempt of a provider call, priced at the price in force then."""
    ctx = event.context
    # The row's project is the context's; it is looked up, not trusted, so a stale id is no row's owner.
    project = Project.objects.filter(pk=ctx.project_id).first() if ctx.project_id else None
    if book is None:
        providers = (event.provider, event.provider_kind)
        book = PriceBook.load(project_id=project.pk if project else None, providers=providers)
    return usage_record_build(
        book=book,
        project=project,
        source=UsageSource.CLIENT,
        occurred_at=event.occurred_at,
        # The provider reports a dated snapshot (response_model) but prices are listed by the requested name.
        provider=event.provider,
        provider_kind=event.provider_kind,
        model=event.model,
        usage=event.usage,
        api_key_id=ctx.api_key_id,
        feature=ctx.feature,
        customer=ctx.customer,
        pipeline=ctx.pipeline,
        trace_id=ctx.trace_id,
        run_id=ctx.run_id,
        step=ctx.step,
        latency_ms=max(0, round(event.latency_ms)),
        status=event.status,
        error_code=event.error_code or "",
        attempt=event.attempt,
        request_hash=event.request_hash,
        simulated=event.simulated,
        reservation_id=ctx.reservation_id,
    )


def usage_record_append(*, event: UsageEvent) -> UsageRecord:
    """Append the ledger row for one attempt of a provider call (the ``provider_call_attempted`` receiver).

    Runs in the caller's thread and transaction.
    """
    record = usage_record_from_event(event)
    record.save()
    if record.project is not None:
        _rollup_marks(project=record.project, usage=[record])
    return record


@dataclass(frozen=True)
class UsageInput:
    """One record of ``POST /api/v1/usage``, already validated, tokens already normalised."""

    client_id: str
    provider: str
    model: str
    usage: Usage
    occurred_at: datetime
    status: str = UsageStatus.OK
    attempt: int = 1
    cost_usd: Decimal | None = None
    feature: str = ""
    customer: str = ""
    pipeline: str = ""
    trace_id: str = ""
    run_id: str = ""
    step: str = ""
    latency_ms: int | None = None
    request_hash: str = ""


@dataclass
class IngestResult:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    costs: dict[str, int | None] = field(default_factory=dict)


@transaction.atomic
def usage_ingest(*, project: Project, api_key: ApiKey | None, records: Sequence[UsageInput]) -> IngestResult:
    """Append usage reported by a service, idempotent by ``client_id`` within the project.

    A ``client_id`` already in the ledger (or repeated in the batch) is reported as a duplicate
    and changes nothing. Without ``cost_usd`` a record is priced from ``ModelPrice``; with no
    price its cost is unknown. Concurrent posts of one ``client_id`` converge on one row through
    the unique constraint.
    """
    result = IngestResult()
    ids = [r.client_id for r in records]
    existing = set(UsageRecord.objects.filter(project=project, client_id__in=ids).values_list("client_id", flat=True))
    book = PriceBook.load(project_id=project.pk)
    rows: list[UsageRecord] = []
    seen: set[str] = set()
    for r in records:
        if r.client_id in existing or r.client_id in seen:
            result.duplicates.append(r.client_id)
            continue
        seen.add(r.client_id)
        record = usage_record_build(
            book=book,
            project=project,
            source=UsageSource.INGEST,
            occurred_at=r.occurred_at,
            provider=r.provider,
            provider_kind=r.provider,
            model=r.model,
            usage=r.usage,
            reported_cost_nanos=usd_to_nanos(r.cost_usd) if r.cost_usd is not None else None,
            api_key_id=api_key.pk if api_key else None,
            client_id=r.client_id,
            feature=r.feature,
            customer=r.customer,
            pipeline=r.pipeline,
            trace_id=r.trace_id,
            run_id=r.run_id,
            step=r.step,
            latency_ms=r.latency_ms,
            status=r.status,
            attempt=r.attempt,
            request_hash=r.request_hash,
        )
        result.costs[r.client_id] = record.cost_nanos
        rows.append(record)
        result.created.append(r.client_id)
    # ignore_conflicts: a concurrent post of the same client_id committed first; ours is the duplicate.
    UsageRecord.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    _rollup_marks(project=project, usage=rows)
    log.info("usage.ingested", project=project.slug, created=len(result.created), duplicates=len(result.duplicates))
    return result


@dataclass(frozen=True)
class OutcomeInput:
    client_id: str
    kind: str
    success: bool
    occurred_at: datetime
    trace_id: str = ""
    run_id: str = ""
    value_usd: Decimal = Decimal(0)
    customer: str = ""
    feature: str = ""


@transaction.atomic
def outcome_ingest(*, project: Project, api_key: ApiKey | None, outcomes: Sequence[OutcomeInput]) -> IngestResult:
    """Record business outcomes, idempotent by ``client_id`` within the project (as ``usage_ingest``)."""
    result = IngestResult()
    ids = [o.client_id for o in outcomes]
    existing = set(Outcome.objects.filter(project=project, client_id__in=ids).values_list("client_id", flat=True))
    rows: list[Outcome] = []
    for o in outcomes:
        if o.client_id in existing:
            result.duplicates.append(o.client_id)
            continue
        existing.add(o.client_id)
        rows.append(
            Outcome(
                project=project,
                api_key=api_key,
                client_id=o.client_id,
                trace_id=o.trace_id,
                run_id=o.run_id,
                kind=o.kind,
                success=o.success,
                value_nanos=usd_to_nanos(o.value_usd),
                customer=o.customer,
                feature=o.feature,
                occurred_at=o.occurred_at,
            )
        )
        result.created.append(o.client_id)
    Outcome.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    # An outcome counts on its own day; a successful one also changes the "no successful
    # outcome" cost of every day with usage on its trace or run.
    tz = ZoneInfo(project.time_zone)
    touched = [(_local_day(o.occurred_at, tz), o.occurred_at) for o in rows]
    traces = sorted({o.trace_id for o in rows if o.success and o.trace_id})
    runs = sorted({o.run_id for o in rows if o.success and o.run_id})
    if traces or runs:
        touched += [
            (r["day"], r["since"])
            for r in UsageRecord.objects.filter(project=project)
            .filter(Q(trace_id__in=traces) | Q(run_id__in=runs))
            .annotate(day=TruncDate("occurred_at", tzinfo=tz))
            .values("day")
            .annotate(since=Min("occurred_at"))
            .order_by()
        ]
    _rollup_marks(project=project, at=touched)
    return result
