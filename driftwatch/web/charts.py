"""Line charts drawn on the server as inline SVG: a sparkline and a time series with its threshold.

No chart library, no CDN, no JavaScript: a page with its charts renders offline and with scripts
off. Each builder returns ``Markup`` (already safe SVG) that the autoescaping templates embed as
is, so every piece of text that goes into a chart (titles, dates, labels) is escaped here with
``markupsafe.escape``. Colours come from classes styled in ``static/style.css`` (light and dark
mode), never from inline styles.

A value ``v`` of the domain ``[lo, hi]`` lands at ``scale(v, lo, hi, a, b) = a + (v - lo) / (hi - lo)
* (b - a)``; for y, ``a`` is the bottom of the plot, since SVG's y axis points down. Missing and
non-finite values (None, NaN, ±inf) are gaps: the line breaks there instead of dropping to zero.

>>> str(sparkline([0.0, 1.0], lo=0, hi=1, width=100, height=20))  # doctest: +ELLIPSIS
'<svg class="chart spark" ...><path class="series" d="M2 18L98 2"/><circle class="last" cx="98" cy="2" r="2"/></svg>'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

__all__ = ["Point", "finite", "fmt_value", "scale", "sparkline", "svg_open", "timeseries"]


@dataclass(frozen=True)
class Point:
    """One figure of a time series: when (the window end), the value, the threshold it was
    compared with and the status it got (``alert``/``warn``/``error`` points are marked)."""

    at: datetime
    value: float | None
    threshold: float | None = None
    status: str = "ok"


def finite(value: object) -> float | None:
    """``value`` as a float when it is a finite number, else ``None`` (a gap in a chart).

    >>> finite(1), finite(float("nan")), finite(None), finite("3")
    (1.0, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def scale(value: float, lo: float, hi: float, a: float, b: float) -> float:
    """Map ``value`` from ``[lo, hi]`` to ``[a, b]``; the middle of ``[a, b]`` when ``lo == hi``.

    >>> scale(5, 0, 10, 100, 0), scale(3, 3, 3, 0, 10)
    (50.0, 5.0)
    """
    if hi == lo:
        return (a + b) / 2
    return a + (value - lo) / (hi - lo) * (b - a)


def num(x: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros (``12.0`` -> ``12``)."""
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_value(value: float | None) -> str:
    """A figure for people: four significant digits, ``–`` for missing.

    >>> fmt_value(0.123456), fmt_value(12345678.0), fmt_value(None)
    ('0.1235', '1.235e+07', '–')
    """
    number = finite(value)
    return "–" if number is None else f"{number:.4g}"


def svg_open(kind: str, width: float, height: float, title: str) -> str:
    """The opening ``<svg>`` tag and its ``<title>`` (escaped): scalable through the viewBox."""
    return (f'<svg class="chart {kind}" viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" '
            f'height="{num(height)}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>")


def domain(values: Sequence[float], lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    """``(lo, hi)`` covering ``values`` (given bounds win); never empty, so nothing divides by zero.

    >>> domain([2.0, 4.0]), domain([3.0]), domain([], lo=0, hi=1)
    ((2.0, 4.0), (2.7, 3.3), (0, 1))
    """
    low = min(values) if lo is None and values else lo
    high = max(values) if hi is None and values else hi
    if low is None or high is None:
        low, high = (0.0, 1.0) if low is None and high is None else (low or high or 0.0,) * 2
    if high < low:
        low, high = high, low
    if high == low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    return low, high


def path(points: Sequence[tuple[float, float] | None]) -> str:
    """SVG path data through ``points``; ``None`` breaks the line (a new ``M`` after the gap).

    >>> path([(0, 1), (2, 3), None, (4, 5)])
    'M0 1L2 3M4 5'
    """
    parts: list[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{num(point[0])} {num(point[1])}")
        pen_down = True
    return "".join(parts)


def _empty(kind: str, width: float, height: float, title: str) -> Markup:
    return Markup(svg_open(kind + " empty", width, height, title)
                  + f'<text class="note" x="{num(width / 2)}" y="{num(height / 2)}" text-anchor="middle" '
                  f'dominant-baseline="middle">no data</text></svg>')


def sparkline(values: Sequence[float | None], *, lo: float | None = None, hi: float | None = None,
              alerts: Sequence[bool] = (), width: float = 120, height: float = 28, title: str = "trend") -> Markup:
    """A small line of ``values`` (oldest first) with the latest point dotted and alerting ones
    (``alerts[i]`` true) ringed: the overview shows one per monitor, so it stays tiny."""
    pad = 2.0
    numbers = [finite(v) for v in values]
    known = [v for v in numbers if v is not None]
    if not known:
        return _empty("spark", width, height, title)
    low, high = domain(known, lo, hi)
    last = max(1, len(numbers) - 1)
    xy = [None if v is None else (scale(i, 0, last, pad, width - pad) if len(numbers) > 1 else width / 2,
                                  scale(v, low, high, height - pad, pad))
          for i, v in enumerate(numbers)]
    parts = [svg_open("spark", width, height, title), f'<path class="series" d="{path(xy)}"/>']
    for point, alerting in zip(xy, alerts):
        if point is not None and alerting:
            parts.append(f'<circle class="point alert" cx="{num(point[0])}" cy="{num(point[1])}" r="2.5"/>')
    final = next(p for p in reversed(xy) if p is not None)
    parts.append(f'<circle class="last" cx="{num(final[0])}" cy="{num(final[1])}" r="2"/></svg>')
    return Markup("".join(parts))


def _date_format(times: Sequence[datetime]) -> str:
    return "%Y-%m-%d" if max(times) - min(times) >= timedelta(days=3) else "%m-%d %H:%M"


#: Statuses marked with a point on a time series; the class names the status, the title says it.
MARKED = ("alert", "warn", "error")


def timeseries(points: Sequence[Point], *, title: str, width: float = 640, height: float = 200) -> Markup:
    """A value-over-windows chart: the series, its threshold (dashed; a straight line when it never
    changed) and a marker on each ``alert``/``warn``/``error`` window. Failed windows with no value
    are marked on the bottom edge, so a broken run is visible where the line has a gap."""
    if not points:
        return _empty("series", width, height, title)
    left, right, top, bottom = 52.0, width - 12.0, 12.0, height - 26.0
    values = [finite(p.value) for p in points]
    limits = [finite(p.threshold) for p in points]
    low, high = domain([v for v in values + limits if v is not None])
    span = high - low
    low, high = low - span * 0.05, high + span * 0.05
    t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()

    def x(i: int) -> float:
        return scale(points[i].at.timestamp(), t0, t1, left, right)

    def y(v: float) -> float:
        return scale(v, low, high, bottom, top)

    def xy(series: list[float | None]) -> list[tuple[float, float] | None]:
        return [None if v is None else (x(i), y(v)) for i, v in enumerate(series)]

    parts = [svg_open("series", width, height, title)]
    for v in (high, (low + high) / 2, low):
        parts.append(f'<line class="grid" x1="{num(left)}" x2="{num(right)}" y1="{num(y(v))}" y2="{num(y(v))}"/>'
                     f'<text class="tick" x="{num(left - 4)}" y="{num(y(v))}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(fmt_value(v))}</text>')
    fmt = _date_format([p.at for p in points])
    first, final = points[0].at.strftime(fmt), points[-1].at.strftime(fmt)
    parts.append(f'<text class="tick" x="{num(left)}" y="{num(height - 8)}">{escape(first)}</text>')
    if len(points) > 1:
        parts.append(f'<text class="tick" x="{num(right)}" y="{num(height - 8)}" text-anchor="end">'
                     f"{escape(final)}</text>")
    known_limits = {v for v in limits if v is not None}
    if len(known_limits) == 1:
        level = y(known_limits.pop())
        parts.append(f'<path class="threshold" d="M{num(left)} {num(level)}H{num(right)}"/>')
    elif known_limits:
        parts.append(f'<path class="threshold" d="{path(xy(limits))}"/>')
    parts.append(f'<path class="series" d="{path(xy(values))}"/>')
    for i, (point, value) in enumerate(zip(points, values)):
        alone = (i == 0 or values[i - 1] is None) and (i + 1 == len(values) or values[i + 1] is None)
        lone = value is not None and alone  # a point with no neighbours draws no line: dot it
        if point.status not in MARKED and not lone:
            continue
        cy = y(value) if value is not None else bottom
        kind = point.status if point.status in MARKED else "ok"
        label = f"{point.at.strftime(fmt)}: {fmt_value(value)} ({point.status})"
        parts.append(f'<circle class="point {kind}" cx="{num(x(i))}" cy="{num(cy)}" r="3.5">'
                     f"<title>{escape(label)}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))
