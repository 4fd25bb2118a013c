"""Writing and reading the ``results`` time series (one row per figure, R33).

Rows are written only inside a run's finishing transaction (see ``runs.py``), so a run's results
appear all at once or not at all. Values that JSON or SQL cannot hold are normalised on the way
in: NaN in ``value``/``p_value``/``threshold`` becomes NULL; in ``details`` every non-finite
float becomes ``null`` (PostgreSQL's JSON rejects NaN) and numpy scalars and arrays become plain
numbers and lists.

(``driftwatch.jsonsafe.json_safe`` does the normalising.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, insert, select

from ..jsonsafe import json_safe
from ..model import Result, Window
from .tables import results as results_table


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def result_row(result: Result, run_id: int, window: Window | None = None) -> dict[str, Any]:
    """The ``results`` row for ``result``, stamped with ``run_id``.

    The monitor and window come from the result; ``window`` (the run's) fills a missing one.
    """
    start = result.window_start or (window.start if window else None)
    end = result.window_end or (window.end if window else None)
    if start is None or end is None:
        raise ValueError(f"results: {result.metric!r} of {result.feature!r} has no window")
    return {
        "run_id": run_id,
        "monitor": result.monitor,
        "window_start": start,
        "window_end": end,
        "detector": result.detector,
        "feature": result.feature,
        "metric": result.metric,
        "value": _number(result.value),
        "p_value": _number(result.p_value),
        "threshold": _number(result.threshold),
        "status": result.status,
        "segment": result.segment,
        "details": json_safe(result.details),
    }


def insert_results(conn: Connection, run_id: int, results: Sequence[Result], window: Window | None = None) -> None:
    """Insert ``results`` for ``run_id`` on ``conn``, inside the caller's transaction."""
    rows = [result_row(result, run_id, window) for result in results]
    if rows:
        conn.execute(insert(results_table), rows)


@dataclass(frozen=True)
class StoredResult(Result):
    """A ``Result`` as the store keeps it, with its row id: the API pages by it and a report
    breaks ties with it. Read from the store, ``run_id`` and the window are always set."""

    id: int = 0


def _fields(row: Any, names: Sequence[str]) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in names}
    values["details"] = values["details"] if values["details"] is not None else {}
    return values


_RESULT_FIELDS = tuple(f.name for f in fields(Result))
_STORED_FIELDS = tuple(f.name for f in fields(StoredResult))


def _to_result(row: Any) -> Result:
    return Result(**_fields(row, _RESULT_FIELDS))


def stored_result(row: Any) -> StoredResult:
    """A ``results`` row (every column selected) as a ``StoredResult``."""
    return StoredResult(**_fields(row, _STORED_FIELDS))


def results_query(*, run_id: int | None = None, monitor: str | None = None, metric: str | None = None,
                  feature: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  limit: int = 10_000, segment: str | None = None) -> Select[Any]:
    """The SELECT behind ``Store.results``; every filter left as ``None`` is not applied.

    ``since`` and ``until`` bound ``window_end``, both inclusive. ``feature=""`` selects the
    data-set level results; ``segment=""`` the whole window's, ``segment="country=BR"`` one
    segment's (no index has the segment: it filters the rows the other filters' index finds).
    ``limit`` keeps the first rows of the order (oldest first).
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit: must be a positive integer, got {limit!r}")
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
            raise ValueError(f"{name}: must be a timezone-aware datetime, got {moment!r}")
    t = results_table
    query = select(t)
    if run_id is not None:
        query = query.where(t.c.run_id == run_id)
    if monitor is not None:
        query = query.where(t.c.monitor == monitor)
    if metric is not None:
        query = query.where(t.c.metric == metric)
    if feature is not None:
        query = query.where(t.c.feature == feature)
    if segment is not None:
        query = query.where(t.c.segment == segment)
    if since is not None:
        query = query.where(t.c.window_end >= since)
    if until is not None:
        query = query.where(t.c.window_end <= until)
    return query.order_by(t.c.window_end, t.c.id).limit(limit)


def fetch_results(engine: Engine, **filters: Any) -> list[Result]:
    """Stored results matching ``filters`` (see ``results_query``), by window end then insertion."""
    query = results_query(**filters)
    with engine.connect() as conn:
        return [_to_result(row) for row in conn.execute(query)]
