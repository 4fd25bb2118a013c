"""``driftwatch.engine.run_monitor``: one monitor over one window, against a real store.

The reference is profiled once per version and cached; a rolling reference reads the windows
before the current one through the current connector; every failure ends the run ``failed``
with one ``error`` result; the results equal ``driftwatch.check`` on the same data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import driftwatch
from driftwatch.config import Settings, settings_from_dict
from driftwatch.connectors import FileConnector
from driftwatch.detectors import DriftDetector, MultivariateDetector, QualityDetector
from driftwatch.engine import run_monitor
from driftwatch.errors import ConfigError
from driftwatch.model import Finding, Result, Schema, Window
from driftwatch.profiling import Profile
from driftwatch.registry import Registry
from driftwatch.store import Store

PG_ENV = "DRIFTWATCH_TEST_POSTGRES_URL"
DAY = timedelta(days=1)
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
SCHEMA = {"numeric": ["x"], "categorical": ["c"]}


def day(i: int) -> Window:
    """The UTC day window 2026-11-0{i+1}."""
    return Window(START + i * DAY, START + (i + 1) * DAY)


@dataclass(frozen=True)
class CountingFile:
    """A plugin connector: a real ``FileConnector`` that records every ``fetch``."""

    name: ClassVar[str] = "counting"

    path: str
    format: str = "auto"
    timestamp_column: str | None = None
    calls: list[Window | None] = field(default_factory=list, compare=False, repr=False)

    def _inner(self) -> FileConnector:
        return FileConnector(self.path, format=self.format, timestamp_column=self.timestamp_column)

    def with_base_dir(self, base: str | Path) -> CountingFile:
        return CountingFile(self._inner().with_base_dir(base).path, self.format, self.timestamp_column)

    def fetch(self, window: Window | None, columns: Sequence[str] | None) -> pd.DataFrame:
        self.calls.append(window)
        return self._inner().fetch(window, columns)  # type: ignore[arg-type]

    def version(self, window: Window | None) -> str:
        return self._inner().version(window)


@dataclass(frozen=True)
class OpaqueDetector:
    """A plugin detector whose finding carries a detail no JSON column can hold."""

    name: ClassVar[str] = "opaque"

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.features)

    def run(self, reference: Profile, current: Any, schema: Schema) -> list[Finding]:
        return [Finding("", "opaque", 1.0, "ok", details={"thing": object()})]


CONNECTORS = Registry("driftwatch.tests.none", {"file": FileConnector, "counting": CountingFile})
DETECTORS = Registry("driftwatch.tests.none", {"drift": DriftDetector, "quality": QualityDetector,
                                               "opaque": OpaqueDetector, "multivariate": MultivariateDetector})


def frame(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    x = rng.normal(10.0 + shift, 2.0, n).round(3)
    c = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]).astype(object)
    c[rng.random(n) < 0.03] = None
    return pd.DataFrame({"x": x, "c": c})


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """``ref.parquet`` and ``cur/2026-11-0{1..4}.csv``; days 3 and 4 drift."""
    rng = np.random.default_rng(3)
    (tmp_path / "cur").mkdir()
    frame(rng, 800).to_parquet(tmp_path / "ref.parquet", index=False)
    for i in range(4):
        frame(rng, 200, shift=1.5 if i >= 2 else 0.0).to_csv(tmp_path / "cur" / f"{day(i).start:%Y-%m-%d}.csv",
                                                             index=False)
    return tmp_path


def settings(folder: Path, *, store_url: str | None = None, **monitor: Any) -> Settings:
    table: dict[str, Any] = {
        "name": "m", "window": "1d", "schema": SCHEMA,
        "current": {"type": "file", "path": "cur/{start:%Y-%m-%d}.csv"},
        "reference": {"type": "counting", "path": "ref.parquet"},
    }
    table.update(monitor)
    return settings_from_dict({"store": {"url": store_url or "sqlite:///dw.db"}, "monitors": [table]},
                              path=folder / "config.toml", environ={}, connectors=CONNECTORS, detectors=DETECTORS)


@pytest.fixture
def store(data: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{data / 'dw.db'}") as opened:
        opened.create_all()
        yield opened


def count(store: Store, table: str, where: str = "") -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one())


def context_free(result: Result) -> dict[str, Any]:
    """The result without its run context (monitor, run id, window)."""
    out = result.to_json()
    for key in ("monitor", "run_id", "window_start", "window_end"):
        out.pop(key)
    return out


# -- reference cache ------------------------------------------------------------------------


def test_reference_read_once_per_version(data: Path, store: Store) -> None:
    s = settings(data)
    monitor = s.monitors[0]
    reference = monitor.reference.connector
    assert isinstance(reference, CountingFile)
    first = run_monitor(monitor, day(0), store=store, options=s.profile)
    second = run_monitor(monitor, day(1), store=store, options=s.profile)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert reference.calls == [None]  # the second run took the profile from the store
    assert count(store, "reference_profiles") == 1
    assert [r.rows_reference for r in store.runs("m")] == [800, 800]

    # a new version of the reference file (new mtime and size) is read and profiled again
    rng = np.random.default_rng(4)
    frame(rng, 900).to_parquet(data / "ref.parquet", index=False)
    third = run_monitor(monitor, day(2), store=store, options=s.profile)
    assert third.status == "succeeded"
    assert reference.calls == [None, None]
    assert count(store, "reference_profiles") == 2
    assert store.runs("m")[0].rows_reference == 900

    # touching only the mtime is a new version too
    stat = os.stat(data / "ref.parquet")
    os.utime(data / "ref.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    run_monitor(monitor, day(3), store=store, options=s.profile)
    assert len(reference.calls) == 3
    assert count(store, "reference_profiles") == 3


def test_profile_cache_survives_a_new_process_view(data: Path, store: Store) -> None:
    """A second Settings object (a restarted daemon) reuses the profile stored by the first."""
    s1 = settings(data)
    run_monitor(s1.monitors[0], day(0), store=store, options=s1.profile)
    s2 = settings(data)
    run_monitor(s2.monitors[0], day(1), store=store, options=s2.profile)
    assert s2.monitors[0].reference.connector.calls == []  # type: ignore[union-attr]
    # other profile options are another profile
    s3 = settings_from_dict({"store": {"url": "sqlite:///dw.db"}, "profile": {"bins": 5},
                             "monitors": [{"name": "m", "window": "1d", "schema": SCHEMA,
                                           "current": {"type": "file", "path": "cur/{start:%Y-%m-%d}.csv"},
                                           "reference": {"type": "counting", "path": "ref.parquet"}}]},
                            path=data / "config.toml", environ={}, connectors=CONNECTORS)
    run_monitor(s3.monitors[0], day(1), store=store, options=s3.profile)
    assert s3.monitors[0].reference.connector.calls == [None]  # type: ignore[union-attr]
    assert count(store, "reference_profiles") == 2


def test_a_multivariate_monitor_caches_a_profile_that_keeps_reference_rows(data: Path, store: Store) -> None:
    """A monitor with a multivariate detector stores a profile with ``reference_rows`` rows kept
    whole (under a key of its own), and its run gives what ``check`` gives on the same data."""
    s = settings(data, detectors=[{"type": "multivariate", "reference_rows": 600, "min_rows": 50}])
    outcome = run_monitor(s.monitors[0], day(2), store=store, options=s.profile)
    assert outcome.status == "succeeded", outcome.error
    detector = MultivariateDetector(reference_rows=600, min_rows=50)
    expected = driftwatch.check(pd.read_parquet(data / "ref.parquet"), pd.read_csv(data / "cur" / "2026-11-03.csv"),
                                SCHEMA, detectors=[detector])
    assert [context_free(r) for r in outcome.results] == [context_free(r) for r in expected]
    assert [(r.detector, r.metric) for r in outcome.results] == [("multivariate", "reconstruction_error")]
    with store.engine.connect() as conn:
        (stored,) = conn.execute(sa.text("SELECT data FROM reference_profiles")).scalars()
    joint = Profile.from_bytes(stored).joint
    assert joint is not None and joint.columns == ("x", "c") and joint.values.shape == (600, 2)


# -- rolling reference ----------------------------------------------------------------------


def test_rolling_reference_reads_previous_windows_through_current_connector(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    parts = []
    for i in range(4):
        n = 150 + 10 * i
        part = frame(rng, n, shift=2.0 if i == 3 else 0.0)
        part.insert(0, "ts", [(day(i).start + timedelta(seconds=float(s))).isoformat()
                              for s in np.sort(rng.uniform(0, 86399, n))])
        parts.append(part)
    pd.concat(parts, ignore_index=True).to_csv(tmp_path / "events.csv", index=False)
    s = settings(tmp_path, current={"type": "counting", "path": "events.csv", "timestamp_column": "ts"},
                 reference={"rolling": 2})
    monitor = s.monitors[0]
    with Store(f"sqlite:///{tmp_path / 'dw.db'}") as store:
        store.create_all()
        outcome = run_monitor(monitor, day(3), store=store, options=s.profile)
        assert outcome.status == "succeeded", outcome.error
        assert monitor.current.calls == [day(1), day(2), day(3)]  # type: ignore[attr-defined]
        [record] = store.runs("m")
        assert (record.rows_reference, record.rows_current) == (160 + 170, 180)
    expected = driftwatch.check(pd.concat(parts[1:3], ignore_index=True), parts[3], SCHEMA)
    assert [context_free(r) for r in outcome.results] == [context_free(r) for r in expected]
    assert any(r.feature == "x" and r.status == "alert" for r in outcome.results)


def test_rolling_reference_over_daily_files(data: Path, store: Store) -> None:
    s = settings(data, reference={"rolling": 2})
    outcome = run_monitor(s.monitors[0], day(2), store=store, options=s.profile)
    assert outcome.status == "succeeded", outcome.error
    assert store.runs("m")[0].rows_reference == 400
    reference = pd.concat([pd.read_csv(data / "cur" / f"2026-11-0{i}.csv") for i in (1, 2)], ignore_index=True)
    expected = driftwatch.check(reference, pd.read_csv(data / "cur" / "2026-11-03.csv"), SCHEMA)
    assert [context_free(r) for r in outcome.results] == [context_free(r) for r in expected]


def test_reference_range_without_timestamp_column_is_refused(data: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        settings(data, reference={"type": "file", "path": "cur/*.csv", "start": "2026-11-01", "end": "2026-11-02"})
    assert any("monitors[0].reference" in p and "timestamp_column" in p for p in exc.value.problems)


# -- failures -------------------------------------------------------------------------------


def test_connector_failure_ends_the_run_failed(data: Path, store: Store) -> None:
    s = settings(data, current={"type": "file", "path": "cur/{start:%Y-%m-%d}.parquet"})
    outcome = run_monitor(s.monitors[0], day(0), store=store, options=s.profile)
    assert outcome.status == "failed"
    assert outcome.error and "cur/2026-11-01.parquet" in outcome.error
    [error] = outcome.results
    assert (error.detector, error.feature, error.status, error.run_id) == ("engine", "", "error", outcome.run_id)
    assert "cur/2026-11-01.parquet" in error.details["error"]
    [record] = store.runs("m")
    assert (record.id, record.status, record.finished_at is not None) == (outcome.run_id, "failed", True)
    assert record.error == outcome.error
    [stored] = store.results(run_id=outcome.run_id)
    assert stored.status == "error" and stored.details == error.details
    assert count(store, "runs", "WHERE status = 'running'") == 0


def test_reference_failure_ends_the_run_failed(data: Path, store: Store) -> None:
    (data / "ref.parquet").write_bytes(b"not parquet")
    s = settings(data)
    outcome = run_monitor(s.monitors[0], day(0), store=store, options=s.profile)
    assert outcome.status == "failed"
    assert "ref.parquet" in (outcome.error or "")
    assert count(store, "runs", "WHERE status = 'running'") == 0
    assert count(store, "reference_profiles") == 0


def test_results_that_cannot_be_written_fail_the_run(data: Path, store: Store) -> None:
    s = settings(data, detectors=[{"type": "drift"}, {"type": "opaque"}])
    outcome = run_monitor(s.monitors[0], day(0), store=store, options=s.profile)
    assert outcome.status == "failed"
    assert "object" in (outcome.error or "")
    assert count(store, "runs", "WHERE status = 'running'") == 0
    # all or nothing: none of the drift results were written, only the error
    assert [(r.detector, r.status) for r in store.results(run_id=outcome.run_id)] == [("engine", "error")]
    assert [r.status for r in store.runs("m")] == ["failed"]


def test_a_failed_window_can_be_rerun(data: Path, store: Store) -> None:
    missing = data / "cur" / "2026-11-01.csv"
    kept = missing.read_bytes()
    missing.unlink()
    s = settings(data)
    assert run_monitor(s.monitors[0], day(0), store=store, options=s.profile).status == "failed"
    missing.write_bytes(kept)
    again = run_monitor(s.monitors[0], day(0), store=store, options=s.profile)
    assert again.status == "succeeded"
    assert [(r.attempt, r.status) for r in store.runs("m")] == [(2, "succeeded"), (1, "failed")]


def test_rerun_false_skips_a_claimed_window(data: Path, store: Store) -> None:
    s = settings(data)
    first = run_monitor(s.monitors[0], day(0), store=store, options=s.profile, rerun=False)
    second = run_monitor(s.monitors[0], day(0), store=store, options=s.profile, rerun=False)
    assert (first.status, second.status, second.run_id) == ("succeeded", "skipped", None)
    assert count(store, "runs") == 1


# -- same results as the Python API --------------------------------------------------------


def test_same_results_as_check(data: Path, store: Store) -> None:
    s = settings(data)
    outcome = run_monitor(s.monitors[0], day(2), store=store, options=s.profile)
    expected = driftwatch.check(pd.read_parquet(data / "ref.parquet"), pd.read_csv(data / "cur" / "2026-11-03.csv"),
                                SCHEMA)
    assert [context_free(r) for r in outcome.results] == [context_free(r) for r in expected]
    assert {(r.monitor, r.run_id, r.window_start, r.window_end) for r in outcome.results} == {
        ("m", outcome.run_id, day(2).start, day(2).end)}
    assert any(r.status == "alert" for r in outcome.results)
    # what the store gives back is what was computed
    stored = store.results(run_id=outcome.run_id)
    assert [(r.feature, r.metric, r.value, r.p_value, r.status) for r in stored] == \
        [(r.feature, r.metric, r.value, r.p_value, r.status) for r in outcome.results]


def test_inferred_schema_same_results_as_check(data: Path, store: Store) -> None:
    s = settings_from_dict({"store": {"url": "sqlite:///dw.db"}, "monitors": [{
        "name": "m", "window": "1d", "current": {"type": "file", "path": "cur/{start:%Y-%m-%d}.csv"},
        "reference": {"type": "file", "path": "ref.parquet"}}]}, path=data / "config.toml", environ={})
    outcome = run_monitor(s.monitors[0], day(0), store=store, options=s.profile)
    assert outcome.status == "succeeded", outcome.error
    expected = driftwatch.check(pd.read_parquet(data / "ref.parquet"), pd.read_csv(data / "cur" / "2026-11-01.csv"))
    assert [context_free(r) for r in outcome.results] == [context_free(r) for r in expected]
    assert {r.feature for r in outcome.results if r.detector == "drift"} == {"x", "c", ""}


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A store URL whose connections live in a throw-away schema, session zone not UTC."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    schema = f"dw_engine_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield make_url(base).update_query_dict(
            {"options": f"-c search_path={schema} -c TimeZone=America/St_Johns"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def test_full_run_on_postgresql(data: Path, pg_store_url: str) -> None:
    s = settings(data, store_url=pg_store_url)
    with Store(s.store.url.reveal()) as store:
        store.create_all()
        outcome = run_monitor(s.monitors[0], day(2), store=store, options=s.profile)
        cached = run_monitor(s.monitors[0], day(3), store=store, options=s.profile)
        assert (outcome.status, cached.status) == ("succeeded", "succeeded")
        assert s.monitors[0].reference.connector.calls == [None]  # type: ignore[union-attr]
        stored = store.results(run_id=outcome.run_id)
        runs = store.runs("m")
    assert len(stored) == len(outcome.results)
    for got, made in zip(stored, outcome.results):
        assert got.window_start is not None and got.window_end is not None
        assert got.window_start.utcoffset() == timedelta(0) and got.window_end.utcoffset() == timedelta(0)
        assert (got.window_start, got.window_end) == (day(2).start, day(2).end)
        assert (got.feature, got.metric, got.status) == (made.feature, made.metric, made.status)
        assert got.value == pytest.approx(made.value) if made.value is not None else got.value is None
    assert [(r.status, r.window_start) for r in runs] == [("succeeded", day(3).start), ("succeeded", day(2).start)]
    assert all(r.started_at.utcoffset() == timedelta(0) for r in runs)
