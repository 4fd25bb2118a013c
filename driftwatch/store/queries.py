"""The read queries behind ``/api/v1`` and ``/metrics``: each one walks an index, none scans
``results``.

Pages of runs and results use keyset pagination (a cursor of the last row's sort key) instead
of ``OFFSET``, so page 1,000 costs what page 1 costs and a row inserted meanwhile neither
repeats nor hides one: runs go newest first by ``(window_end, id)`` on
``ix_runs_monitor_window_end``; results oldest first by ``(window_end, id)`` on the two R33
indexes (``monitor, metric, window_end`` and ``monitor, feature, metric, window_end``).

The aggregate queries for ``/metrics`` read ``runs`` (one grouped pass), ``alert_states`` and,
for the results counter, only the ``results`` rows above the highest id already counted.

>>> from datetime import datetime, timezone
>>> from driftwatch.model import Result, Window
>>> from driftwatch.store import Store
>>> with Store("sqlite://") as store:
...     store.create_all()
...     for day in (1, 2, 3):
...         w = Window(datetime(2026, 11, day, tzinfo=timezone.utc), datetime(2026, 11, day + 1, tzinfo=timezone.utc))
...         run = store.start_run("churn", w, owner="doc")
...         store.finish_run(run, [Result("churn", None, None, None, "drift", "age", "psi", 0.1 * day, None, 0.2,
...                                       "ok", {})], rows_reference=10, rows_current=5)
...     first = runs_page(store.engine, "churn", limit=2)
...     [r.id for r in first], [r.id for r in runs_page(store.engine, "churn", limit=2,
...                                                     before=(first[-1].window_end, first[-1].id))]
...     page = results_page(store.engine, monitor="churn", limit=2)
...     [r.run_id for r in page], [r.run_id for r in results_page(store.engine, monitor="churn", limit=2,
...                                                              after=(page[-1].window_end, page[-1].id))]
([3, 2], [1])
([1, 2], [3])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, case, func, literal_column, or_, select

from .alert_tables import alert_states
from .engine import rows_of
from .results import StoredResult, results_query, stored_result
from .runs import RunRecord
from .runs import _record as _run_record
from .tables import results as results_table
from .tables import runs as runs_table

__all__ = ["DURATION_BUCKETS", "RunStats", "alert_counts", "alerts", "drift_shares", "firing_counts",
           "firing_counts_query", "has_runs", "last_runs", "latest_figures", "monitors_in_store", "results_count_since",
           "results_page", "run_results", "run_results_query", "run_stats", "runs_page", "runs_page_query"]

#: Upper bounds (seconds) of the run duration histogram: from sub-second file checks to an hour
#: of warehouse profiling. Fixed, so every replica's histogram adds up with the others'.
DURATION_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                                       1800.0, 3600.0)


def monitors_in_store(engine: Engine) -> list[str]:
    """Every monitor with at least one run, by name (an index-only scan of the runs index)."""
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(select(runs_table.c.monitor).distinct()
                                               .order_by(runs_table.c.monitor))]


def last_runs(engine: Engine, monitors: Iterable[str] | None = None, *, status: str | None = None
              ) -> dict[str, RunRecord]:
    """Each monitor's latest run (in ``status``, if given): the one with the latest window, its
    highest id among attempts.

    One query: the newest ``window_end`` per monitor (read off the index), joined back to the runs.
    """
    t = runs_table
    newest = select(t.c.monitor, func.max(t.c.window_end).label("window_end")).group_by(t.c.monitor)
    if monitors is not None:
        newest = newest.where(t.c.monitor.in_(list(monitors)))
    if status is not None:
        newest = newest.where(t.c.status == status)
    sub = newest.subquery()
    query = select(t).join(sub, and_(t.c.monitor == sub.c.monitor, t.c.window_end == sub.c.window_end))
    if status is not None:
        query = query.where(t.c.status == status)
    query = query.order_by(t.c.monitor, t.c.id)
    latest: dict[str, RunRecord] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            latest[row.monitor] = _run_record(row)  # ordered by id: the last attempt wins
    return latest


def firing_counts_query() -> Select[Any]:
    """The statement behind ``firing_counts`` (``ix_alert_states_monitor_state``)."""
    a = alert_states
    return select(a.c.monitor, func.count()).where(a.c.state == "firing").group_by(a.c.monitor)


def firing_counts(connectable: Engine | Connection) -> dict[str, int]:
    """Firing alerts per monitor."""
    return {row[0]: int(row[1]) for row in rows_of(connectable, firing_counts_query())}


def alert_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Firing alerts per (monitor, severity), for ``driftwatch_alerts_firing``."""
    a = alert_states
    with engine.connect() as conn:
        rows = conn.execute(select(a.c.monitor, a.c.severity, func.count()).where(a.c.state == "firing")
                            .group_by(a.c.monitor, a.c.severity))
        return {(row[0], row[1] or "alert"): int(row[2]) for row in rows}


