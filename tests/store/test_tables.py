"""R33: schema, indexes, and timestamps that are always timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from driftwatch.model import Window
from driftwatch.store import Store
from driftwatch.store.tables import UTCDateTime, runs

PLUS_TWO = timezone(timedelta(hours=2))


def test_r33_indexes_exist(store: Store) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("results")}
    assert indexes["ix_results_monitor_metric_window_end"] == ["monitor", "metric", "window_end"]
    assert indexes["ix_results_monitor_feature_metric_window_end"] == ["monitor", "feature", "metric", "window_end"]
    assert indexes["ix_results_run_id"] == ["run_id"]
    run_indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("runs")}
    assert run_indexes["ix_runs_monitor_window_end"] == ["monitor", "window_end"]


def test_runs_unique_claim_constraint(store: Store) -> None:
    uniques = inspect(store.engine).get_unique_constraints("runs")
    assert [u["column_names"] for u in uniques] == [["monitor", "window_start", "window_end", "attempt"]]
    assert uniques[0]["name"] == "uq_runs_monitor_window_start_window_end_attempt"


def test_create_all_is_idempotent(store: Store, days: list[Window]) -> None:
    run_id = store.start_run("churn", days[0], owner="t")
    store.create_all()
    store.create_all()
    assert set(inspect(store.engine).get_table_names()) >= {"runs", "results", "reference_profiles"}
    assert store.run(run_id) is not None  # data survives


def test_timestamps_round_trip_as_aware_utc(store_url: str) -> None:
    started = datetime(2026, 11, 2, 1, 30, 15, 123456, tzinfo=PLUS_TWO)
    with Store(store_url, clock=lambda: started) as store:
        store.create_all()
        window = Window(datetime(2026, 11, 1, 2, tzinfo=PLUS_TWO), datetime(2026, 11, 2, 2, tzinfo=PLUS_TWO))
        run_id = store.start_run("churn", window, owner="t")
        assert run_id is not None
        record = store.run(run_id)
    assert record is not None
    for value in (record.window_start, record.window_end, record.started_at):
        assert value.tzinfo is timezone.utc
    assert record.window_start == datetime(2026, 11, 1, 0, tzinfo=timezone.utc)
    assert record.window_end == datetime(2026, 11, 2, 0, tzinfo=timezone.utc)
    assert record.started_at == datetime(2026, 11, 1, 23, 30, 15, 123456, tzinfo=timezone.utc)
    assert record.finished_at is None


def test_sqlite_stores_utc_text(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path / 'dw.db'}") as store:
        store.create_all()
        window = Window(datetime(2026, 11, 1, 2, tzinfo=PLUS_TWO), datetime(2026, 11, 2, 2, tzinfo=PLUS_TWO))
        store.start_run("churn", window, owner="t")
        with store.engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT window_start FROM runs").scalar()
    assert raw == "2026-11-01 00:00:00.000000"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_naive_datetime_is_rejected(dialect) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 1), dialect)
    with pytest.raises(TypeError, match="expected a datetime"):
        UTCDateTime().process_bind_param("2026-11-01", dialect)


def test_naive_datetime_is_rejected_by_the_database_layer(store: Store) -> None:
    aware = datetime(2026, 11, 1, tzinfo=timezone.utc)
    row = {"monitor": "m", "window_start": datetime(2026, 11, 1), "window_end": aware, "attempt": 1,
           "status": "running", "owner": "t", "started_at": aware}
    with pytest.raises(StatementError) as caught, store.engine.begin() as conn:
        conn.execute(insert(runs).values(**row))
    assert isinstance(caught.value.orig, ValueError)
    with store.engine.connect() as conn:
        assert conn.execute(select(runs.c.id)).first() is None


def test_bind_converts_to_utc() -> None:
    value = datetime(2026, 11, 1, 2, tzinfo=PLUS_TWO)
    assert UTCDateTime().process_bind_param(value, sqlite.dialect()) == datetime(2026, 11, 1, 0)
    pg = UTCDateTime().process_bind_param(value, postgresql.dialect())
    assert pg == value and pg is not None and pg.tzinfo is timezone.utc
    back = UTCDateTime().process_result_value(datetime(2026, 11, 1, 7, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
                                              postgresql.dialect())
    assert back == datetime(2026, 11, 1, 2, tzinfo=timezone.utc) and back.tzinfo is timezone.utc
