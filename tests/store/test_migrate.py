"""R35: Alembic migrations shipped in the package; ``create_all`` upgrades; autogenerate is empty."""

from __future__ import annotations

import importlib
import io
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, text

from driftwatch.errors import ConfigError, StoreError
from driftwatch.model import Window
from driftwatch.store import (
    Store,
    alert_tables,  # noqa: F401  (its tables join metadata)
    migrate,
)
from driftwatch.store.alerts import notify_group
from driftwatch.store.engine import create_engine
from driftwatch.store.tables import metadata, reference_profiles, results, runs

#: What ``metadata.create_all`` made before migrations existed (revision 0001's tables).
PRE_MIGRATION_TABLES = [runs, results, reference_profiles]
WINDOW = Window(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc))
WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


def _create_old_tables(engine: Engine) -> None:
    """The tables as ``metadata.create_all`` made them before migrations (no ``results.segment``)."""
    metadata.create_all(engine, tables=PRE_MIGRATION_TABLES)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE results DROP COLUMN segment")


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement: str, parameters, context, executemany) -> None:
        seen.append(statement.strip())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything about driftwatch's tables that a migration could get wrong, comparable as data."""
    inspector = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(metadata.tables):
        checks = inspector.get_check_constraints(table)
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table),
            "fks": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                           tuple(fk["referred_columns"]), tuple(sorted(fk["options"].items())))
                          for fk in inspector.get_foreign_keys(table)),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), ix["unique"]) for ix in inspector.get_indexes(table)),
            "checks": sorted((c["name"], " ".join(c["sqltext"].split())) for c in checks),
        }
    if engine.dialect.name == "sqlite":  # the DDL itself, AUTOINCREMENT and all (ALTER TABLE spaces it its way)
        with engine.connect() as conn:
            out["sqlite_master"] = sorted((kind, name, " ".join((sql or "").split())) for kind, name, sql in
                                          conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master "
                                                               "WHERE name NOT LIKE '%alembic_version%'"))
    return out


def test_revisions_are_numbered_in_a_line_and_the_package_ships_the_environment() -> None:
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert (migrate.MIGRATIONS / "script.py.mako").is_file()
    files = sorted(p.name for p in (migrate.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert files[0] == "0001_initial.py"
    numbers = [name.split("_", 1)[0] for name in files]
    assert numbers == [f"{i:04d}" for i in range(1, len(files) + 1)]
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert [r.revision for r in script.walk_revisions()] == numbers[::-1]  # one line, no branches
    assert migrate.head() == numbers[-1]


def test_importing_env_outside_alembic_runs_nothing() -> None:
    env = importlib.import_module("driftwatch.store.migrations.env")
    assert callable(env.run_migrations_online) and callable(env.run_migrations_offline)


def test_upgrade_creates_the_schema_and_is_then_a_no_op(new_url: Callable[[], str]) -> None:
    url = new_url()
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    with _engine(url) as engine:
        before = _schema(engine)
        assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
        with _statements(engine) as seen:
            migrate.upgrade(engine)
            migrate.upgrade(engine)
        assert not [s for s in seen if s.upper().startswith(WRITES)]
        assert _schema(engine) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrate.head()]


def test_migrated_schema_equals_the_declared_tables(new_url: Callable[[], str]) -> None:
    """Migrating and ``metadata.create_all`` give the same tables, constraints and indexes."""
    migrated, created = new_url(), new_url()
    migrate.upgrade(migrated)
    with _engine(migrated) as a, _engine(created) as b:
        metadata.create_all(b)
        assert _schema(a) == _schema(b)


def test_check_is_empty_on_the_migrated_database(new_url: Callable[[], str]) -> None:
    url = new_url()
    migrate.upgrade(url)
    assert migrate.check(url) == []
    with _engine(url) as engine:
        with engine.begin() as conn:  # another application's table in the same schema is not ours to diff
            conn.exec_driver_sql("CREATE TABLE other_app (id INTEGER PRIMARY KEY)")
        assert migrate.check(engine) == []


def test_check_reports_a_database_that_differs(new_url: Callable[[], str]) -> None:
    url = new_url()
    migrate.upgrade(url)
    with _engine(url) as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_results_run_id")
            conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN note TEXT")
        diff = migrate.check(engine)
    kinds = sorted((d[0], getattr(d[1], "name", None) if d[0] == "add_index" else d[3].name) for d in diff)
    assert kinds == [("add_index", "ix_results_run_id"), ("remove_column", "note")]


def test_r33_indexes_in_the_migrated_schema(new_url: Callable[[], str]) -> None:
    url = new_url()
    migrate.upgrade(url)
    with _engine(url) as engine:
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("results")}
    assert indexes == {
        "ix_results_monitor_metric_window_end": ["monitor", "metric", "window_end"],
        "ix_results_monitor_feature_metric_window_end": ["monitor", "feature", "metric", "window_end"],
        "ix_results_run_id": ["run_id"],
    }


