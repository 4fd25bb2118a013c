"""Where runs, results and reference profiles are kept: SQLite by default, PostgreSQL to scale out.

``Store`` is the one object the engine, scheduler and web app are handed. It is a thin front on
the modules that do the work: ``tables`` (the schema), ``engine`` (URL to tuned engine),
``runs``, ``results`` and ``profiles`` (one kind of query each).

>>> from datetime import datetime, timezone
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
from datetime import datetime, timezone
from types import TracebackType

import sqlalchemy
from sqlalchemy import Engine

from ..errors import StoreError
from ..model import Result, Window
from ..secrets import redact_url
from . import profiles as _profiles
from . import results as _results
from . import runs as _runs
from .engine import create_engine
from .runs import RunRecord, RunStateError
from .tables import metadata

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
        """Create the tables that are missing; existing ones are left as they are.

        This is the first statement a command sends, so an unreachable database is reported
        here as one ``StoreError`` line naming the (password-free) URL.
        """
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except sqlalchemy.exc.DBAPIError as exc:
            reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
            raise StoreError(f"store.url {redact_url(self.engine.url.render_as_string(hide_password=True))}: "
                             f"cannot use the database: {reason}") from exc

    def dispose(self) -> None:
        """Close every pooled connection. The store reconnects if used again."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.dispose()

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, monitor: str, window: Window, *, owner: str, rerun: bool = True) -> int | None:
        """Insert a ``running`` run of ``monitor`` over ``window``; return its id.

        ``rerun=False`` is the scheduler's claim: attempt 1, or ``None`` when that attempt exists
        already (another replica or an earlier process has it). ``rerun=True`` always starts a
        new attempt, numbered one above the highest so far.
        """
        return _runs.start_run(self.engine, monitor, window, owner=owner, rerun=rerun, now=self._clock)

    def finish_run(self, run_id: int, results: Sequence[Result], *, rows_reference: int | None,
                   rows_current: int | None) -> None:
        """Store ``results`` and mark the run succeeded, all or nothing.

        Each row takes ``run_id`` from here and monitor/window from its ``Result`` (the run's
        window when the result has none). On any error nothing is written, the run stays
        ``running`` and the exception propagates. ``RunStateError`` if the run is not running.
        """
        _runs.finish_run(self.engine, run_id, results, rows_reference=rows_reference,
                         rows_current=rows_current, now=self._clock)

    def fail_run(self, run_id: int, error: str, results: Sequence[Result] = ()) -> None:
        """Mark the run failed with ``error`` (cut to 2,000 characters) and store ``results``."""
        _runs.fail_run(self.engine, run_id, error, results, now=self._clock)

    def runs(self, monitor: str | None = None, *, limit: int = 100) -> list[RunRecord]:
        """The latest ``limit`` runs, newest first, of one monitor or all."""
        return _runs.list_runs(self.engine, monitor, limit=limit)

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id, or ``None``."""
        return _runs.get_run(self.engine, run_id)

    # -- results -----------------------------------------------------------------------------

    def results(self, *, run_id: int | None = None, monitor: str | None = None, metric: str | None = None,
                feature: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 10_000) -> list[Result]:
        """Stored results ordered by window end, then insertion.

        Filters left ``None`` are not applied; ``feature=""`` means data-set level results;
        ``since``/``until`` bound ``window_end`` inclusively and must be timezone-aware.
        ``limit`` keeps the oldest rows of that order.
        """
        return _results.fetch_results(self.engine, run_id=run_id, monitor=monitor, metric=metric,
                                      feature=feature, since=since, until=until, limit=limit)

    # -- reference profiles ------------------------------------------------------------------

    def get_profile(self, key: str) -> bytes | None:
        """The serialised reference profile stored under ``key``, or ``None``."""
        return _profiles.get_profile(self.engine, key)

    def put_profile(self, key: str, monitor: str, data: bytes) -> None:
        """Store a serialised profile; a key already stored (by anyone) is left as it is."""
        _profiles.put_profile(self.engine, key, monitor, data, now=self._clock)
