"""How one performance metric's value is judged: ``MetricRule`` (``rules.<metric>``) and ``judge``.

Three rules, per metric: ``min`` / ``max`` (an absolute floor or ceiling), ``max_drop`` (worse
than the reference value by more than this, in the metric's own units), or neither, ``auto``: the
current value alerts when it falls outside the central ``confidence`` interval of the reference
metric bootstrapped at the current window's size, on the worse side. An improvement never
alerts. Realised metrics and label-free estimates are judged alike.

Split from ``performance``, which computes the values (realised on labelled rows, estimated
without labels): turning a value into ``ok`` / ``alert`` with its threshold and details is a
job of its own, the same for every metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import Finding
from .bootstrap import Bootstrap
from .metrics import Labels, Metric

__all__ = ["MetricRule", "judge"]


@dataclass(frozen=True)
class MetricRule:
    """How one metric is judged (``[monitors.detectors.rules.<metric>]``); none set = auto."""

    min: float | None = None
    max: float | None = None
    max_drop: float | None = None

    def __post_init__(self) -> None:
        for key in ("min", "max", "max_drop"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{key}: must be a number, got {value!r}")
        if self.max_drop is not None and self.max_drop < 0:
            raise ValueError(f"max_drop: must be >= 0, got {self.max_drop!r}")


def judge(metric: Metric, name: str, ref: Labels, cur: Labels | None, n: int | None, resampled: Bootstrap, *,
          rule: MetricRule, min_rows: int, confidence: float, reason: str, value: float | None = None) -> Finding:
    """The finding ``name`` for ``metric``: ``value`` (an estimate) or the metric of ``cur``,
    judged by ``rule`` against ``ref``'s value; ``insufficient_data`` with fewer than
    ``min_rows`` rows (``reason`` says why when given), ``error`` when ``ref`` has no value."""
    details: dict[str, Any] = {"higher_is_better": metric.higher_is_better}
    try:
        details["reference"] = metric.compute(ref)
    except ValueError as exc:
        return Finding("", name, None, "error", details={"error": f"reference: {exc}"})
    if value is None:
        if cur is None or n is None or n < min_rows:
            details["reason"] = reason or f"fewer than min_rows={min_rows} labelled rows"
            return Finding("", name, None, "insufficient_data", details=details)
        try:
            value = metric.compute(cur)
        except ValueError as exc:
            details["error"] = str(exc)
            return Finding("", name, None, "insufficient_data", details=details)
    details["n"] = n
    if metric.name == "mape" and cur is not None:
        details["zero_targets_excluded"] = int(np.count_nonzero(np.asarray(cur.y_true) == 0))
    if not np.isfinite(value):
        details["reason"] = "undefined on this window"
        return Finding("", name, None, "insufficient_data", details=details)
    higher = metric.higher_is_better
    bound: float
    if rule.min is not None or rule.max is not None:
        breached = (rule.min is not None and value < rule.min) or (rule.max is not None and value > rule.max)
        use_min = rule.min is not None and (higher or rule.max is None)
        bound = float(rule.min if use_min else rule.max)  # type: ignore[arg-type]
        details["rule"] = "min" if use_min else "max"
    else:
        if rule.max_drop is not None:
            bound = details["reference"] - rule.max_drop if higher else details["reference"] + rule.max_drop
            details["rule"] = "max_drop"
        else:
            low, high = resampled.interval(metric, n or 0, confidence)
            details.update({"rule": "auto", "interval": [low, high], "confidence": confidence})
            bound = low if higher else high
        breached = value < bound if higher else value > bound
    return Finding("", name, value, "alert" if breached else "ok", threshold=bound, details=details)
