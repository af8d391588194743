"""The cost reports: reads only, always scoped to one project.

Every report is built from *additive* totals (sums and counts) grouped by a key, then ratios
are derived. Totals come from the daily rollups up to each day's watermark
(``RollupDay.complete_until``: the day's end, or a few minutes ago for today) and from raw
ledger rows after it, and for days never rolled up or made stale by late data
(``RollupMark``), so a report over rollups equals the same report over raw rows
(``source="raw"`` forces raw rows everywhere) and its cost does not grow with rows per day.

Recompute categories are exclusive, in this order: a **retry** is an attempt after the first;
a **failed** call is a first attempt whose status is not ``ok``; a **duplicate** is a
successful first attempt whose ``request_hash`` was already seen in the project within
``DUPLICATE_WINDOW`` before it. **No-outcome** cost is the cost of calls whose trace and run
produced no successful outcome (calls with neither id count here too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from costs.choices import BudgetScope, UsageStatus
from costs.models import (
    Budget,
    BudgetCounter,
    Outcome,
    OutcomeDaily,
    RecomputeDaily,
    RollupDay,
    RollupMark,
    UsageDaily,
    UsageRecord,
)
from costs.periods import period_for
from costs.pricing import nanos_to_usd, usd_to_nanos
from governance.models import ApiKey, Project

DUPLICATE_WINDOW = timedelta(hours=1)
Source = Literal["auto", "raw"]

USAGE_METRICS = (
    "calls",
    "unpriced_calls",
    "input_tokens",
    "output_tokens",
    "cost_nanos",
    "retry_nanos",
    "failed_nanos",
    "duplicate_nanos",
    "no_outcome_nanos",
)
RECOMPUTE_METRICS = ("retry_nanos", "failed_nanos", "duplicate_nanos")
OUTCOME_METRICS = ("outcomes", "successes", "value_nanos")
Key = tuple[Any, ...]
Totals = dict[Key, dict[str, int]]


def _usd(nanos: int | None) -> str | None:
    """Money leaves reports as a decimal string (JSON has no decimal type; floats would round)."""
    return None if nanos is None else str(nanos_to_usd(nanos).quantize(Decimal("0.000001")))


@dataclass(frozen=True)
class ReportWindow:
    """Local days ``start``..``end`` (inclusive) in the project's time zone, with tag filters."""

    project: Project
    start: date
    end: date
    feature: str = ""
    customer: str = ""
    pipeline: str = ""
    api_key_id: int | None = None
    source: Source = "auto"
    tz: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.project.time_zone))
        if self.end < self.start:
            raise ValueError("end is before start")

    @classmethod
    def last_days(cls, project: Project, days: int = 30, **filters: Any) -> ReportWindow:
        today = timezone.now().astimezone(ZoneInfo(project.time_zone)).date()
        return cls(project=project, start=today - timedelta(days=days - 1), end=today, **filters)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(first, time(0), tzinfo=self.tz),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=self.tz),
        )

    def split(self) -> tuple[list[date], Q | None]:
        """(days read from rollups, a Q over ``occurred_at`` for everything read raw).

        A rolled-up day contributes its rollups before its watermark and raw rows after it
        (minutes of data for today); a day never rolled up, or whose rollups a mark before the
        watermark made stale, is read raw whole.
        """
        rolled: dict[date, datetime] = {}
        if self.source != "raw":
            stale = RollupMark.objects.filter(
                project_id=OuterRef("project_id"), day=OuterRef("day"), since__lt=OuterRef("complete_until")
            )
            rolled = dict(
                RollupDay.objects.filter(project=self.project, day__gte=self.start, day__lte=self.end)
                .annotate(stale=Exists(stale))
                .filter(stale=False)
                .values_list("day", "complete_until")
            )
        ranges: list[tuple[datetime, datetime]] = []
        for day in self.days():
            lo, hi = self.bounds(day, day)
            if day in rolled:
                lo = max(lo, min(rolled[day], hi))
            if lo >= hi:
                continue
            if ranges and ranges[-1][1] == lo:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
        raw_q: Q | None = None
        for lo, hi in ranges:
            q = Q(occurred_at__gte=lo, occurred_at__lt=hi)
            raw_q = q if raw_q is None else raw_q | q
        return sorted(rolled), raw_q

    def tag_q(self, *, with_pipeline: bool = True, with_api_key: bool = True) -> Q:
        q = Q()
        if self.feature:
            q &= Q(feature=self.feature)
        if self.customer:
            q &= Q(customer=self.customer)
        if self.pipeline and with_pipeline:
            q &= Q(pipeline=self.pipeline)
        if self.api_key_id and with_api_key:
            q &= Q(api_key_id=self.api_key_id)
        return q


