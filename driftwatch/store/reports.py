"""The queries behind the web pages: a handful of statements per page, each answered by an index.

A page must stay fast with 500 monitors × 1,000 runs × 50 features in the store, so nothing here
scans ``runs`` or ``results``:

* the list of monitors is a loose index scan (one ``MIN(monitor) > previous`` seek per monitor on
  ``ix_runs_monitor_window_end``) instead of ``SELECT DISTINCT`` over every run;
* each monitor's latest run, latest success and the start of its sparkline are correlated
  ``ORDER BY window_end DESC LIMIT 1`` seeks on the same index, all in the same statement;
* the sparklines of every monitor come from one join on
  ``ix_results_monitor_feature_metric_window_end``, a range per monitor;
* the run list pages by ``(window_end, id)`` (``before_id`` is the cursor), the order of
  ``ix_runs_monitor_window_end``, so page 20 costs what page 1 does;
* a run page reads one segment's results (the whole window's by default) and one grouped line
  per segment, both on ``ix_results_run_id``: the other segments' ``details`` are never decoded.

A monitor's own figures (sparklines, the monitor page's series) are its whole window's:
``segment = ''``. A monitor with ``segments`` stores the same detector, feature and metric
again for each segment, and those rows must not pass for the monitor's; the segment is a filter
on the rows the index range finds, not an index column.

``statements()`` hands the same statements to ``bench/web_bench.py``, which prints their plans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, Integer, String, TextClause, bindparam, case, func, select, text
from sqlalchemy.sql import Executable

from .alert_tables import outbox
from .queries import firing_counts_query, run_results_query, runs_page, runs_page_query
from .runs import RunRecord
from .runs import _record as run_record
from .tables import results as results_table
from .tables import runs as runs_table

__all__ = ["DataPoint", "MonitorRow", "SPARK_WINDOWS", "SEGMENT_ROWS", "SegmentRow", "SparkPoint",
           "dataset_series", "dead_outbox", "last_success", "latest_run", "monitor_overview",
           "run_page", "run_segments", "statements"]

#: How many windows the overview's sparkline covers.
SPARK_WINDOWS = 30
#: How many of the latest runs the monitor page charts.
CHART_RUNS = 100
#: The (detector, metric) of a segment's row count (``driftwatch.segments.DETECTOR``; not
#: imported, so the store needs no pandas).
SEGMENT_ROWS = ("segments", "rows")

_NAMES = """
WITH RECURSIVE names(name) AS (
    SELECT MIN(monitor) FROM runs
    UNION ALL
    SELECT (SELECT MIN(r.monitor) FROM runs r WHERE r.monitor > names.name) FROM names
    WHERE names.name IS NOT NULL
)"""

_OVERVIEW = text(_NAMES + """
SELECT name,
    (SELECT r.id FROM runs r WHERE r.monitor = names.name
     ORDER BY r.window_end DESC, r.id DESC LIMIT 1) AS last_id,
    (SELECT r.id FROM runs r WHERE r.monitor = names.name AND r.status = 'succeeded'
     ORDER BY r.window_end DESC, r.id DESC LIMIT 1) AS ok_id
FROM names WHERE name IS NOT NULL
""").columns(name=String(), last_id=Integer(), ok_id=Integer())

_SPARKS = text(_NAMES + """,
cut(name, since) AS MATERIALIZED (
    SELECT name, COALESCE(
        (SELECT s.window_end FROM results s
         WHERE s.monitor = names.name AND s.feature = '' AND s.metric = 'drift_share' AND s.segment = ''
         ORDER BY s.window_end DESC LIMIT 1 OFFSET :spark_offset),
        (SELECT s.window_end FROM results s
         WHERE s.monitor = names.name AND s.feature = '' AND s.metric = 'drift_share' AND s.segment = ''
         ORDER BY s.window_end LIMIT 1))
    FROM names WHERE name IS NOT NULL
)
SELECT r.monitor, r.window_end AS window_key, r.value, r.status
FROM cut JOIN results r
  ON r.monitor = cut.name AND r.feature = '' AND r.metric = 'drift_share' AND r.window_end >= cut.since
 AND r.segment = ''