def test_store_create_all_migrates(store_url: str) -> None:
    with Store(store_url) as store:
        assert migrate.current(store.engine) is None
        store.create_all()
        assert migrate.current(store.engine) == migrate.head()
        assert migrate.check(store.engine) == []


def test_old_create_all_database_is_upgraded_in_place(store_url: str) -> None:
    """A database made by ``metadata.create_all`` (no alembic_version) is adopted, data kept."""
    with Store(store_url) as store:
        _create_old_tables(store.engine)
        run_id = store.start_run("churn", WINDOW, owner="old")
        assert run_id is not None and migrate.current(store.engine) is None
        store.create_all()
        assert migrate.current(store.engine) == migrate.head()
        assert migrate.check(store.engine) == []
        record = store.run(run_id)
        assert record is not None and record.owner == "old"


def test_partial_old_database_gets_what_is_missing(new_url: Callable[[], str]) -> None:
    reference, partial = new_url(), new_url()
    migrate.upgrade(reference)
    with _engine(partial) as engine:
        _create_old_tables(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_results_run_id")
            conn.exec_driver_sql("DROP TABLE reference_profiles")
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        with _engine(reference) as full:
            assert _schema(engine) == _schema(full)


def test_concurrent_upgrades_of_a_fresh_database(new_url: Callable[[], str]) -> None:
    """Replicas starting together: each waits for the migration lock, none fails."""
    url = new_url()
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            migrate.upgrade(url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert migrate.current(url) == migrate.head()
    assert migrate.check(url) == []
    with _engine(url) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_upgrade_to_a_named_revision_and_down_again(new_url: Callable[[], str]) -> None:
    url = new_url()
    migrate.upgrade(url, "0001")
    assert migrate.current(url) == "0001"
    with _engine(url) as engine:
        with engine.connect() as conn:
            migrate.lock(conn)
            command.downgrade(migrate.alembic_config(conn), "base")
            conn.commit()
        assert migrate.current(engine) is None
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.check(engine) == []


def test_a_0002_database_keeps_its_rows_through_0003_and_back(new_url: Callable[[], str]) -> None:
    """A store made by the release before 0003 gains ``notify_groups.announced`` (NULL: the
    group announced nothing yet) and the outbox index; its rows stay, and the step undoes."""
    url = new_url()
    migrate.upgrade(url, "0002")
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with _engine(url) as engine:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO notify_groups (monitor, channel, last_queued_at) VALUES ('m', 'ops', :at)"),
                         {"at": at})
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert migrate.check(engine) == []
        with engine.connect() as conn:
            row = conn.execute(text("SELECT monitor, channel, announced FROM notify_groups")).one()
        assert tuple(row) == ("m", "ops", None)
        with engine.connect() as conn:
            group = notify_group(conn, "m", "ops")
        assert (group.last_queued_at, group.last_sent_at, group.announced) == (at, None, frozenset())
        assert "ix_outbox_monitor_state" in {i["name"] for i in inspect(engine).get_indexes("outbox")}
        with engine.connect() as conn:
            migrate.lock(conn)
            command.downgrade(migrate.alembic_config(conn), "0002")
            conn.commit()
        assert migrate.current(engine) == "0002"
        assert "announced" not in {c["name"] for c in inspect(engine).get_columns("notify_groups")}
        assert "ix_outbox_monitor_state" not in {i["name"] for i in inspect(engine).get_indexes("outbox")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notify_groups")).scalar_one() == 1


def test_0004_starts_each_monitor_at_its_newest_finished_run(new_url: Callable[[], str]) -> None:
    """A store from before 0004 gets ``judged_windows`` seeded from its runs: the newest
    succeeded or failed window of each monitor (running and skipped ones were never judged)."""
    url = new_url()
    migrate.upgrade(url, "0003")
    day = [datetime(2026, 11, d, tzinfo=timezone.utc) for d in range(1, 6)]
    made = [("a", 0, "succeeded"), ("a", 1, "failed"), ("a", 2, "running"), ("a", 3, "skipped"),
            ("b", 0, "succeeded"), ("c", 2, "skipped")]
    with _engine(url) as engine:
        with engine.begin() as conn:
            ids = [conn.execute(runs.insert().values(monitor=m, window_start=day[d], window_end=day[d + 1],
                                                     status=status, owner="old", started_at=day[0])
                                .returning(runs.c.id)).scalar_one() for m, d, status in made]
        migrate.upgrade(engine)
        with engine.connect() as conn:
            seeded = conn.execute(text("SELECT monitor, run_id FROM judged_windows ORDER BY monitor")).all()
    assert [tuple(row) for row in seeded] == [("a", ids[1]), ("b", ids[4])]


def test_database_from_a_newer_driftwatch_is_a_store_error(store_url: str) -> None:
    with Store(store_url) as store:
        store.create_all()
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(StoreError, match=rf"cannot migrate the database: .*'f00d'.*up to '{migrate.head()}'.*newer"):
            store.create_all()
        with pytest.raises(StoreError, match="'f00d'"):
            migrate.upgrade(store.engine)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://dw:hunter2@127.0.0.1:1/drift",
    "sqlite:////nonexistent-dir/for/sure/dw.db",
])
def test_unreachable_database_is_one_store_error_line(url: str) -> None:
    for attempt in (lambda: Store(url).create_all(), lambda: migrate.upgrade(url), lambda: migrate.current(url)):
        with pytest.raises(StoreError, match=r"^store\.url .*: cannot use the database: ") as caught:
            attempt()
        assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite(url: str) -> None:
    for call in (migrate.upgrade, migrate.current, migrate.check):
        with pytest.raises(ConfigError, match="in-memory SQLite database .* migrate it through its Store"):
            call(url)
    with Store(url) as store:  # one connection per thread: the store's own engine is migrated
        store.create_all()
        assert migrate.current(store.engine) == migrate.head()
        assert store.start_run("churn", WINDOW, owner="t") is not None