# --- raw aggregation (shared with the rollup service, so both compute the same thing) ---------


def usage_annotated(
    rows: QuerySet[UsageRecord], tz: ZoneInfo, *, duplicate: bool = True, outcome: bool = True
) -> QuerySet[UsageRecord]:
    """Raw ledger rows with their local ``day`` and (when asked: each costs a probe per row) the
    duplicate and has-outcome flags."""
    # Both lookups are bounded index range scans (usage_project_hash, outcome_project_trace/run):
    # each OR branch is its own EXISTS so the planner never falls back to scanning.
    earlier_same_request = UsageRecord.objects.filter(
        project_id=OuterRef("project_id"),
        request_hash=OuterRef("request_hash"),
        attempt=1,
        occurred_at__gte=ExpressionWrapper(OuterRef("occurred_at") - Value(DUPLICATE_WINDOW), DateTimeField()),
        occurred_at__lte=OuterRef("occurred_at"),
    ).filter(Q(occurred_at__lt=OuterRef("occurred_at")) | Q(pk__lt=OuterRef("pk")))
    outcomes = Outcome.objects.filter(project_id=OuterRef("project_id"), success=True)
    outcome_on_trace = outcomes.filter(trace_id=OuterRef("trace_id")).exclude(trace_id="")
    outcome_on_run = outcomes.filter(run_id=OuterRef("run_id")).exclude(run_id="")
    rows = rows.annotate(day=TruncDate("occurred_at", tzinfo=tz))
    if duplicate:
        rows = rows.annotate(is_duplicate=Exists(earlier_same_request))
    if outcome:
        rows = rows.annotate(
            has_outcome=(~Q(trace_id="") & Exists(outcome_on_trace)) | (~Q(run_id="") & Exists(outcome_on_run))
        )
    return rows


_RETRY = Q(attempt__gt=1)
_FAILED = Q(attempt=1) & ~Q(status=UsageStatus.OK)
_DUPLICATE = Q(attempt=1, status=UsageStatus.OK, is_duplicate=True) & ~Q(request_hash="")


def _sum(expr: Any, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(expr, filter=condition), 0)


def usage_aggregates(metrics: Iterable[str] = USAGE_METRICS) -> dict[str, Any]:
    """These ``USAGE_METRICS`` of annotated rows, as aggregate expressions named ``s_<metric>``
    (a name may not shadow the model's own field)."""
    wanted = {f"s_{m}" for m in metrics}
    every = {
        "s_calls": Count("pk"),
        "s_unpriced_calls": Count("pk", filter=Q(cost_nanos__isnull=True)),
        "s_input_tokens": _sum(F("uncached_input_tokens") + F("cache_read_tokens") + F("cache_write_tokens")),
        "s_output_tokens": _sum("output_tokens"),
        "s_cost_nanos": _sum("cost_nanos"),
        "s_retry_nanos": _sum("cost_nanos", _RETRY),
        "s_failed_nanos": _sum("cost_nanos", _FAILED),
        "s_duplicate_nanos": _sum("cost_nanos", _DUPLICATE),
        "s_no_outcome_nanos": _sum("cost_nanos", Q(has_outcome=False)),
    }
    return {name: agg for name, agg in every.items() if name in wanted}


def recompute_aggregates() -> dict[str, Any]:
    return {
        "s_retry_nanos": _sum("cost_nanos", _RETRY),
        "s_failed_nanos": _sum("cost_nanos", _FAILED),
        "s_duplicate_nanos": _sum("cost_nanos", _DUPLICATE),
    }


RECOMPUTE_ROWS = _RETRY | _FAILED | _DUPLICATE


def outcome_aggregates() -> dict[str, Any]:
    return {
        "s_outcomes": Count("pk"),
        "s_successes": Count("pk", filter=Q(success=True)),
        "s_value_nanos": _sum("value_nanos", Q(success=True)),
    }


