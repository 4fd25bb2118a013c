"""Where runs, results and reference profiles are kept: SQLite by default, PostgreSQL to scale out.

``Store`` is the one object the engine, scheduler and web app are handed. It is a thin front on
the modules that do the work: ``tables`` (the schema), ``engine`` (URL to tuned engine),
``migrate`` (Alembic migrations, ``migrations/``), ``runs``, ``leases``, ``results``,
``profiles`` and ``retention`` (one kind of query each).

>>> from datetime import datetime, timedelta, timezone
>>> from driftwatch.model import Result, Window
>>> with Store("sqlite://") as store:
...     store.create_all()
...     window = Window(datetime(2026, 11, 1), datetime(2026, 11, 2))
...     run_id = store.start_run("churn", window, owner="doc", rerun=False)
...     store.start_run("churn", window, owner="other", rerun=False) is None   # already claimed
...     store.finish_run(run_id, [Result("churn", None, window.start, window.end, "drift", "age",
...                                      "ks", 0.31, 0.002, 0.05, "alert", {"n": 10})],
...                      rows_reference=100, rows_current=10)
...     [(r.attempt, r.status) for r in store.runs("churn")]
...     [(r.run_id == run_id, r.metric, r.p_value) for r in store.results(monitor="churn")]
True
[(1, 'succeeded')]
[(True, 'ks', 0.002)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from types import TracebackType

from sqlalchemy import Engine

from ..model import Result, Window
from ..secrets import redact_url
from . import leases as _leases
from . import migrate as _migrate
from . import profiles as _profiles
from . import results as _results
from . import retention as _retention
from . import runs as _runs
from .engine import create_engine
from .runs import AfterHook, RunRecord, RunStateError

__all__ = ["RunRecord", "RunStateError", "Store"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    """The database behind driftwatch, opened from a SQLAlchemy URL (``store.url``).

    Nothing connects until first use. ``clock`` supplies ``started_at``/``finished_at``/
    ``created_at`` (tz-aware UTC); tests pass a fixed one.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine: Engine = create_engine(url)
        self._clock = clock

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = _utcnow) -> Store:
        """Same as ``Store(url)``."""
        return cls(url, clock=clock)

    def __repr__(self) -> str:
        return f"Store({redact_url(self.engine.url.render_as_string(hide_password=True))!r})"

    def create_all(self) -> None:
        """Bring the schema to the newest migration (R35); a database already there is untouched.

        Runs ``migrate.upgrade`` on this store's engine (so an in-memory SQLite store works too):
        idempotent, safe when several processes start at once, and a database made by an older
        driftwatch's ``metadata.create_all`` is adopted and brought to head. This is the first
        statement a command sends, so an unreachable database is reported here as one
        ``StoreError`` line naming the (password-free) URL.
        """
        _migrate.upgrade(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection. The store reconnects if used again."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.dispose()

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, monitor: str, window: Window, *, owner: str, rerun: bool = True,
                  lease: timedelta | None = None) -> int | None:
        """Insert a ``running`` run of ``monitor`` over ``window``; return its id.

        ``rerun=False`` claims attempt 1, or gives ``None`` when that attempt exists already
        (another replica or an earlier process has it; ``claim_run`` also takes over an expired
        one). ``rerun=True`` always starts a new attempt, numbered one above the highest so far.
        With ``lease`` the run's ``lease_expires_at`` is ``now + lease`` (see ``renew_lease``);
        without one it is never taken over.
        """
        return _runs.start_run(self.engine, monitor, window, owner=owner, rerun=rerun, now=self._clock, lease=lease)

    def claim_run(self, monitor: str, window: Window, *, owner: str, lease: timedelta,
                  retry: bool = False) -> int | None:
        """The scheduler's claim (R26, R27): the run id if ``owner`` now has the window, else ``None``.

        Inserts attempt 1 ``running`` with ``lease_expires_at = now + lease``. If the window has
        a run already, its latest attempt decides: ``running`` with an expired lease is taken over
        by one conditional UPDATE (same id; exactly one of several claimers wins); done
        (succeeded, failed, skipped) or held under a live lease gives ``None``. ``retry=True``
        (backfill without ``--force``) claims a new attempt after one that failed or was
        skipped; succeeded windows and live leases still give ``None``.
        """
        return _leases.claim_run(self.engine, monitor, window, owner=owner, lease=lease, now=self._clock,
                                 retry=retry)

    def renew_lease(self, run_id: int, *, owner: str, lease: timedelta) -> bool:
        """Set the lease of ``run_id`` to ``now + lease``; ``False`` if it is not ``owner``'s running run.

        ``False`` means another process took the run over (or it was finished): stop working on it.
        """
        return _leases.renew_lease(self.engine, run_id, owner=owner, lease=lease, now=self._clock)

    def expired_windows(self, monitor: str) -> list[Window]:
        """Windows of ``monitor`` left ``running`` under an expired lease (a killed process's),
        oldest first: what the scheduler takes over before new windows."""
        return _leases.expired_windows(self.engine, monitor, now=self._clock)

    def finish_run(self, run_id: int, results: Sequence[Result], *, rows_reference: int | None,
                   rows_current: int | None, owner: str | None = None, after: AfterHook | None = None) -> None:
        """Store ``results`` and mark the run succeeded, all or nothing.

        Each row takes ``run_id`` from here and monitor/window from its ``Result`` (the run's
        window when the result has none). On any error nothing is written, the run stays
        ``running`` and the exception propagates. ``RunStateError`` if the run is not running,
        or, given ``owner``, if another owner has taken it over (its row is left untouched).
        ``after(conn, window)`` runs in the same transaction just before it commits (alert
        evaluation queues its outbox rows there); if it raises, nothing is written.
        """
        _runs.finish_run(self.engine, run_id, results, rows_reference=rows_reference,
                         rows_current=rows_current, now=self._clock, owner=owner, after=after)

    def fail_run(self, run_id: int, error: str, results: Sequence[Result] = (), *, owner: str | None = None,
                 after: AfterHook | None = None) -> None:
        """Mark the run failed with ``error`` (cut to 2,000 characters) and store ``results``.

        ``owner`` and ``after`` as in ``finish_run``.
        """
        _runs.fail_run(self.engine, run_id, error, results, now=self._clock, owner=owner, after=after)

    def skip_run(self, monitor: str, window: Window, *, owner: str, reason: str) -> int | None:
        """Record ``window`` as ``skipped`` (e.g. catch-up beyond ``max_catchup``); its id.

        Idempotent: ``None`` and nothing changed when the window has a run (in any state)
        already. ``reason`` is kept in the run's ``error`` text.
        """
        return _runs.skip_run(self.engine, monitor, window, owner=owner, reason=reason, now=self._clock)

    def succeeded_windows(self, monitor: str, since: datetime, until: datetime) -> set[tuple[datetime, datetime]]:
        """``(start, end)`` (UTC) of each window inside ``[since, until]`` that has a succeeded run.

        "Inside" means ``since <= start`` and ``end <= until``. Aware datetimes compare and hash
        by instant, so windows built in another time zone still match.
        """
        return _runs.succeeded_windows(self.engine, monitor, since, until)

    def last_window_end(self, monitor: str) -> datetime | None:
        """The latest ``window_end`` of any run of ``monitor`` (running, succeeded, failed or
        skipped), or ``None`` if it never ran: where catch-up starts."""
        return _runs.last_window_end(self.engine, monitor)

    def runs(self, monitor: str | None = None, *, limit: int = 100) -> list[RunRecord]:
        """The latest ``limit`` runs, newest first, of one monitor or all."""
        return _runs.list_runs(self.engine, monitor, limit=limit)

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id, or ``None``."""
        return _runs.get_run(self.engine, run_id)

    # -- results -----------------------------------------------------------------------------

    def results(self, *, run_id: int | None = None, monitor: str | None = None, metric: str | None = None,
                feature: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 10_000, segment: str | None = None) -> list[Result]:
        """Stored results ordered by window end, then insertion.

        Filters left ``None`` are not applied; ``feature=""`` means data-set level results,
        ``segment=""`` the whole window's (``"country=BR"``: one segment's, ``None``: every row);
        ``since``/``until`` bound ``window_end`` inclusively and must be timezone-aware.
        ``limit`` keeps the oldest rows of that order.
        """
        return _results.fetch_results(self.engine, run_id=run_id, monitor=monitor, metric=metric,
                                      feature=feature, since=since, until=until, limit=limit, segment=segment)

    # -- retention ---------------------------------------------------------------------------

    def delete_older_than(self, cutoff: datetime, *, batch: int = _retention.DEFAULT_BATCH) -> dict[str, int]:
        """Delete results and runs whose window ended before ``cutoff``, reference profiles
        created before it and outbox rows delivered before it, ``batch`` rows per transaction
        (R36); the rows deleted per table.

        A run still running under a live lease is kept. See ``driftwatch.store.retention``.
        """
        return _retention.delete_older_than(self.engine, cutoff, batch=batch, now=self._clock)

    # -- reference profiles ------------------------------------------------------------------

    def get_profile(self, key: str) -> bytes | None:
        """The serialised reference profile stored under ``key``, or ``None``."""
        return _profiles.get_profile(self.engine, key)

    def put_profile(self, key: str, monitor: str, data: bytes) -> None:
        """Store a serialised profile; a key already stored (by anyone) is left as it is."""
        _profiles.put_profile(self.engine, key, monitor, data, now=self._clock)
