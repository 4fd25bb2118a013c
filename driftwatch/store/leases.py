"""Leases on running runs (R27): the claim a scheduler holds while it works on a window.

A claimed run carries ``owner`` and ``lease_expires_at``. The owner renews the lease while it
works (every ``lease / 3`` is the usual rhythm); a process killed mid-run stops renewing, and once
the lease has expired another process takes the run over with one conditional UPDATE::

    UPDATE runs SET owner = :me, lease_expires_at = :now + :lease, started_at = :now
     WHERE id = :id AND status = 'running' AND lease_expires_at < :now

Whoever's UPDATE changes the row (rowcount 1) owns the run; every other claimer changes nothing
(PostgreSQL re-checks the WHERE clause on the row the winner committed; SQLite runs one writer at
a time). The row keeps its id and attempt number, so the window still has exactly one run.
``finish_run``/``fail_run`` given ``owner=`` only close a run still owned by the caller, so the
process that lost its lease cannot overwrite its successor's outcome.

Times come from the store's clock, so leases assume the replicas' clocks agree to well within
a lease. A run started without a lease (``lease_expires_at`` NULL) is never taken over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..model import Window
from .runs import check_lease, check_text, check_window, same_window
from .tables import runs as runs_table

# How often ``claim_run(retry=True)`` tries again when the attempt it wanted to add was taken.
_RETRIES = 50


def claim_run(engine: Engine, monitor: str, window: Window, *, owner: str, lease: timedelta,
              now: Callable[[], datetime], retry: bool = False) -> int | None:
    """Claim ``window`` of ``monitor`` for ``owner``: the run id, or ``None`` if it is not ours.

    Attempt 1 is inserted ``running`` with the lease. If the window has a run already, its
    latest attempt decides: still ``running`` with an expired lease is taken over (by one
    conditional UPDATE; of several concurrent claimers exactly one wins); finished (succeeded,
    failed, skipped), running under a live lease, or running without a lease gives ``None``.
    With ``retry``, a latest attempt that failed or was skipped is followed by a new one
    (its number + 1, claimed by insert like attempt 1: one of several claimers wins).
    """
    check_text("monitor", monitor)
    check_text("owner", owner)
    check_window(window)
    check_lease(lease)
    t = runs_table
    moment = now()
    attempt = 1
    for _ in range(_RETRIES):
        try:
            with engine.begin() as conn:
                return int(conn.execute(insert(t).values(
                    monitor=monitor, window_start=window.start, window_end=window.end, attempt=attempt,
                    status="running", owner=owner, started_at=moment,
                    lease_expires_at=moment + lease).returning(t.c.id)).scalar_one())
        except IntegrityError:
            with engine.begin() as conn:
                latest = conn.execute(select(t.c.id, t.c.attempt, t.c.status, t.c.lease_expires_at)
                                      .where(same_window(monitor, window))
                                      .order_by(t.c.attempt.desc()).limit(1)).first()
                if latest is None or latest.attempt < attempt:  # not the claim conflict: something else is wrong
                    raise
                if retry and latest.status in ("failed", "skipped"):
                    attempt = latest.attempt + 1  # a new attempt after the latest, which did not succeed
                    continue
                if latest.status != "running" or latest.lease_expires_at is None or latest.lease_expires_at >= moment:
                    return None
                taken = conn.execute(
                    update(t).where((t.c.id == latest.id) & (t.c.status == "running")
                                    & (t.c.lease_expires_at < moment))
                    .values(owner=owner, lease_expires_at=moment + lease, started_at=moment))
                return int(latest.id) if taken.rowcount == 1 else None
    raise RuntimeError(f"claim_run: {monitor} {window}: attempts kept failing under us {_RETRIES} times in a row")


def renew_lease(engine: Engine, run_id: int, *, owner: str, lease: timedelta,
                now: Callable[[], datetime]) -> bool:
    """Push the lease of ``run_id`` to ``now + lease``; ``False`` if the run is no longer ours.

    It is ours while it is ``running`` under ``owner``, even if the lease ran out and nobody
    has taken the run over yet.
    """
    check_text("owner", owner)
    check_lease(lease)
    t = runs_table
    with engine.begin() as conn:
        renewed = conn.execute(
            update(t).where((t.c.id == run_id) & (t.c.owner == owner) & (t.c.status == "running"))
            .values(lease_expires_at=now() + lease))
        return renewed.rowcount == 1


def expired_windows(engine: Engine, monitor: str, now: Callable[[], datetime]) -> list[Window]:
    """Windows of ``monitor`` whose run is ``running`` under an expired lease, oldest first.

    One indexed read (``monitor`` leads ``ix_runs_monitor_window_end``) over the running rows
    only, so its cost does not grow with the monitor's history of finished runs.
    """
    t = runs_table
    query = (select(t.c.window_start, t.c.window_end)
             .where((t.c.monitor == monitor) & (t.c.status == "running") & (t.c.lease_expires_at < now()))
             .order_by(t.c.window_end))
    with engine.connect() as conn:
        return [Window(row.window_start, row.window_end) for row in conn.execute(query)]