def _merge(into: Totals, rows: Iterable[dict[str, Any]], keys: list[str], metrics: Iterable[str]) -> None:
    for row in rows:
        key = tuple(row[k] for k in keys)
        bucket = into.setdefault(key, {})
        for m in metrics:
            bucket[m] = bucket.get(m, 0) + int(row[f"s_{m}"] or 0)


def usage_totals(window: ReportWindow, group_by: list[str], metrics: Iterable[str] = USAGE_METRICS) -> Totals:
    """``metrics`` (of ``USAGE_METRICS``) per ``group_by`` key (fields of ``UsageDaily``: day, feature...)."""
    metrics = tuple(metrics)
    rolled, raw_q = window.split()
    totals: Totals = {}
    if rolled:
        daily = UsageDaily.objects.filter(window.tag_q(), project=window.project, day__in=rolled)
        _merge(
            totals,
            daily.values(*group_by).annotate(**{f"s_{m}": Sum(m) for m in metrics}).order_by(),
            group_by,
            metrics,
        )
    if raw_q is not None:
        rows = usage_annotated(
            UsageRecord.objects.filter(raw_q, window.tag_q(), project=window.project),
            window.tz,
            duplicate="duplicate_nanos" in metrics,
            outcome="no_outcome_nanos" in metrics,
        )
        _merge(totals, rows.values(*group_by).annotate(**usage_aggregates(metrics)).order_by(), group_by, metrics)
    return totals


def recompute_totals(window: ReportWindow, group_by: list[str]) -> Totals:
    rolled, raw_q = window.split()
    totals: Totals = {}
    if rolled:
        daily = RecomputeDaily.objects.filter(window.tag_q(), project=window.project, day__in=rolled)
        _merge(
            totals,
            daily.values(*group_by).annotate(**{f"s_{m}": Sum(m) for m in RECOMPUTE_METRICS}).order_by(),
            group_by,
            RECOMPUTE_METRICS,
        )
    if raw_q is not None:
        rows = usage_annotated(
            UsageRecord.objects.filter(raw_q, window.tag_q(), project=window.project), window.tz, outcome=False
        ).filter(RECOMPUTE_ROWS)
        _merge(
            totals, rows.values(*group_by).annotate(**recompute_aggregates()).order_by(), group_by, RECOMPUTE_METRICS
        )
    return totals


def outcome_totals(window: ReportWindow, group_by: list[str]) -> Totals:
    """Outcomes per key. Outcomes carry no pipeline or key, so those filters do not apply to them."""
    rolled, raw_q = window.split()
    tags = window.tag_q(with_pipeline=False, with_api_key=False)
    totals: Totals = {}
    if rolled:
        daily = OutcomeDaily.objects.filter(tags, project=window.project, day__in=rolled)
        _merge(
            totals,
            daily.values(*group_by).annotate(**{f"s_{m}": Sum(m) for m in OUTCOME_METRICS}).order_by(),
            group_by,
            OUTCOME_METRICS,
        )
    if raw_q is not None:
        rows = Outcome.objects.filter(raw_q, tags, project=window.project).annotate(
            day=TruncDate("occurred_at", tzinfo=window.tz)
        )
        _merge(totals, rows.values(*group_by).annotate(**outcome_aggregates()).order_by(), group_by, OUTCOME_METRICS)
    return totals


# --- the reports -----------------------------------------------------------------------------------

GroupBy = Literal["feature", "customer", "day"]


