"""One run's stored results arranged as the drift report: what ``/runs/{id}`` shows.

Drift, data quality and anything else per feature go into one table, worst first (``SEVERITY``:
error, alert, warn, insufficient data, ok); each drift result with stored bins gets its two
distributions drawn, the drifted ones first and open. Performance figures and, per sensitive
column, fairness disparities and per-group rates get their own tables, because their columns
(reference value, confidence interval, group counts) mean nothing for a drift test. A
performance figure that alerted names the segments its drop came from (``details.segments``,
``driftwatch.segment_causes``), each linked to that segment's own report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ..model import SEVERITY
from ..store.results import StoredResult
from .charts import finite, fmt_value
from .charts_dist import distribution

__all__ = ["Distribution", "FairnessTable", "GroupRow", "PerformanceRow", "RunReport", "SegmentShare", "build_report",
           "segment_shares"]


@dataclass(frozen=True)
class Distribution:
    """The reference and current distributions of one feature, drawn."""

    feature: str
    method: str
    status: str
    kind: str
    chart: Markup
    n_ref: object
    n_cur: object

    @property
    def drifted(self) -> bool:
        return self.status in ("alert", "warn")


@dataclass(frozen=True)
class SegmentShare:
    """One segment a performance drop came from: its figure, its own reference, its share."""

    segment: str
    value: float | None
    reference: float | None
    share_of_drop: float


@dataclass(frozen=True)
class PerformanceRow:
    """A model-quality figure next to its reference value and the bound it was held to, and the
    segments its drop came from (none unless it alerted in a monitor with segments)."""

    result: StoredResult
    reference: str
    interval: str
    n: str
    segments: tuple[SegmentShare, ...] = ()


@dataclass(frozen=True)
class GroupRow:
    """The rates of one group of a sensitive column."""

    group: str
    count: str
    selection_rate: str
    tpr: str
    fpr: str
    precision: str
    status: str


@dataclass(frozen=True)
class FairnessTable:
    """One sensitive column: its disparities and the per-group rates behind them."""

    attribute: str
    metrics: list[StoredResult]
    groups: list[GroupRow]
    excluded: list[str]


@dataclass(frozen=True)
class RunReport:
    """Everything ``run.html`` draws for one run."""

    rows: list[StoredResult]
    distributions: list[Distribution]
    performance: list[PerformanceRow]
    fairness: list[FairnessTable]
    counts: dict[str, int]
    detectors: list[str]


def severity_key(row: StoredResult) -> tuple[int, str, str, str, int]:
    """Worst status first, then detector, feature and metric, so equal reports list alike."""
    return (-SEVERITY.get(row.status, 0), row.detector, row.feature, row.metric, row.id)


def _text(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_value(value) if isinstance(value, float) else str(value)
    return str(value)


def _interval(details: Mapping[str, Any]) -> str:
    interval = details.get("interval")
    if isinstance(interval, list) and len(interval) == 2:
        return f"[{fmt_value(finite(interval[0]))}, {fmt_value(finite(interval[1]))}]"
    return "–"


def segment_shares(details: Mapping[str, Any]) -> tuple[SegmentShare, ...]:
    """The ``segments`` of a performance finding's details that can be shown: each a mapping
    with a text ``segment`` and a finite ``share_of_drop``; anything else is skipped, as stored
    details may come from another version.

    >>> segment_shares({"segments": [{"segment": "country=BR", "value": 0.6, "reference": 0.9,
    ...                               "share_of_drop": 0.8}, {"segment": 3}, "junk"]})
    (SegmentShare(segment='country=BR', value=0.6, reference=0.9, share_of_drop=0.8),)
    """
    found = details.get("segments")
    if not isinstance(found, list):
        return ()
    return tuple(SegmentShare(entry["segment"], finite(entry.get("value")), finite(entry.get("reference")), share)
                 for entry in found
                 if isinstance(entry, Mapping) and isinstance(entry.get("segment"), str)
                 and (share := finite(entry.get("share_of_drop"))) is not None)


def _group_name(group: object) -> str:
    return "/".join(str(part) for part in group) if isinstance(group, list) else str(group)


def _fairness(rows: Sequence[StoredResult]) -> list[FairnessTable]:
    by_attribute: dict[str, list[StoredResult]] = {}
    group_status: dict[str, str] = {}
    for row in rows:
        if "=" in row.feature:
            group_status[row.feature] = row.status
        else:
            by_attribute.setdefault(row.feature, []).append(row)
    tables = []
    for attribute, metrics in sorted(by_attribute.items()):
        source = next((m.details for m in metrics if isinstance(m.details.get("groups"), list)), {})
        groups = []
        for entry in source.get("groups", []):
            if not isinstance(entry, dict):
                continue
            name = _group_name(entry.get("group"))
            groups.append(GroupRow(name, _text(entry.get("count")), _text(entry.get("selection_rate")),
                                   _text(entry.get("tpr")), _text(entry.get("fpr")), _text(entry.get("precision")),
                                   group_status.get(f"{attribute}={name}", "ok")))
        excluded = [_group_name(e.get("group") if isinstance(e, dict) else e) for e in source.get("excluded", [])]
        tables.append(FairnessTable(attribute, sorted(metrics, key=severity_key), groups, excluded))
    return tables


def build_report(results: Sequence[StoredResult]) -> RunReport:
    """Arrange one run's ``results`` (one segment's, or the whole window's) into the report's tables
    and charts."""
    main: list[StoredResult] = []
    performance: list[PerformanceRow] = []
    fairness: list[StoredResult] = []
    charts: list[Distribution] = []
    for row in results:
        if row.detector == "performance":
            performance.append(PerformanceRow(row, _text(row.details.get("reference")), _interval(row.details),
                                              _text(row.details.get("n")), segment_shares(row.details)))
            continue
        if row.detector == "fairness" and row.feature:
            fairness.append(row)
            continue
        main.append(row)
        if row.detector == "drift" and row.feature:
            kind = str(row.details.get("kind", "numeric"))
            chart = distribution(row.details.get("bins"), kind=kind,
                                 title=f"{row.feature}: reference and current distribution")
            if chart is not None:
                charts.append(Distribution(row.feature, row.metric, row.status, kind, chart,
                                           row.details.get("n_ref"), row.details.get("n_cur")))
    main.sort(key=severity_key)
    charts.sort(key=lambda d: (not d.drifted, -SEVERITY.get(d.status, 0), d.feature))
    performance.sort(key=lambda p: severity_key(p.result))
    counts: dict[str, int] = {}
    for row in results:
        counts[row.status] = counts.get(row.status, 0) + 1
    return RunReport(main, charts, performance, _fairness(fairness), counts, sorted({r.detector for r in main}))
