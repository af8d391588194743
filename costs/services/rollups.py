"""Daily rollups: per (project, local day), the additive totals the reports read."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction
from django.utils import timezone

from costs.models import Outcome, OutcomeDaily, RecomputeDaily, RollupDay, UsageDaily, UsageRecord
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


@transaction.atomic
def rollup_day(*, project: Project, day: date) -> int:
    """Rebuild the rollup rows of one local day and mark it complete; returns its usage row count.

    Idempotent (delete and rebuild in one transaction). Rows that land on the day while it is
    being rebuilt unmark it (see ``usage_ingest``) or are picked up by the next run.
    """
    window = ReportWindow(project=project, start=day, end=day, source="raw")
    lo, hi = window.bounds(day, day)
    for model in (UsageDaily, RecomputeDaily, OutcomeDaily):
        model.objects.filter(project=project, day=day).delete()

    raw = usage_annotated(
        UsageRecord.objects.filter(project=project, occurred_at__gte=lo, occurred_at__lt=hi), window.tz
    )
    usage_rows = list(raw.values(*USAGE_DIMS).annotate(**usage_aggregates()).order_by())
    UsageDaily.objects.bulk_create(
        [
            UsageDaily(
                project=project, day=day, **{d: r[d] for d in USAGE_DIMS}, **{m: r[f"s_{m}"] for m in USAGE_METRICS}
            )
            for r in usage_rows
        ],
        batch_size=2000,
    )
    recompute_rows = raw.filter(RECOMPUTE_ROWS).values(*RECOMPUTE_DIMS).annotate(**recompute_aggregates()).order_by()
    RecomputeDaily.objects.bulk_create(
        [
            RecomputeDaily(
                project=project,
                day=day,
                **{d: r[d] for d in RECOMPUTE_DIMS},
                **{m: r[f"s_{m}"] for m in RECOMPUTE_METRICS},
            )
            for r in recompute_rows
            if any(r[f"s_{m}"] for m in RECOMPUTE_METRICS)
        ],
        batch_size=2000,
    )
    outcomes = Outcome.objects.filter(project=project, occurred_at__gte=lo, occurred_at__lt=hi)
    OutcomeDaily.objects.bulk_create(
        [
            OutcomeDaily(
                project=project, day=day, **{d: r[d] for d in OUTCOME_DIMS}, **{m: r[f"s_{m}"] for m in OUTCOME_METRICS}
            )
            for r in outcomes.values(*OUTCOME_DIMS).annotate(**outcome_aggregates()).order_by()
        ],
        batch_size=2000,
    )
    calls = int(sum(r["s_calls"] for r in usage_rows))
    RollupDay.objects.update_or_create(
        project=project, day=day, defaults={"computed_at": timezone.now(), "usage_rows": calls}
    )
    return calls


def rollup_daily(
    *, project: Project | None = None, days_back: int = 3, start: date | None = None, end: date | None = None
) -> int:
    """Roll up complete local days (never today): the last ``days_back`` days, or ``start``..``end``.

    Re-rolling recent days picks up late usage and outcomes. Returns the number of days rolled.
    """
    projects = [project] if project else list(Project.objects.all())
    rolled = 0
    for p in projects:
        today = timezone.now().astimezone(ZoneInfo(p.time_zone)).date()
        last = min(end or today - timedelta(days=1), today - timedelta(days=1))
        first = start or last - timedelta(days=days_back - 1)
        day = first
        while day <= last:
            rollup_day(project=p, day=day)
            rolled += 1
            day += timedelta(days=1)
    log.info("costs.rolled_up", days=rolled, projects=len(projects))
    return rolled
