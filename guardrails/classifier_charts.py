"""A server-rendered SVG of a classifier version's precision/recall curve.

Only numbers go into the markup (formatted floats, no text from users or files), which is
why the result may be marked safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 420, 300, 44


def _xy(recall: float, precision: float) -> tuple[float, float]:
    x = PAD + recall * (WIDTH - 2 * PAD)
    y = HEIGHT - PAD - precision * (HEIGHT - 2 * PAD)
    return round(x, 1), round(y, 1)


def _number(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    return min(1.0, max(0.0, number)) if number == number else 0.0


def pr_curve_svg(points: Sequence[Mapping[str, float]], *, marked_threshold: float | None = None) -> SafeString:
    """Precision (y) against recall (x), one point per threshold of the calibration grid, with
    the point at ``marked_threshold`` (the policy's or the default) drawn in red."""
    clean = sorted(
        ((_number(p.get("recall", 0)), _number(p.get("precision", 0)), _number(p.get("threshold", 0))) for p in points),
        key=lambda t: (t[0], -t[1]),
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-label="precision/recall curve" class="pr-curve">',
        f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" stroke="#ccc"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, _ = _xy(tick, 0)
        _, y = _xy(0, tick)
        parts.append(f'<text x="{x}" y="{HEIGHT - PAD + 16}" font-size="11" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{PAD - 6}" y="{y + 4}" font-size="11" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle">recall</text>')
    parts.append(
        f'<text x="12" y="{HEIGHT / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {HEIGHT / 2})">precision</text>'
    )
    if clean:
        path = " ".join(f"{x},{y}" for x, y in (_xy(r, p) for r, p, _ in clean))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#417690" stroke-width="2"/>')
        for r, p, t in clean:
            x, y = _xy(r, p)
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="#417690"><title>threshold {t:g}</title></circle>')
    if marked_threshold is not None and clean:
        r, p, t = min(clean, key=lambda c: abs(c[2] - marked_threshold))
        x, y = _xy(r, p)
        parts.append(f'<circle cx="{x}" cy="{y}" r="5" fill="#ba2121"><title>threshold {t:g}</title></circle>')
        parts.append(
            f'<text x="{min(x + 8, WIDTH - PAD)}" y="{max(y - 8, PAD + 10)}" font-size="11" fill="#ba2121">'
            f"threshold {t:g}: recall {r:.2f}, precision {p:.2f}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only, see the module docstring
