"""Runs: claiming a (monitor, window), then finishing or failing it in one transaction.

The unique constraint on ``(monitor, window_start, window_end, attempt)`` is the claim that makes
replicas and restarts safe: two schedulers that try to start attempt 1 of the same window race on
it, and exactly one insert wins. A run moves ``running → succeeded | failed`` once; its results
are written in the same transaction as that move, so a reader never sees half a run. Given the
``owner``, that move happens only while the row is still the caller's: a process whose lease ran
out and whose run was taken over (``leases.py``) cannot overwrite its successor.

A window the scheduler will not run (catch-up beyond ``max_catchup``) gets a ``skipped`` row, so
it is recorded rather than silently lost; ``succeeded_windows`` and ``last_window_end`` are what
catch-up and backfill plan with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..model import Result, Window
from .results import insert_results
from .tables import RUN_STATUSES
from .tables import runs as runs_table

RunStatus = Literal["running", "succeeded", "failed", "skipped"]

#: ``fail_run`` keeps this many characters of the error text.
MAX_ERROR_CHARS = 2_000
# How often ``start_run(rerun=True)`` retries when another process took the same attempt number.
_RERUN_RETRIES = 50


class RunStateError(ValueError):
    """The run does not exist, or is no longer ``running`` (finished, failed, or taken over)."""


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``. Timestamps are timezone-aware UTC."""

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    attempt: int
    status: RunStatus
    owner: str
    started_at: datetime
    finished_at: datetime | None
    lease_expires_at: datetime | None
    rows_reference: int | None
    rows_current: int | None
    error: str | None

    @property
    def window(self) -> Window:
        """The window this run covers."""
        return Window(self.window_start, self.window_end)


def _record(row: Any) -> RunRecord:
    return RunRecord(**{name: getattr(row, name) for name in RunRecord.__dataclass_fields__})


def check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: must be a non-empty string, got {value!r}")
    return value


