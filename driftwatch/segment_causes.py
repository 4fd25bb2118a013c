"""Which segments a performance drop came from: the per-segment half of its root cause.

When a whole window's performance metric alerts (realised or estimated), each segment of each
segment column has the same metric, its own reference value and its own row count. A segment's
part of the drop is its share of the window's rows times how much worse it got than its own
reference::

    contribution = n_segment / n_window × (reference_segment − value_segment)   (higher is better)

For a metric that is a mean over rows (accuracy, error rates, MAE) the contributions of a
column's segments add up to the whole drop when the mix of segments is unchanged; for F1 or
ROC AUC they are an approximation. ``share_of_drop`` is a segment's contribution over the sum
of those that worsened, so the segments that explain the drop sum to 1. The five largest, over
every segment column, go into ``details.segments`` of the whole window's finding, beside the
feature ``causes``.

>>> from driftwatch.model import Finding
>>> whole = Finding("", "accuracy", 0.8, "alert", details={"reference": 0.9, "n": 100, "higher_is_better": True})
>>> br = Finding("", "accuracy", 0.6, "alert", details={"reference": 0.9, "n": 40, "higher_is_better": True})
>>> us = Finding("", "accuracy", 0.85, "ok", details={"reference": 0.9, "n": 60, "higher_is_better": True})
>>> found = with_segment_causes([("", "performance", whole), ("country=BR", "performance", br),
...                              ("country=US", "performance", us)])
>>> [(s["segment"], round(s["share_of_drop"], 2)) for s in found[0][2].details["segments"]]
[('country=BR', 0.8), ('country=US', 0.2)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .model import Finding

#: Most segments a finding's details name.
TOP = 5
_DETECTOR = "performance"


def _figures(details: Mapping[str, Any]) -> tuple[float, int, bool] | None:
    reference, n = details.get("reference"), details.get("n")
    if not isinstance(reference, (int, float)) or not isinstance(n, int) or not math.isfinite(reference):
        return None
    return float(reference), n, bool(details.get("higher_is_better", True))


def segment_causes(metric: str, found: Sequence[tuple[str, str, Finding]]) -> list[dict[str, Any]]:
    """The segments whose ``metric`` worsened, largest contribution first, with their share."""
    by_column: dict[str, list[tuple[str, Finding, tuple[float, int, bool]]]] = {}
    for segment, detector, finding in found:
        if segment and detector == _DETECTOR and finding.metric == metric and finding.value is not None \
                and (figures := _figures(finding.details)) is not None:
            by_column.setdefault(segment.split("=", 1)[0], []).append((segment, finding, figures))
    ranked: list[dict[str, Any]] = []
    for rows in by_column.values():
        total_n = sum(n for _, _, (_, n, _) in rows)
        parts = []
        for segment, finding, (reference, n, higher) in rows:
            value = float(finding.value)  # type: ignore[arg-type]
            drop = reference - value if higher else value - reference
            parts.append((segment, finding, reference, n, drop, n / total_n * drop if total_n else 0.0))
        worsened = sum(c for *_, c in parts if c > 0)
        if worsened <= 0:
            continue
        ranked.extend({"segment": segment, "value": finding.value, "reference": reference, "n": n, "drop": drop,
                       "contribution": contribution, "share_of_drop": contribution / worsened,
                       "status": finding.status}
                      for segment, finding, reference, n, drop, contribution in parts if contribution > 0)
    ranked.sort(key=lambda c: (-c["share_of_drop"], c["segment"]))
    return ranked[:TOP]


def with_segment_causes(found: list[tuple[str, str, Finding]]) -> list[tuple[str, str, Finding]]:
    """``found`` with ``details.segments`` on each whole-window performance finding that alerts."""
    out = []
    for segment, detector, finding in found:
        if not segment and detector == _DETECTOR and finding.status == "alert":
            causes = segment_causes(finding.metric, found)
            if causes:
                finding = Finding(finding.feature, finding.metric, finding.value, finding.status,
                                  threshold=finding.threshold, p_value=finding.p_value,
                                  details={**finding.details, "segments": causes})
        out.append((segment, detector, finding))
    return out
