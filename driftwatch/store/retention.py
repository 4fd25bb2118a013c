"""Retention (R36): delete what is older than a cutoff, a batch at a time.

Each batch is one short transaction (``DELETE … WHERE id IN (SELECT id … LIMIT :batch)``), so a
backlog of millions of rows never holds one giant lock, never blocks the runs that keep writing,
and an interrupted clean-up simply continues next time. Order matters:

1. ``results`` whose ``window_end`` is before the cutoff, then any remaining results of the runs
   about to go (the engine stamps results with their run's window, so normally none);
2. ``runs`` whose ``window_end`` is before the cutoff, except a run still ``running`` under a
   live lease (its worker is on it: a backfill of old windows);
3. ``reference_profiles`` created before the cutoff (a profile still in use is rebuilt and
   stored again on the next run that needs it);
4. ``outbox`` rows delivered before the cutoff, with their attempt log (``ON DELETE CASCADE``).
   Pending and dead rows stay: an operator may still need to see or retry them.

Results go before their runs, so the ``ON DELETE CASCADE`` of ``results.run_id`` is only a
safety net.

>>> from datetime import datetime, timezone
>>> from driftwatch.model import Window
>>> from driftwatch.store import Store
>>> with Store("sqlite://") as store:
...     store.create_all()
...     old = Window(datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2020, 1, 2, tzinfo=timezone.utc))
...     store.skip_run("churn", old, owner="doc", reason="beyond max_catchup")
...     store.delete_older_than(datetime(2026, 1, 1, tzinfo=timezone.utc))
1
{'results': 0, 'runs': 1, 'reference_profiles': 0, 'outbox': 0}
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Engine, Table, delete, or_, select

from .alert_tables import outbox
from .runs import check_moment
from .tables import reference_profiles, results, runs

#: Rows per transaction unless the caller says otherwise.
DEFAULT_BATCH = 5_000


def _delete_in_batches(engine: Engine, table: Table, key: Column[Any], condition: ColumnElement[bool],
                       batch: int) -> int:
    """Delete the rows of ``table`` matching ``condition``, ``batch`` rows per transaction."""
    total = 0
    while True:
        chosen = select(key).where(condition).limit(batch).scalar_subquery()
        with engine.begin() as conn:
            deleted = conn.execute(delete(table).where(key.in_(chosen))).rowcount
        total += deleted
        if deleted < batch:  # the last, partial batch: nothing older is left
            return total


def delete_older_than(engine: Engine, cutoff: datetime, *, batch: int = DEFAULT_BATCH,
                      now: Callable[[], datetime]) -> dict[str, int]:
    """Delete results, runs, reference profiles and delivered outbox rows older than ``cutoff``;
    rows deleted per table."""
    check_moment("cutoff", cutoff)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch: must be a positive integer, got {batch!r}")
    moment = now()
    old_runs = (runs.c.window_end < cutoff) & or_(
        runs.c.status != "running", runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < moment)
    counts = {
        "results": _delete_in_batches(engine, results, results.c.id, results.c.window_end < cutoff, batch)
        + _delete_in_batches(engine, results, results.c.id,
                             results.c.run_id.in_(select(runs.c.id).where(old_runs)), batch),
        "runs": _delete_in_batches(engine, runs, runs.c.id, old_runs, batch),
        "reference_profiles": _delete_in_batches(engine, reference_profiles, reference_profiles.c.key,
                                                 reference_profiles.c.created_at < cutoff, batch),
        "outbox": _delete_in_batches(engine, outbox, outbox.c.id,
                                     (outbox.c.state == "delivered") & (outbox.c.delivered_at < cutoff), batch),
    }
    return counts
