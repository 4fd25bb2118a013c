"""Fixtures: a fresh store on SQLite in ``tmp_path`` and, when configured, on PostgreSQL.

Each PostgreSQL test gets its own schema (via ``search_path`` in the connection options) that
is dropped afterwards, so parallel runs and reruns never see each other's rows; ``new_url``
hands out more empty databases when a test compares two. The session
time zone is set to Asia/Kolkata (+05:30) so that a missed UTC conversion shows.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from driftwatch.model import Result, Window
from driftwatch.store import Store

PG_ENV = "DRIFTWATCH_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def _postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@pytest.fixture
def postgres_schemas() -> Iterator[Callable[[], str]]:
    """``make()`` gives the URL of a new empty schema; every one is dropped afterwards."""
    base = _postgres_base_url()
    admin = sqlalchemy.create_engine(base)
    made: list[str] = []

    def make() -> str:
        schema = f"dw_test_{uuid.uuid4().hex[:16]}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        url = make_url(base).update_query_dict(
            {"options": f"-c search_path={schema} -c TimeZone=Asia/Kolkata"})
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_schemas: Callable[[], str]) -> str:
    """A URL whose connections live in a throw-away schema of the test database."""
    return postgres_schemas()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{os.path.join(tmp_path, 'driftwatch.db')}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=BACKENDS)
def new_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Callable[[], str]:
    """``new_url()`` gives the URL of another empty database (SQLite file or PostgreSQL schema)."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_schemas")
    names = itertools.count()
    return lambda: f"sqlite:///{os.path.join(tmp_path, f'db{next(names)}.sqlite')}"


class Clock:
    """A settable clock for ``Store(url, clock=...)``: ``clock.advance(minutes=6)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


T0 = datetime(2026, 11, 2, 0, 5, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> Clock:
    """A clock standing at ``T0`` (2026-11-02 00:05 UTC) until advanced."""
    return Clock(T0)


@pytest.fixture
def clocked(store_url: str, clock: Clock) -> Iterator[Store]:
    """A migrated store on each backend whose time is ``clock``."""
    with Store(store_url, clock=clock) as opened:
        opened.create_all()
        yield opened


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        opened.create_all()
        yield opened


def _make_result(window: Window, *, monitor: str = "churn", feature: str = "age", metric: str = "ks",
                 value: float | None = 0.25, p_value: float | None = 0.01, threshold: float | None = 0.05,
                 status: str = "alert", details: Any = None, run_id: int | None = None) -> Result:
    return Result(monitor=monitor, run_id=run_id, window_start=window.start, window_end=window.end,
                  detector="drift", feature=feature, metric=metric, value=value, p_value=p_value,
                  threshold=threshold, status=status,  # type: ignore[arg-type]
                  details={} if details is None else details)


@pytest.fixture
def make_result() -> Callable[..., Result]:
    """``make_result(window, **overrides)``: a drift result of monitor ``churn``."""
    return _make_result


@pytest.fixture
def days() -> list[Window]:
    """Three consecutive UTC day windows, 2026-11-01 to 2026-11-04."""
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return [Window(start + timedelta(days=i), start + timedelta(days=i + 1)) for i in range(3)]


def in_threads(count: int, job: Callable[[int], Any]) -> list[Any]:
    """Run ``job(i)`` in ``count`` threads released together; return the results in order."""
    barrier = threading.Barrier(count)
    out: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            out[i] = job(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return out


#: The segments ``store_segmented_runs`` writes besides the whole window, in stored order.
SEGMENTS = ("country=US", "country=BR", "country=(other)")


def store_segmented_runs(store: Store, windows: int, *, monitor: str = "m") -> list[int]:
    """``windows`` daily runs of ``monitor`` stored as a monitor with ``segments`` stores them:
    the whole window's results first (``drift_share`` ``0.01 * i``, status ok; feature ``age``
    ks), then each segment's (``drift_share`` 0.9 and alerting, a ``segments``/``rows`` count,
    feature ``age`` ks), so a segment row always has a higher id than the window's own."""
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    ids = []
    for i in range(windows):
        window = Window(start + timedelta(days=i), start + timedelta(days=i + 1))
        run_id = store.start_run(monitor, window, owner="t")
        assert run_id is not None
        figures = [("", "drift", "", "drift_share", 0.01 * i, "ok"), ("", "drift", "age", "ks", 0.1, "ok")]
        for n, segment in enumerate(SEGMENTS):
            figures += [(segment, "segments", "", "rows", 100.0 * (n + 1), "ok"),
                        (segment, "drift", "", "drift_share", 0.9, "alert"),
                        (segment, "drift", "age", "ks", 0.8, "alert")]
        results = [Result(monitor, run_id, window.start, window.end, detector, feature, metric, value, None, 0.5,
                          status, {}, segment)  # type: ignore[arg-type]
                   for segment, detector, feature, metric, value, status in figures]
        store.finish_run(run_id, results, rows_reference=1000, rows_current=600)
        ids.append(run_id)
    return ids
