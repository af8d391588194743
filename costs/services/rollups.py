"""Rollups: per (project, local day), the additive totals the reports read, up to a watermark.

Each day's rollup covers ledger rows and outcomes before ``RollupDay.complete_until``. The
frequent ``rollup_recent`` advances today's (and yesterday's) watermark by adding only the rows
since the last one, and rebuilds a day whose ``RollupMark`` says late data landed before its
watermark; ``rollup_daily`` rebuilds whole days on demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from costs.models import (
    Outcome,
    OutcomeDaily,
    RecomputeDaily,
    RollupDay,
    RollupMark,
    UsageDaily,
    UsageRecord,
)
from costs.reports import (
    OUTCOME_METRICS,
    RECOMPUTE_METRICS,
    RECOMPUTE_ROWS,
    USAGE_METRICS,
    ReportWindow,
    outcome_aggregates,
    recompute_aggregates,
    usage_aggregates,
    usage_annotated,
)
from governance.models import Project

log = structlog.get_logger(__name__)

USAGE_DIMS = ["feature", "customer", "pipeline", "api_key_id"]
RECOMPUTE_DIMS = ["feature", "customer", "pipeline", "step", "provider", "model", "api_key_id"]
OUTCOME_DIMS = ["feature", "customer"]
# Today's watermark trails the clock, so calls still being written rarely land behind it (one
# that does leaves a mark and costs a rebuild of the day, never a wrong total).
WATERMARK_LAG = timedelta(minutes=2)


def _merge_rows(
    model: Any,
    *,
    project: Project,
    day: date,
    dims: list[str],
    metrics: Iterable[str],
    deltas: Iterable[dict[str, Any]],
    rebuild: bool,
) -> None:
    """Add ``deltas`` (aggregate rows named ``s_<metric>``) to the day's rollup rows of ``model``
    (or replace them when ``rebuild``). A day holds one row per key, so this is small."""
    metrics = tuple(metrics)
    existing: dict[tuple[Any, ...], Any] = {}
    if rebuild:
        model.objects.filter(project=project, day=day).delete()
    else:
        existing = {tuple(getattr(r, d) for d in dims): r for r in model.objects.filter(project=project, day=day)}
    changed: dict[int, Any] = {}
    new: list[Any] = []
    for delta in deltas:
        if model is RecomputeDaily and not any(delta[f"s_{m}"] for m in metrics):
            continue  # recompute rollups keep only rows with recompute
        key = tuple(delta[d] for d in dims)
        row = existing.get(key)
        if row is None:
            row = existing[key] = model(project=project, day=day, **dict(zip(dims, key, strict=True)))
            new.append(row)
        elif row.pk is not None:
            changed[row.pk] = row
        for m in metrics:
            setattr(row, m, getattr(row, m) + int(delta[f"s_{m}"] or 0))
    model.objects.bulk_create(new, batch_size=2000)
    if changed:
        model.objects.bulk_update(list(changed.values()), list(metrics), batch_size=2000)


def rollup_day(*, project: Project, day: date, until: datetime | None = None, rebuild: bool = False) -> int:
    """Roll up one local day up to ``until`` (default: the day's end); returns the rows added.

    Incremental: adds only the rows between the day's watermark and ``until``, unless the day
    has no rollup yet, ``rebuild`` is asked, or a mark before the watermark says late data
    landed — then the day is rebuilt up to ``until``. Consumes exactly the marks its snapshot
    saw; idempotent; never moves a watermark back.
    """
    repeatable = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if repeatable:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _rollup_day(project=project, day=day, until=until, rebuild=rebuild)


def _rollup_day(*, project: Project, day: date, until: datetime | None, rebuild: bool) -> int:
    window = ReportWindow(project=project, start=day, end=day, source="raw")
    day_start, day_end = window.bounds(day, day)
    until = day_end if until is None else min(max(until, day_start), day_end)
    state = RollupDay.objects.select_for_update().filter(project=project, day=day).first()
    marks = list(RollupMark.objects.filter(project=project, day=day).values_list("pk", "since"))
    if state is None or any(since < state.complete_until for _, since in marks):
        rebuild = True
    if state is not None and not rebuild and until <= state.complete_until:
        RollupMark.objects.filter(pk__in=[pk for pk, _ in marks]).delete()  # all at or after the watermark
        return 0
    lo = day_start if rebuild or state is None else state.complete_until
    occurred = {"occurred_at__gte": lo, "occurred_at__lt": until}

    raw = usage_annotated(UsageRecord.objects.filter(project=project, **occurred), window.tz)
    usage_rows = list(raw.values(*USAGE_DIMS).annotate(**usage_aggregates()).order_by())
    common: dict[str, Any] = {"project": project, "day": day, "rebuild": rebuild}
    _merge_rows(UsageDaily, dims=USAGE_DIMS, metrics=USAGE_METRICS, deltas=usage_rows, **common)
    _merge_rows(
        RecomputeDaily,
        dims=RECOMPUTE_DIMS,
        metrics=RECOMPUTE_METRICS,
        deltas=raw.filter(RECOMPUTE_ROWS).values(*RECOMPUTE_DIMS).annotate(**recompute_aggregates()).order_by(),
        **common,
    )
    outcomes = Outcome.objects.filter(project=project, **occurred)
    _merge_rows(
        OutcomeDaily,
        dims=OUTCOME_DIMS,
        metrics=OUTCOME_METRICS,
        deltas=outcomes.values(*OUTCOME_DIMS).annotate(**outcome_aggregates()).order_by(),
        **common,
    )
    RollupMark.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
    calls = int(sum(r["s_calls"] for r in usage_rows))
    if state is None:
        state = RollupDay(project=project, day=day, usage_rows=0)
    state.usage_rows = calls if rebuild else state.usage_rows + calls
    state.complete_until = until
    state.computed_at = timezone.now()
    state.save()
    return calls


def _local_today(project: Project) -> date:
    return timezone.now().astimezone(ZoneInfo(project.time_zone)).date()


def rollup_daily(
    *, project: Project | None = None, days_back: int = 3, start: date | None = None, end: date | None = None
) -> int:
    """Rebuild whole complete local days (never today): the last ``days_back``, or ``start``..``end``.

    The on-demand and hourly safety net; ``rollup_recent`` keeps the rollups current between
    runs. Returns the number of days rolled.
    """
    projects = [project] if project else list(Project.objects.all())
    rolled = 0
    for p in projects:
        today = _local_today(p)
        last = min(end or today - timedelta(days=1), today - timedelta(days=1))
        first = start or last - timedelta(days=days_back - 1)
        day = first
        while day <= last:
            rollup_day(project=p, day=day, rebuild=True)
            rolled += 1
            day += timedelta(days=1)
    log.info("costs.rolled_up", days=rolled, projects=len(projects))
    return rolled


def rollup_recent(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Advance the watermarks of today and yesterday to ``now`` minus a short lag, rebuild every
    rolled-up day that late data made stale, and drop marks of days never rolled up.

    Cheap and frequent (every few minutes): an up-to-date day adds only its new rows. Returns
    the number of days touched.
    """
    now = now or timezone.now()
    until = now - WATERMARK_LAG
    projects = [project] if project else list(Project.objects.all())
    touched = 0
    for p in projects:
        tz = ZoneInfo(p.time_zone)
        today = until.astimezone(tz).date()
        stale = RollupMark.objects.filter(
            project_id=OuterRef("project_id"), day=OuterRef("day"), since__lt=OuterRef("complete_until")
        )
        days = {today, today - timedelta(days=1)}
        days |= set(RollupDay.objects.filter(project=p).filter(Exists(stale)).values_list("day", flat=True))
        for day in sorted(days):
            rollup_day(project=p, day=day, until=until)
            touched += 1
        # Marks of days without rollups mean nothing (those days are read raw); old ones can go.
        rolled = RollupDay.objects.filter(project_id=OuterRef("project_id"), day=OuterRef("day"))
        RollupMark.objects.filter(project=p, created_at__lt=now - timedelta(days=1)).filter(~Exists(rolled)).delete()
    log.info("costs.rolled_up_recent", days=touched, projects=len(projects))
    return touched