def alerts(engine: Engine, *, state: str | None = "firing", monitor: str | None = None,
           limit: int = 10_000) -> list[Any]:
    """Stored alert rows in ``state`` (``None``: every state), of one monitor or all, by monitor
    then fingerprint. Rows, not ``AlertState``: the API also shows the fingerprint and update time."""
    a = alert_states
    query = select(a)
    if state is not None:
        query = query.where(a.c.state == state)
    if monitor is not None:
        query = query.where(a.c.monitor == monitor)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(a.c.monitor, a.c.fingerprint).limit(limit)))


def runs_page_query(monitor: str, *, limit: int, before: tuple[datetime, int] | None = None) -> Select[Any]:
    """The statement behind ``runs_page`` (``ix_runs_monitor_window_end``)."""
    t = runs_table
    query = select(t).where(t.c.monitor == monitor)
    if before is not None:
        end, run_id = before
        # window_end <= end first: a range the index can seek; the OR only breaks ties.
        query = query.where(t.c.window_end <= end, or_(t.c.window_end < end, t.c.id < run_id))
    return query.order_by(t.c.window_end.desc(), t.c.id.desc()).limit(limit)


def runs_page(connectable: Engine | Connection, monitor: str, *, limit: int,
              before: tuple[datetime, int] | None = None) -> list[RunRecord]:
    """Up to ``limit`` runs of ``monitor``, newest window first, strictly after the cursor
    ``before = (window_end, id)`` of the previous page's last run in that order."""
    return [_run_record(row) for row in rows_of(connectable, runs_page_query(monitor, limit=limit, before=before))]


def results_page(engine: Engine, *, monitor: str, metric: str | None = None, feature: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int,
                 after: tuple[datetime, int] | None = None, run_id: int | None = None,
                 segment: str | None = None) -> list[StoredResult]:
    """Up to ``limit`` results of ``monitor`` by ``(window_end, id)``, strictly after the cursor
    ``after``; ``since``/``until`` bound ``window_end`` inclusively (aware datetimes).

    ``feature=""`` selects data-set level figures, ``segment=""`` the whole window's (``None``:
    every segment's too). The monitor (+ feature) + metric equality filters and the
    ``window_end`` range are exactly the column order of the R33 indexes; the segment filters
    the rows they find.
    """
    t = results_table
    query = results_query(run_id=run_id, monitor=monitor, metric=metric, feature=feature, since=since, until=until,
                          limit=limit, segment=segment)
    if after is not None:  # the keyset cursor: strictly after (window_end, id)
        end, row_id = after
        query = query.where(t.c.window_end >= end, or_(t.c.window_end > end, t.c.id > row_id))
    with engine.connect() as conn:
        return [stored_result(row) for row in conn.execute(query)]


def run_results_query(run_id: int, *, segment: str | None = None, limit: int | None = None) -> Select[Any]:
    """The statement behind ``run_results`` (``ix_results_run_id``)."""
    t = results_table
    query = select(t).where(t.c.run_id == run_id)
    if segment is not None:
        query = query.where(t.c.segment == segment)
    query = query.order_by(t.c.id)
    return query.limit(limit) if limit is not None else query


def run_results(connectable: Engine | Connection, run_id: int, *, segment: str | None = None,
                limit: int | None = None) -> list[StoredResult]:
    """The results of run ``run_id`` in the order they were stored: one segment's (``""``: the
    whole window's) or, with ``segment=None``, all of them; at most ``limit``."""
    return [stored_result(row) for row in rows_of(connectable, run_results_query(run_id, segment=segment, limit=limit))]


@dataclass(frozen=True)
class RunStats:
    """Aggregates of one monitor's runs in one status, for ``/metrics``.

    ``buckets[i]`` counts finished runs that took at most ``DURATION_BUCKETS[i]`` seconds
    (cumulative, as Prometheus wants them); ``finished`` and ``duration_sum`` cover runs with both
    timestamps (succeeded and failed; skipped runs did no work).
    """

    monitor: str
    status: str
    count: int
    rows_current: int
    finished: int
    duration_sum: float
    buckets: tuple[int, ...]
    last_finished_at: datetime | None


