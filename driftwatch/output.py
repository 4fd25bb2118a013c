"""How results look on a terminal: a readable table, or one JSON object per line.

The JSON lines are a public contract (documented in docs/api.md): one object per result with the
fields of ``Result.to_json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from .model import Result

COLUMNS = ("monitor", "window", "feature", "method", "value", "p_value", "threshold", "status", "why")

#: ``details.rule`` of a drift result, as the table's ``why`` says it.
_RULES = {"significant and at least the threshold": "significant, large enough",
          "not significant at this size": "not significant",
          "significant but under the threshold": "under threshold"}


def json_lines(results: Iterable[Result]) -> str:
    """One compact JSON object per result, newline-terminated."""
    return "".join(json.dumps(r.to_json(), ensure_ascii=False, allow_nan=False) + "\n" for r in results)


def window_text(start: datetime | None, end: datetime | None) -> str:
    """A window as the tables show it: the day for a whole UTC day, else start..end."""
    if start is None or end is None:
        return "-"
    if start.time() == end.time() == datetime.min.time():
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M}..{end:%H:%M}"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or (1e-3 <= abs(value) < 1e6):
        return f"{value:.4f}".rstrip("0").rstrip(".") if not float(value).is_integer() else f"{value:.0f}"
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def shown(results: Iterable[Result], *, everything: bool = False) -> list[Result]:
    """The rows a person wants to see: every drift figure and any other figure that is not ok."""
    return [r for r in results if everything or r.detector == "drift" or r.status != "ok"]


def why(result: Result) -> str:
    """What decided a figure, in a few words: which part of the drift rule held or failed, or
    what a quality share was expected to be.

    >>> from datetime import timezone
    >>> why(Result("m", 1, None, None, "quality", "x", "out_of_range_share", 0.02, 1e-6, 0.01, "alert",
    ...            {"expected": 0.0066}))
    'expected 0.0066'
    """
    rule = result.details.get("rule")
    if isinstance(rule, str):
        return _RULES.get(rule, rule)
    expected = result.details.get("expected")
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return f"expected {_number(float(expected))}"
    return ""


def table(results: Sequence[Result]) -> str:
    """A plain aligned text table. ``value`` is the figure (a drift method's effect size),
    ``threshold`` its practical minimum, ``why`` what decided (see ``why``).

    >>> from datetime import timezone
    >>> r = Result("m", 1, datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc),
    ...            "drift", "age", "ks", 0.25, 0.001, 0.05, "alert",
    ...            {"rule": "significant and at least the threshold"})
    >>> print(table([r]))
    monitor  window      feature  method  value  p_value  threshold  status  why
    m        2026-11-01  age      ks      0.25   0.001    0.05       alert   significant, large enough
    """
    segmented = any(r.segment for r in results)  # a ``segment`` column only when some row has one
    rows: list[tuple[str, ...]] = [COLUMNS[:2] + ("segment",) * segmented + COLUMNS[2:]] + [
        (r.monitor, window_text(r.window_start, r.window_end)) + ((r.segment or "(all)",) if segmented else ())
        + (r.feature or "(data set)", r.metric, _number(r.value), _number(r.p_value), _number(r.threshold),
           r.status, why(r))
        for r in results
    ]
    return table_text(rows[0], rows[1:])


def table_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """``header`` and ``rows`` of text as columns two spaces apart, each as wide as its widest cell."""
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
