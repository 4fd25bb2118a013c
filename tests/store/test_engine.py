"""R34: per-database engine settings, and URLs that cannot be used."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import IntegrityError

from driftwatch.errors import ConfigError
from driftwatch.store import Store
from driftwatch.store.engine import create_engine
from driftwatch.store.results import insert_results


def test_sqlite_pragmas_on_every_fresh_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    with Store(url) as store:
        store.create_all()
        store.dispose()  # nothing pooled: the connections below are new
        with store.engine.connect() as first, store.engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(store: Store, make_result, days) -> None:
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_results(conn, 12345, [make_result(days[0])])  # there is no run 12345
    assert store.results() == []


def test_postgres_engine_pings_before_use(postgres_url: str) -> None:
    with Store(postgres_url) as store:
        assert store.engine.dialect.name == "postgresql"
        assert store.engine.pool._pre_ping is True
        store.create_all()
        with store.engine.connect() as conn:
            # The fixture's isolation and non-UTC session time zone are really in effect.
            assert conn.exec_driver_sql("SELECT current_schema()").scalar().startswith("dw_test_")
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "Asia/Kolkata"


def test_postgres_connection_killed_between_uses_is_replaced(postgres_url: str, days) -> None:
    """R34: a dropped connection (server restart, proxy timeout) costs a ping, not a failed call."""
    with Store(postgres_url) as store:
        store.create_all()
        with store.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = sqlalchemy.create_engine(os.environ["DRIFTWATCH_TEST_POSTGRES_URL"])
        try:
            with admin.begin() as conn:
                assert conn.execute(sqlalchemy.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        finally:
            admin.dispose()
        run_id = store.start_run("churn", days[0], owner="t")  # the pooled connection is dead
        assert run_id is not None and store.run(run_id) is not None
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid


def test_postgresql_scheme_uses_psycopg3() -> None:
    engine = create_engine("postgresql://dw:hunter2@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping is True


def test_sqlite_engine_does_not_pre_ping(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'dw.db'}")
    assert engine.pool._pre_ping is False
    engine.dispose()


@pytest.mark.parametrize("url", [
    "nosuchdb://dw:hunter2@db.example:5432/drift",
    "mysql://dw:hunter2@db.example/drift",           # driver not installed
    "postgresql+psycopg2://dw:hunter2@db.example/drift",
    "postgresql://dw:hunter2@db.example:notaport/drift",
    "hunter2",
    "dw:hunter2@db.example",
    "",
])
def test_bad_url_is_config_error_without_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_engine(url)
    message = str(caught.value)
    assert message.startswith("store.url: ")
    assert "\n" not in message
    assert "hunter2" not in message
    assert "hunter2" not in repr(caught.value)
    # No chained driver exception whose text could carry the URL.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_bad_url_error_shows_the_redacted_url() -> None:
    with pytest.raises(ConfigError, match=r"unknown database type 'nosuchdb' \(nosuchdb://dw:\*\*\*@db:5/x\)"):
        Store("nosuchdb://dw:hun%40ter2@db:5/x")


def test_store_repr_hides_password() -> None:
    store = Store("postgresql+psycopg://dw:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in repr(store)
    assert "dw:***@127.0.0.1:1/db" in repr(store)


def test_relative_sqlite_path_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store("sqlite:///relative.db") as store:
        store.create_all()
    assert (tmp_path / "relative.db").is_file()
    assert os.path.samefile(tmp_path, os.getcwd())


def test_many_connections_opening_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    """Switching a fresh file to WAL can hit "database is locked" without the busy handler
    (two connections both upgrading their read lock); the engine retries instead of failing."""
    errors: list[BaseException] = []
    modes: list[str] = []

    def open_and_read(url: str, barrier: threading.Barrier) -> None:
        engine = create_engine(url)
        try:
            barrier.wait()
            with engine.connect() as conn:
                modes.append(conn.exec_driver_sql("PRAGMA journal_mode").scalar())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    for round_ in range(25):
        url = f"sqlite:///{tmp_path / f'fresh{round_}.db'}"
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=open_and_read, args=(url, barrier)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert modes == ["wal"] * 200