def _key_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def cost_per_outcome(window: ReportWindow, *, group_by: GroupBy = "feature") -> dict[str, Any]:
    """Total cost (failed and retried attempts included) per successful outcome, by ``group_by``."""
    usage = usage_totals(window, [group_by], ("calls", "unpriced_calls", "cost_nanos", "no_outcome_nanos"))
    outcomes = outcome_totals(window, [group_by])
    rows = []
    for key in sorted(set(usage) | set(outcomes), key=lambda k: str(k[0])):
        u, o = usage.get(key, {}), outcomes.get(key, {})
        cost, successes = u.get("cost_nanos", 0), o.get("successes", 0)
        rows.append(
            {
                group_by: _key_value(key[0]),
                "cost_usd": _usd(cost),
                "calls": u.get("calls", 0),
                "unpriced_calls": u.get("unpriced_calls", 0),
                "successful_outcomes": successes,
                "outcomes": o.get("outcomes", 0),
                "cost_per_outcome": _usd(cost // successes) if successes else None,
                "no_outcome_cost_usd": _usd(u.get("no_outcome_nanos", 0)),
            }
        )
    total_cost = sum(u["cost_nanos"] for u in usage.values())
    total_successes = sum(o["successes"] for o in outcomes.values())
    return {
        "group_by": group_by,
        "rows": rows,
        "totals": {
            "cost_usd": _usd(total_cost),
            "successful_outcomes": total_successes,
            "cost_per_outcome": _usd(total_cost // total_successes) if total_successes else None,
            "no_outcome_cost_usd": _usd(sum(u["no_outcome_nanos"] for u in usage.values())),
            "unpriced_calls": sum(u["unpriced_calls"] for u in usage.values()),
        },
    }


def _service_names(ids: Iterable[int | None]) -> dict[int, str]:
    return dict(ApiKey.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name"))


def recompute(window: ReportWindow, *, top: int = 10) -> dict[str, Any]:
    """Spend on retries, duplicates and failures: per day, in total, and its top sources."""
    by_day = usage_totals(window, ["day"], ("cost_nanos", "retry_nanos", "duplicate_nanos", "failed_nanos"))
    rows = []
    totals = dict.fromkeys(("cost_nanos", "retry_nanos", "duplicate_nanos", "failed_nanos"), 0)
    for day in window.days():
        u = by_day.get((day,), {})
        for m in totals:
            totals[m] += u.get(m, 0)
        recomputed = u.get("retry_nanos", 0) + u.get("duplicate_nanos", 0) + u.get("failed_nanos", 0)
        cost = u.get("cost_nanos", 0)
        rows.append(
            {
                "day": day.isoformat(),
                "cost_usd": _usd(cost),
                "retry_usd": _usd(u.get("retry_nanos", 0)),
                "duplicate_usd": _usd(u.get("duplicate_nanos", 0)),
                "failed_usd": _usd(u.get("failed_nanos", 0)),
                "recompute_usd": _usd(recomputed),
                "recompute_rate": round(recomputed / cost, 4) if cost else None,
            }
        )
    dims = ["pipeline", "step", "provider", "model", "api_key_id"]
    sources = recompute_totals(window, dims)
    names = _service_names(k[4] for k in sources)
    ranked = sorted(sources.items(), key=lambda item: -sum(item[1].values()))[:top]
    recomputed_total = totals["retry_nanos"] + totals["duplicate_nanos"] + totals["failed_nanos"]
    return {
        "rows": rows,
        "totals": {
            "cost_usd": _usd(totals["cost_nanos"]),
            "retry_usd": _usd(totals["retry_nanos"]),
            "duplicate_usd": _usd(totals["duplicate_nanos"]),
            "failed_usd": _usd(totals["failed_nanos"]),
            "recompute_usd": _usd(recomputed_total),
            "recompute_rate": round(recomputed_total / totals["cost_nanos"], 4) if totals["cost_nanos"] else None,
        },
        "top_sources": [
            {
                "pipeline": k[0],
                "step": k[1],
                "provider": k[2],
                "model": k[3],
                "service": names.get(k[4], "") if k[4] else "",
                "recompute_usd": _usd(sum(v.values())),
                "retry_usd": _usd(v["retry_nanos"]),
                "duplicate_usd": _usd(v["duplicate_nanos"]),
                "failed_usd": _usd(v["failed_nanos"]),
            }
            for k, v in ranked
        ],
    }


def margin(window: ReportWindow, *, group_by: Literal["customer", "feature"] = "customer") -> dict[str, Any]:
    """Value of successful outcomes minus AI cost, per customer or feature; negative margins listed."""
    usage = usage_totals(window, [group_by], ("cost_nanos",))
    outcomes = outcome_totals(window, [group_by])
    rows = []
    for key in set(usage) | set(outcomes):
        value, cost = outcomes.get(key, {}).get("value_nanos", 0), usage.get(key, {}).get("cost_nanos", 0)
        rows.append(
            {
                group_by: key[0],
                "value_usd": _usd(value),
                "cost_usd": _usd(cost),
                "margin_usd": _usd(value - cost),
                "negative": value - cost < 0,
                "_margin": value - cost,
            }
        )
    rows.sort(key=lambda r: (r["_margin"], str(r[group_by])))
    for r in rows:
        del r["_margin"]
    return {"group_by": group_by, "rows": rows, "negative": [r[group_by] for r in rows if r["negative"]]}


def _budget_window(budget: Budget, counter: BudgetCounter, source: Source) -> ReportWindow | None:
    tz = ZoneInfo(budget.project.time_zone)
    filters: dict[str, Any] = {}
    if budget.scope == BudgetScope.API_KEY:
        filters["api_key_id"] = budget.api_key_id
    elif budget.scope != BudgetScope.PROJECT:
        filters[budget.scope] = budget.scope_value
    today = timezone.now().astimezone(tz).date()
    if counter.period_start is not None and counter.period_end is not None:
        start = counter.period_start.astimezone(tz).date()
        end = min(today, (counter.period_end - timedelta(seconds=1)).astimezone(tz).date())
    else:
        first = UsageRecord.objects.filter(project=budget.project).aggregate(first=Min("occurred_at"))["first"]
        if first is None:
            return None
        start, end = first.astimezone(tz).date(), today
    return ReportWindow(project=budget.project, start=start, end=max(start, end), source=source, **filters)


def budget_burn_down(project: Project, *, budget_id: int | None = None, source: Source = "auto") -> dict[str, Any]:
    """Each enabled budget's current period: spend to date (from the ledger) vs limit, with the
    counter's live holds and a linear forecast of spend at period end."""
    budgets = Budget.objects.filter(project=project, enabled=True).select_related("project", "api_key")
    if budget_id is not None:
        budgets = budgets.filter(pk=budget_id)
    now = timezone.now()
    rows = []
    for budget in budgets.order_by("name"):
        period = period_for(period=budget.period, tz=ZoneInfo(project.time_zone), at=now)
        counter = BudgetCounter.objects.filter(budget=budget, period_key=period.key).first() or BudgetCounter(
            budget=budget,
            period_key=period.key,
            period_start=period.start,
            period_end=period.end,
            limit_nanos=usd_to_nanos(budget.limit_usd),
        )
        window = _budget_window(budget, counter, source)
        daily = usage_totals(window, ["day"], ("cost_nanos",)) if window else {}
        cumulative, series = 0, []
        for day in window.days() if window else []:
            spent_day = daily.get((day,), {}).get("cost_nanos", 0)
            cumulative += spent_day
            series.append({"day": day.isoformat(), "spent_usd": _usd(spent_day), "cumulative_usd": _usd(cumulative)})
        forecast = None
        if counter.period_start is not None and counter.period_end is not None:
            elapsed = (now - counter.period_start).total_seconds()
            length = (counter.period_end - counter.period_start).total_seconds()
            if elapsed > 0:
                forecast = int(cumulative * length / elapsed)
        limit = counter.limit_nanos
        rows.append(
            {
                "budget": budget.name,
                "budget_id": budget.pk,
                "scope": budget.scope_label,
                "mode": budget.mode,
                "period": budget.period,
                "period_key": counter.period_key,
                "period_start": counter.period_start.isoformat() if counter.period_start else None,
                "period_end": counter.period_end.isoformat() if counter.period_end else None,
                "limit_usd": _usd(limit),
                "spent_usd": _usd(cumulative),
                "held_usd": _usd(counter.held_nanos),
                "remaining_usd": _usd(limit - cumulative),
                "spent_pct": round(100 * cumulative / limit, 2) if limit else None,
                "forecast_usd": _usd(forecast),
                "forecast_pct": round(100 * forecast / limit, 2) if forecast is not None and limit else None,
                "will_exceed": forecast is not None and forecast > limit,
                "daily": series,
            }
        )
    return {"rows": rows, "at": now.isoformat()}


def missing_prices(window: ReportWindow) -> dict[str, Any]:
    """Models called without a price: their cost is unknown (never counted as zero)."""
    lo, hi = window.bounds(window.start, window.end)
    rows = (
        UsageRecord.objects.filter(
            window.tag_q(), project=window.project, cost_nanos__isnull=True, occurred_at__gte=lo, occurred_at__lt=hi
        )
        .values("provider", "model")
        .annotate(
            calls=Count("pk"),
            input_tokens=_sum(F("uncached_input_tokens") + F("cache_read_tokens") + F("cache_write_tokens")),
            output_tokens=_sum("output_tokens"),
            first_seen=Min("occurred_at"),
            last_seen=Max("occurred_at"),
        )
        .order_by("-calls", "provider", "model")
    )
    return {
        "rows": [
            {**r, "first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat()} for r in rows
        ]
    }
