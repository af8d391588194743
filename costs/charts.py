"""Server-rendered SVG bar charts for the admin dashboards: geometry only, no JS. Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    css: str = ""


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    max_value: Decimal
    limit_y: float | None = None  # a horizontal reference line (a budget limit)


def bar_chart(
    points: Sequence[tuple[str, Decimal | str | None]],
    *,
    width: int = 720,
    height: int = 160,
    limit: Decimal | None = None,
    css: Sequence[str] | None = None,
) -> BarChart:
    """Bars scaled to the largest value (or the limit, when higher)."""
    values = [Decimal(v) if v is not None else Decimal(0) for _, v in points]
    top = max([*values, limit or Decimal(0), Decimal("0.000001")])
    slot = width / max(len(points), 1)
    bars = []
    for i, ((label, _), value) in enumerate(zip(points, values, strict=True)):
        h = float(value / top) * (height - 10)
        bars.append(
            Bar(
                label=label,
                value=value,
                x=i * slot + 1,
                y=height - h,
                width=max(slot - 2, 1),
                height=h,
                css=css[i] if css else "",
            )
        )
    limit_y = height - float(limit / top) * (height - 10) if limit is not None else None
    return BarChart(bars=tuple(bars), width=width, height=height, max_value=top, limit_y=limit_y)