ORDER BY r.monitor, r.window_end, r.id
""").bindparams(bindparam("spark_offset", SPARK_WINDOWS - 1, type_=Integer())).columns(
    monitor=String(), value=Float(), status=String())


@dataclass(frozen=True)
class DataPoint:
    """One data-set level figure of one window (the latest attempt's)."""

    detector: str
    metric: str
    window_end: datetime
    value: float | None
    threshold: float | None
    status: str
    run_id: int


@dataclass(frozen=True)
class SparkPoint:
    """One window's data-set drift share on the overview's sparkline."""

    value: float | None
    status: str


@dataclass(frozen=True)
class MonitorRow:
    """What the overview shows of one monitor that has runs in the store."""

    name: str
    last_run: RunRecord | None
    last_success: RunRecord | None


@dataclass(frozen=True)
class SegmentRow:
    """One segment of a run: how many rows it had and how many results, alerts among them."""

    segment: str
    results: int
    alerts: int
    rows: float | None
    rows_status: str | None


def _runs_by_id(conn: Connection, ids: set[int]) -> dict[int, RunRecord]:
    if not ids:
        return {}
    rows = conn.execute(select(runs_table).where(runs_table.c.id.in_(sorted(ids))))
    return {row.id: run_record(row) for row in rows}


def monitor_overview(conn: Connection) -> dict[str, MonitorRow]:
    """Every monitor with runs in the store: its latest run and latest success."""
    heads = conn.execute(_OVERVIEW).all()
    runs = _runs_by_id(conn, {i for row in heads for i in (row.last_id, row.ok_id) if i is not None})
    return {row.name: MonitorRow(row.name, runs.get(row.last_id), runs.get(row.ok_id)) for row in heads}


def drift_share_sparks(conn: Connection) -> dict[str, list[SparkPoint]]:
    """Each monitor's data-set drift share over its last ``SPARK_WINDOWS`` windows, oldest first."""
    sparks: dict[str, dict[object, SparkPoint]] = {}
    for row in conn.execute(_SPARKS):
        # One point per window: a rerun's figure (a higher id) replaces the earlier attempt's.
        # The window end stays the driver's raw value: it is only a key here, and parsing
        # 15,000 timestamps would cost more than the rest of the overview.
        sparks.setdefault(row.monitor, {})[row.window_key] = SparkPoint(row.value, row.status)
    return {name: list(points.values())[-SPARK_WINDOWS:] for name, points in sparks.items()}


def _latest_run_query(monitor: str) -> Executable:
    t = runs_table
    return select(t).where(t.c.monitor == monitor).order_by(t.c.window_end.desc(), t.c.id.desc()).limit(1)


def run_page(conn: Connection, monitor: str, *, before_id: int | None = None,
             limit: int = 50) -> tuple[list[RunRecord], int | None]:
    """Up to ``limit`` runs of ``monitor`` newest window first, older than run ``before_id``;
    and the cursor of the next page (``None`` on the last). An unknown cursor gives no runs."""
    cursor = None
    if before_id is not None:
        row = conn.execute(select(runs_table).where(runs_table.c.id == before_id)).first()
        if row is None or row.monitor != monitor:
            return [], None
        cursor = run_record(row)
    runs = runs_page(conn, monitor, limit=limit + 1,
                     before=(cursor.window_end, cursor.id) if cursor is not None else None)
    more = len(runs) > limit
    runs = runs[:limit]
    return runs, (runs[-1].id if more and runs else None)


def latest_run(conn: Connection, monitor: str) -> RunRecord | None:
    """The run of ``monitor`` with the latest window (the latest attempt), or ``None``."""
    row = conn.execute(_latest_run_query(monitor)).first()
    return run_record(row) if row is not None else None


def _last_success_query(monitor: str) -> Executable:
    t = runs_table
    return (select(t).where((t.c.monitor == monitor) & (t.c.status == "succeeded"))
            .order_by(t.c.window_end.desc(), t.c.id.desc()).limit(1))


def last_success(conn: Connection, monitor: str) -> RunRecord | None:
    """The succeeded run of ``monitor`` with the latest window, or ``None``."""
    row = conn.execute(_last_success_query(monitor)).first()
    return run_record(row) if row is not None else None


def _chart_since_query(monitor: str, runs: int) -> Executable:
    t = runs_table
    return (select(t.c.window_end).where(t.c.monitor == monitor)
            .order_by(t.c.window_end.desc()).limit(1).offset(runs - 1))


def _series_query(monitor: str, since: datetime | None) -> Executable:
    t = results_table
    query = select(t.c.id, t.c.run_id, t.c.detector, t.c.metric, t.c.window_end, t.c.value, t.c.threshold,
                   t.c.status).where((t.c.monitor == monitor) & (t.c.feature == "") & (t.c.segment == ""))
    if since is not None:
        query = query.where(t.c.window_end >= since)
    return query.order_by(t.c.window_end, t.c.id)


def dataset_series(conn: Connection, monitor: str, *, runs: int = CHART_RUNS) -> dict[tuple[str, str], list[DataPoint]]:
    """The data-set level figures of ``monitor`` over its latest ``runs`` runs, per (detector,
    metric), oldest first, one point per window (the latest attempt's)."""
    since = conn.execute(_chart_since_query(monitor, runs)).scalar()
    series: dict[tuple[str, str], dict[datetime, DataPoint]] = {}
    for row in conn.execute(_series_query(monitor, since)):
        series.setdefault((row.detector, row.metric), {})[row.window_end] = DataPoint(
            row.detector, row.metric, row.window_end, row.value, row.threshold, row.status, row.run_id)
    return {key: list(points.values()) for key, points in sorted(series.items())}


def _dead_query(monitor: str, limit: int) -> Executable:
    return (select(outbox.c.id, outbox.c.kind, outbox.c.target, outbox.c.event_type, outbox.c.attempts,
                   outbox.c.created_at, outbox.c.last_status, outbox.c.last_error, outbox.c.run_id)
            .where((outbox.c.state == "dead") & (outbox.c.monitor == monitor))
            .order_by(outbox.c.id.desc()).limit(limit))


def dead_outbox(conn: Connection, monitor: str, *, limit: int = 20) -> list[Any]:
    """The newest dead outbox rows of ``monitor`` (messages that were never delivered)."""
    return list(conn.execute(_dead_query(monitor, limit)))


def _segments_query(run_id: int) -> Executable:
    t = results_table
    is_rows = (t.c.detector == SEGMENT_ROWS[0]) & (t.c.metric == SEGMENT_ROWS[1])
    return (select(t.c.segment, func.count().label("results"),
                   func.sum(case((t.c.status == "alert", 1), else_=0)).label("alerts"),
                   func.max(case((is_rows, t.c.value))).label("rows"),
                   func.max(case((is_rows, t.c.status))).label("rows_status"))
            .where(t.c.run_id == run_id).group_by(t.c.segment)
            .order_by(t.c.segment != "", func.min(t.c.id)))


def run_segments(conn: Connection, run_id: int) -> list[SegmentRow]:
    """The segments run ``run_id`` stored results for, the whole window (``""``) first, then in
    the order they were stored; a run without segments has only ``""`` (or none at all)."""
    return [SegmentRow(row.segment, int(row.results), int(row.alerts or 0), row.rows, row.rows_status)
            for row in conn.execute(_segments_query(run_id))]


def statements(monitor: str, run_id: int, moment: datetime) -> Iterator[tuple[str, Executable | TextClause]]:
    """Every statement the pages send, with example parameters, for the bench to EXPLAIN."""
    yield "overview: latest runs per monitor", _OVERVIEW
    yield "overview: drift-share sparklines", _SPARKS
    yield "overview: firing alerts per monitor", firing_counts_query()
    yield "monitor: latest run", _latest_run_query(monitor)
    yield "monitor: latest success", _last_success_query(monitor)
    yield "monitor: run list page", runs_page_query(monitor, limit=51)
    yield "monitor: run list page (before_id)", runs_page_query(monitor, limit=51, before=(moment, run_id))
    yield "monitor: chart start", _chart_since_query(monitor, CHART_RUNS)
    yield "monitor: data-set series", _series_query(monitor, moment)
    yield "monitor: dead outbox rows", _dead_query(monitor, 20)
    yield "run: results", run_results_query(run_id)
    yield "run: results of one segment", run_results_query(run_id, segment="")
    yield "run: segments", _segments_query(run_id)
    yield "run: by id", select(runs_table).where(runs_table.c.id == run_id)