def _check_count(name: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: must be a non-negative integer or None, got {value!r}")
    return int(value)


def check_window(window: object) -> Window:
    if not isinstance(window, Window):
        raise TypeError(f"window: must be a driftwatch Window, got {type(window).__name__}")
    return window


def check_lease(lease: object) -> timedelta:
    """``lease`` if it is a positive ``timedelta``; the error names the argument."""
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValueError(f"lease: must be a positive timedelta, got {lease!r}")
    return lease


def check_moment(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: must be a timezone-aware datetime, got {value!r}")
    return value


def same_window(monitor: str, window: Window) -> Any:
    t = runs_table
    return (t.c.monitor == monitor) & (t.c.window_start == window.start) & (t.c.window_end == window.end)


def start_run(engine: Engine, monitor: str, window: Window, *, owner: str, rerun: bool,
              now: Callable[[], datetime], lease: timedelta | None = None) -> int | None:
    """Insert a ``running`` run and return its id; see ``Store.start_run``."""
    check_text("monitor", monitor)
    check_text("owner", owner)
    check_window(window)
    if lease is not None:
        check_lease(lease)
    t = runs_table
    for _ in range(_RERUN_RETRIES):
        attempt = 1
        if rerun:
            with engine.connect() as conn:
                latest = conn.execute(select(func.max(t.c.attempt)).where(same_window(monitor, window))).scalar()
            attempt = int(latest or 0) + 1
        try:
            started = now()
            with engine.begin() as conn:
                return int(conn.execute(insert(t).values(
                    monitor=monitor, window_start=window.start, window_end=window.end, attempt=attempt,
                    status="running", owner=owner, started_at=started,
                    lease_expires_at=None if lease is None else started + lease).returning(t.c.id)).scalar_one())
        except IntegrityError:
            # Only a lost race on the claim is expected; anything else must not be swallowed.
            with engine.connect() as conn:
                taken = conn.execute(select(t.c.id).where(
                    same_window(monitor, window) & (t.c.attempt == attempt))).first()
            if taken is None:
                raise
            if not rerun:
                return None
    raise RuntimeError(f"start_run: {monitor} {window}: lost the race for a new attempt "
                       f"{_RERUN_RETRIES} times in a row")


def skip_run(engine: Engine, monitor: str, window: Window, *, owner: str, reason: str,
             now: Callable[[], datetime]) -> int | None:
    """Record ``window`` as ``skipped`` (attempt 1); ``None`` if the window has a run already."""
    check_text("monitor", monitor)
    check_text("owner", owner)
    check_text("reason", reason)
    check_window(window)
    t = runs_table
    moment = now()
    try:
        with engine.begin() as conn:
            return int(conn.execute(insert(t).values(
                monitor=monitor, window_start=window.start, window_end=window.end, attempt=1,
                status="skipped", owner=owner, started_at=moment, finished_at=moment,
                error=truncate_error(reason)).returning(t.c.id)).scalar_one())
    except IntegrityError:
        with engine.connect() as conn:
            if conn.execute(select(t.c.id).where(same_window(monitor, window) & (t.c.attempt == 1))).first() is None:
                raise
        return None


def _close(conn: Connection, run_id: int, values: dict[str, Any], owner: str | None = None) -> Window:
    """Move run ``run_id`` from ``running`` to ``values['status']``; return its window.

    With ``owner``, only while the row is still that owner's (not taken over since).
    """
    t = runs_table
    condition = (t.c.id == run_id) & (t.c.status == "running")
    if owner is not None:
        condition = condition & (t.c.owner == check_text("owner", owner))
    row = conn.execute(update(t).where(condition).values(**values)
                       .returning(t.c.window_start, t.c.window_end)).first()
    if row is None:
        found = conn.execute(select(t.c.status, t.c.owner).where(t.c.id == run_id)).first()
        if found is None:
            raise RunStateError(f"run_id: run {run_id} does not exist")
        if found.status == "running":
            raise RunStateError(f"run_id: run {run_id} belongs to {found.owner!r} now, not {owner!r} "
                                "(taken over after the lease expired)")
        raise RunStateError(f"run_id: run {run_id} is {found.status}, not running")
    return Window(row.window_start, row.window_end)


#: Called with the open transaction and the run's window just before a run's outcome commits:
#: alert evaluation writes its states and outbox rows there, so they land with the results.
AfterHook = Callable[[Connection, Window], object]


def finish_run(engine: Engine, run_id: int, results: Sequence[Result], *, rows_reference: int | None,
               rows_current: int | None, now: Callable[[], datetime], owner: str | None = None,
               after: AfterHook | None = None) -> None:
    """Mark the run succeeded and insert its results, in one transaction; see ``Store.finish_run``."""
    values = {"status": "succeeded", "finished_at": now(),
              "rows_reference": _check_count("rows_reference", rows_reference),
              "rows_current": _check_count("rows_current", rows_current)}
    with engine.begin() as conn:
        window = _close(conn, run_id, values, owner)
        insert_results(conn, run_id, results, window)
        if after is not None:
            after(conn, window)


def truncate_error(error: str) -> str:
    """``error`` cut to ``MAX_ERROR_CHARS`` characters, the cut marked with an ellipsis.

    >>> len(truncate_error("x" * 5000)), truncate_error("x" * 5000)[-1]
    (2000, '…')
    """
    text = str(error)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def fail_run(engine: Engine, run_id: int, error: str, results: Sequence[Result], *,
             now: Callable[[], datetime], owner: str | None = None, after: AfterHook | None = None) -> None:
    """Mark the run failed with ``error`` and insert ``results``, in one transaction."""
    values = {"status": "failed", "finished_at": now(), "error": truncate_error(error)}
    with engine.begin() as conn:
        window = _close(conn, run_id, values, owner)
        insert_results(conn, run_id, results, window)
        if after is not None:
            after(conn, window)


def list_runs(engine: Engine, monitor: str | None = None, *, limit: int = 100) -> list[RunRecord]:
    """Runs newest first (by id, which only grows), optionally of one monitor."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit: must be a positive integer, got {limit!r}")
    t = runs_table
    query = select(t)
    if monitor is not None:
        query = query.where(t.c.monitor == monitor)
    query = query.order_by(t.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def get_run(engine: Engine, run_id: int) -> RunRecord | None:
    """The run with id ``run_id``, or ``None``."""
    t = runs_table
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == run_id)).first()
    return _record(row) if row is not None else None


def succeeded_windows(engine: Engine, monitor: str, since: datetime, until: datetime) -> set[tuple[datetime, datetime]]:
    """``(start, end)`` of every window of ``monitor`` inside ``[since, until]`` with a succeeded run."""
    check_moment("since", since)
    check_moment("until", until)
    t = runs_table
    query = (select(t.c.window_start, t.c.window_end).distinct()
             .where((t.c.monitor == monitor) & (t.c.status == "succeeded")
                    & (t.c.window_start >= since) & (t.c.window_end <= until)))
    with engine.connect() as conn:
        return {(row.window_start, row.window_end) for row in conn.execute(query)}


def last_window_end(engine: Engine, monitor: str) -> datetime | None:
    """The latest ``window_end`` among the runs of ``monitor`` in any state, or ``None``."""
    t = runs_table
    query = select(func.max(t.c.window_end)).where((t.c.monitor == monitor) & t.c.status.in_(RUN_STATUSES))
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    return value if isinstance(value, datetime) else None