def test_sqlite_migrations_use_the_tuned_engine(tmp_path: Path) -> None:
    path = tmp_path / "dw.db"
    migrate.upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:  # WAL is persistent: set by our engine's connect pragmas
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_alembic_run_by_hand_with_sqlalchemy_url(new_url: Callable[[], str]) -> None:
    """env.py without a handed-over connection opens ``sqlalchemy.url`` with our engine."""
    url = new_url()
    cfg = migrate.alembic_config()
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")
    assert migrate.current(url) == migrate.head()
    assert migrate.check(url) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_offline_sql(dialect: str) -> None:
    cfg = migrate.alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"{dialect}://")
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    sql = cfg.output_buffer.getvalue()
    assert "CREATE TABLE runs" in sql and "CREATE INDEX ix_results_monitor_metric_window_end" in sql
    assert "INSERT INTO alembic_version (version_num) VALUES ('0001')" in sql
    if dialect == "sqlite":
        assert "AUTOINCREMENT" in sql
    else:
        assert "TIMESTAMP WITH TIME ZONE" in sql and "BIGSERIAL" in sql


def test_unknown_database_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown database type 'nosuch'"):
        migrate.upgrade("nosuch://x@y/z")
    assert sqlalchemy.__version__  # the engine module, not alembic, rejected it


def test_autogenerate_drafts_an_empty_revision_at_head(new_url: Callable[[], str], tmp_path: Path) -> None:
    """The recipe in ``migrations/__init__.py``: env.py and script.py.mako render a revision."""
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    following = f"{int(migrate.head()) + 1:04d}"
    with _engine(new_url()) as engine:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            cfg = migrate.alembic_config(conn)
            cfg.set_main_option("version_locations", f"{migrate.MIGRATIONS / 'versions'}{os.pathsep}{drafts}")
            command.revision(cfg, message="nothing changed", autogenerate=True, rev_id=following,
                             version_path=str(drafts))
    (draft,) = drafts.glob("*.py")
    assert draft.name == f"{following}_nothing_changed.py"
    source = draft.read_text()
    assert f"revision: str = '{following}'" in source
    assert f"down_revision: str | Sequence[str] | None = '{migrate.head()}'" in source
    assert "op." not in source.split("def upgrade")[1]  # nothing to do: the models equal the migrations
    compile(source, str(draft), "exec")