def _duration(engine: Engine) -> Any:
    """Seconds from ``started_at`` to ``finished_at`` in the store's own SQL."""
    if engine.dialect.name == "postgresql":
        return literal_column("EXTRACT(EPOCH FROM (runs.finished_at - runs.started_at))")
    # SQLite keeps naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff". Its date functions keep only
    # milliseconds (and strftime('%s') rounds them), so whole seconds come from strftime('%s') of
    # the text without its fraction, and the microseconds from the text.
    return literal_column(
        "((CAST(strftime('%s', substr(runs.finished_at, 1, 19)) AS REAL)"
        " - CAST(strftime('%s', substr(runs.started_at, 1, 19)) AS REAL))"
        " + (CAST(substr(runs.finished_at, 21, 6) AS REAL) - CAST(substr(runs.started_at, 21, 6) AS REAL))"
        " / 1000000.0)")


def run_stats(engine: Engine) -> list[RunStats]:
    """One grouped pass over ``runs``: counts, rows read, duration histogram and latest finish per
    (monitor, status)."""
    t = runs_table
    seconds = _duration(engine)
    timed = and_(t.c.finished_at.is_not(None), t.c.status.in_(("succeeded", "failed")))
    columns: list[Any] = [
        t.c.monitor, t.c.status, func.count(), func.coalesce(func.sum(t.c.rows_current), 0),
        func.sum(case((timed, 1), else_=0)), func.coalesce(func.sum(case((timed, seconds), else_=0.0)), 0.0),
        func.max(t.c.finished_at)]
    columns += [func.sum(case((and_(timed, seconds <= bound), 1), else_=0)) for bound in DURATION_BUCKETS]
    query = select(*columns).group_by(t.c.monitor, t.c.status).order_by(t.c.monitor, t.c.status)
    stats = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            last = row[6]
            if isinstance(last, str):  # pragma: no cover - max() over UTCDateTime keeps the type
                last = datetime.fromisoformat(last)
            if isinstance(last, datetime) and last.tzinfo is None:
                last = last.replace(tzinfo=timezone.utc)
            stats.append(RunStats(monitor=row[0], status=row[1], count=int(row[2]), rows_current=int(row[3]),
                                  finished=int(row[4] or 0), duration_sum=max(float(row[5] or 0.0), 0.0),
                                  buckets=tuple(int(v or 0) for v in row[7:]), last_finished_at=last))
    return stats


def results_count_since(engine: Engine, after_id: int) -> tuple[dict[tuple[str, str], int], int]:
    """Results per (monitor, status) with ``id > after_id``, and the highest id seen.

    The caller adds these to what it counted before, so each scrape reads only new rows by the
    primary key instead of the whole table (and the counter never goes down when retention
    deletes old rows, as a counter must not).
    """
    t = results_table
    query = (select(t.c.monitor, t.c.status, func.count(), func.max(t.c.id)).where(t.c.id > after_id)
             .group_by(t.c.monitor, t.c.status))
    counts: dict[tuple[str, str], int] = {}
    top = after_id
    with engine.connect() as conn:
        for row in conn.execute(query):
            counts[(row[0], row[1])] = int(row[2])
            top = max(top, int(row[3]))
    return counts, top


def latest_figures(engine: Engine, run_ids: Sequence[int], *, detector: str = "drift",
                   segment: str | None = "") -> list[StoredResult]:
    """Per-feature results of ``detector`` in the given runs (``ix_results_run_id``), in stored
    order: the whole window's by default, one segment's, or (``segment=None``) every segment's."""
    if not run_ids:
        return []
    t = results_table
    query = select(t).where(t.c.run_id.in_(list(run_ids)), t.c.detector == detector, t.c.feature != "")
    if segment is not None:
        query = query.where(t.c.segment == segment)
    query = query.order_by(t.c.id)
    with engine.connect() as conn:
        return [stored_result(row) for row in conn.execute(query)]


def drift_shares(engine: Engine, run_ids: Sequence[int]) -> dict[str, float]:
    """The whole window's data-set drift share (``drift``/``drift_share``) of each of
    ``run_ids`` (``ix_results_run_id``), by monitor; a run without one is absent."""
    if not run_ids:
        return {}
    t = results_table
    query = (select(t.c.monitor, t.c.value)
             .where(t.c.run_id.in_(list(run_ids)), t.c.detector == "drift", t.c.feature == "",
                    t.c.metric == "drift_share", t.c.segment == "", t.c.value.is_not(None))
             .order_by(t.c.id))
    with engine.connect() as conn:
        return {row.monitor: float(row.value) for row in conn.execute(query)}


def has_runs(engine: Engine, monitor: str) -> bool:
    """Whether ``monitor`` has any run (one index probe)."""
    t = runs_table
    with engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.monitor == monitor).limit(1)).first() is not None
