"""Calendar periods of budgets, in the project's time zone. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from costs.choices import BudgetPeriod


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime | None
    end: datetime | None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def period_for(*, period: str, tz: ZoneInfo, at: datetime) -> Period:
    """The calendar period containing ``at`` in the time zone ``tz`` (DST-safe: local midnights)."""
    local = at.astimezone(tz).date()
    if period == BudgetPeriod.DAY:
        return Period(local.isoformat(), _midnight(local, tz), _midnight(local + timedelta(days=1), tz))
    if period == BudgetPeriod.WEEK:
        monday = local - timedelta(days=local.weekday())
        iso = monday.isocalendar()
        return Period(f"{iso.year}-W{iso.week:02d}", _midnight(monday, tz), _midnight(monday + timedelta(days=7), tz))
    if period == BudgetPeriod.MONTH:
        first = local.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(first.strftime("%Y-%m"), _midnight(first, tz), _midnight(following, tz))
    return Period("total", None, None)
