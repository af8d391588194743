"""Writing the usage ledger (from the LLM client's events and from the ingest API) and outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction
from django.db.models import Min, Q
from django.db.models.functions import TruncDate

from costs.choices import CostSource, UsageSource, UsageStatus
from costs.models import Outcome, RollupMark, UsageRecord
from costs.pricing import cost_nanos, nanos_to_usd_or_none, usd_to_nanos
from costs.reports import DUPLICATE_WINDOW
from costs.services.prices import PriceBook
from governance.errors import ConflictError
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
    # False when the client left occurred_at out (it defaults to now): a re-post is then compared without it.
    occurred_at_given: bool = True


@dataclass
class IngestResult:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    costs: dict[str, int | None] = field(default_factory=dict)


Fields = dict[str, Any]


def _differences(recorded: Fields, sent: Fields) -> dict[str, dict[str, Any]]:
    """``{field: {"recorded": …, "sent": …}}`` for every field whose values differ (JSON-ready values)."""
    return {
        name: {"recorded": _json_value(recorded.get(name)), "sent": _json_value(value)}
        for name, value in sent.items()
        if recorded.get(name) != value
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _raise_conflicts(conflicts: list[dict[str, Any]]) -> None:
    if conflicts:
        ids = ", ".join(repr(c["client_id"]) for c in conflicts[:5])
        raise ConflictError(
            "client_id_conflict",
            f"client_id {ids} was already recorded with different values; nothing in this batch was recorded.",
            detail={"conflicts": conflicts},
        )


def _usage_fields(r: UsageInput) -> Fields:
    """What a usage record says, in the API's terms, for comparing a re-post with what is recorded."""
    fields: Fields = {
        "provider": r.provider,
        "model": r.model,
        "input_tokens": r.usage.uncached_input_tokens + r.usage.cache_read_tokens + r.usage.cache_write_tokens,
        "cached_tokens": r.usage.cache_read_tokens,
        "cache_write_tokens": r.usage.cache_write_tokens,
        "output_tokens": r.usage.output_tokens,
        "cost_usd": nanos_to_usd_or_none(usd_to_nanos(r.cost_usd)) if r.cost_usd is not None else None,
        "status": r.status,
        "attempt": r.attempt,
        "feature": r.feature,
        "customer": r.customer,
        "pipeline": r.pipeline,
        "trace_id": r.trace_id,
        "run_id": r.run_id,
        "step": r.step,
        "latency_ms": r.latency_ms,
        "request_hash": r.request_hash,
    }
    if r.occurred_at_given:
        fields["occurred_at"] = r.occurred_at
    return fields


def _recorded_usage_fields(row: UsageRecord) -> Fields:
    reported = row.cost_source == CostSource.REPORTED
    return {
        "provider": row.provider,
        "model": row.model,
        "input_tokens": row.uncached_input_tokens + row.cache_read_tokens + row.cache_write_tokens,
        "cached_tokens": row.cache_read_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": nanos_to_usd_or_none(row.cost_nanos) if reported else None,
        "status": row.status,
        "attempt": row.attempt,
        "feature": row.feature,
        "customer": row.customer,
        "pipeline": row.pipeline,
        "trace_id": row.trace_id,
        "run_id": row.run_id,
        "step": row.step,
        "latency_ms": row.latency_ms,
        "request_hash": row.request_hash,
        "occurred_at": row.occurred_at,
    }


@transaction.atomic
def usage_ingest(*, project: Project, api_key: ApiKey | None, records: Sequence[UsageInput]) -> IngestResult:
    """Append usage reported by a service, idempotent by ``client_id`` within the project.

    A ``client_id`` already recorded (or repeated in the batch) with the same values is reported
    as a duplicate and changes nothing; with different values it is a conflict: ``ConflictError``
    ``client_id_conflict`` (409) naming each differing field, and nothing of the batch is recorded
    (a retry that changed its payload must neither vanish silently nor overwrite the ledger).
    Without ``cost_usd`` a record is priced from ``ModelPrice``; with no price its cost is unknown.
    Concurrent posts of one ``client_id`` converge on one row through the unique constraint.
    """
    result = IngestResult()
    ids = [r.client_id for r in records]
    existing = {
        row.client_id: _recorded_usage_fields(row)
        for row in UsageRecord.objects.filter(project=project, client_id__in=ids)
    }
    book = PriceBook.load(project_id=project.pk)
    rows: list[UsageRecord] = []
    conflicts: list[dict[str, Any]] = []
    for r in records:
        sent = _usage_fields(r)
        recorded = existing.get(r.client_id)
        if recorded is not None:
            differences = _differences(recorded, sent)
            if differences:
                conflicts.append({"client_id": r.client_id, "fields": differences})
            else:
                result.duplicates.append(r.client_id)
            continue
        existing[r.client_id] = {**sent, "occurred_at": r.occurred_at}
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
    _raise_conflicts(conflicts)
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
    occurred_at_given: bool = True


def _outcome_fields(o: OutcomeInput) -> Fields:
    fields: Fields = {
        "kind": o.kind,
        "success": o.success,
        "value_usd": nanos_to_usd_or_none(usd_to_nanos(o.value_usd)),
        "trace_id": o.trace_id,
        "run_id": o.run_id,
        "customer": o.customer,
        "feature": o.feature,
    }
    if o.occurred_at_given:
        fields["occurred_at"] = o.occurred_at
    return fields


def _recorded_outcome_fields(row: Outcome) -> Fields:
    return {
        "kind": row.kind,
        "success": row.success,
        "value_usd": nanos_to_usd_or_none(row.value_nanos),
        "trace_id": row.trace_id,
        "run_id": row.run_id,
        "customer": row.customer,
        "feature": row.feature,
        "occurred_at": row.occurred_at,
    }


@transaction.atomic
def outcome_ingest(*, project: Project, api_key: ApiKey | None, outcomes: Sequence[OutcomeInput]) -> IngestResult:
    """Record business outcomes, idempotent by ``client_id`` within the project: an identical
    re-post is a duplicate, a different one a ``client_id_conflict`` (409), as in ``usage_ingest``."""
    result = IngestResult()
    ids = [o.client_id for o in outcomes]
    existing = {
        row.client_id: _recorded_outcome_fields(row)
        for row in Outcome.objects.filter(project=project, client_id__in=ids)
    }
    rows: list[Outcome] = []
    conflicts: list[dict[str, Any]] = []
    for o in outcomes:
        sent = _outcome_fields(o)
        recorded = existing.get(o.client_id)
        if recorded is not None:
            differences = _differences(recorded, sent)
            if differences:
                conflicts.append({"client_id": o.client_id, "fields": differences})
            else:
                result.duplicates.append(o.client_id)
            continue
        existing[o.client_id] = {**sent, "occurred_at": o.occurred_at}
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
    _raise_conflicts(conflicts)
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
