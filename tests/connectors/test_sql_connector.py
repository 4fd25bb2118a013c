from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.connectors import BUILTIN, Connector, SqlConnector, sql_engines
from driftwatch.errors import ConnectorError, DataError
from driftwatch.model import Window
from driftwatch.secrets import Secret, redact_url

from .conftest import MakeTable

NOV3 = Window(datetime(2026, 11, 3), datetime(2026, 11, 4))
BOUNDARY_TS = ["2026-11-02 23:59:59.999999", "2026-11-03 00:00:00", "2026-11-03 12:00:00",
               "2026-11-03 23:59:59.999999", "2026-11-04 00:00:00"]


def events(*, aware: bool) -> pd.DataFrame:
    ts = pd.to_datetime(BOUNDARY_TS, format="ISO8601")
    return pd.DataFrame({
        "ts": ts.tz_localize("UTC") if aware else ts,
        "x": [1, 2, 3, 4, 5],
        "region": ["a", "b", "c", "d", "e"],
    })


def has_table(url: str, name: str, schema: str | None = None) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(name, schema=schema)
    finally:
        engine.dispose()


# -- contract and settings ------------------------------------------------------------------

def test_is_a_registered_connector() -> None:
    connector = SqlConnector("sqlite:///x.db", table="t")
    assert isinstance(connector, Connector)
    assert BUILTIN["sql"] is SqlConnector
    assert SqlConnector.name == "sql"


def test_url_becomes_a_secret_and_repr_hides_the_password() -> None:
    connector = SqlConnector("postgresql+psycopg://app:Hunter2pw@db.internal/prod", table="events")
    assert isinstance(connector.url, Secret)
    assert "Hunter2pw" not in repr(connector)
    assert "Hunter2pw" not in str(connector)
    assert "url=***" in repr(connector)
    assert connector.redacted_url == "postgresql+psycopg://app:***@db.internal/prod"
    same = SqlConnector(Secret("postgresql+psycopg://app:Hunter2pw@db.internal/prod"), table="events")
    assert same == connector and hash(same) == hash(connector)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"table": "t", "query": "select 1"}, "table: set either table or query, not both"),
    ({}, "table: set either table or query"),
    ({"table": ""}, "table: must be a non-empty string"),
    ({"table": "t", "timestamp_column": ""}, "timestamp_column: must be a non-empty string"),
    ({"query": "select 1", "db_schema": "s"}, "db_schema: only applies to table"),
])
def test_bad_settings_are_rejected_naming_the_key(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        SqlConnector("sqlite:///x.db", **kwargs)
    assert str(info.value).startswith(message)


def test_a_malformed_url_is_rejected_without_showing_the_password() -> None:
    with pytest.raises(ValueError, match="url: not a SQLAlchemy database URL") as info:
        SqlConnector("no-scheme-here user:Hunter2pw@host", table="t")
    assert "Hunter2pw" not in str(info.value)


def test_engines_are_lazy_cached_per_url_and_shared(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    a = SqlConnector(url, query="select 1 as one")
    b = SqlConnector(url, query="select 2 as one")
    assert url not in sql_engines._ENGINES  # constructing opens nothing
    assert not (tmp_path / "lazy.db").exists()
    (tmp_path / "lazy.db").touch()  # a missing SQLite file is refused, not created (tests/corpus)
    assert a.fetch(None, ["one"])["one"].tolist() == [1]
    engine = sql_engines._ENGINES[url]
    assert b.fetch(None, ["one"])["one"].tolist() == [2]
    assert sql_engines._ENGINES[url] is engine


def test_with_base_dir_anchors_a_relative_sqlite_file(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rel.db'}")
    with engine.begin() as conn:
        pd.DataFrame({"x": [1, 2]}).to_sql("t", conn, index=False)
    engine.dispose()
    connector = SqlConnector("sqlite:///rel.db", table="t").with_base_dir(tmp_path)
    assert connector.redacted_url == f"sqlite:///{tmp_path / 'rel.db'}"
    assert connector.fetch(None, ["x"])["x"].tolist() == [1, 2]
    pg = SqlConnector("postgresql+psycopg://u:pw@h/db", table="t")
    assert pg.with_base_dir(tmp_path) is pg


# -- table mode -----------------------------------------------------------------------------

@pytest.mark.parametrize("aware", [False, True], ids=["naive", "aware"])
def test_table_window_keeps_start_drops_end(db_url: str, make_table: MakeTable, aware: bool) -> None:
    table = make_table(events(aware=aware))
    connector = SqlConnector(db_url, table=table, timestamp_column="ts")
    out = connector.fetch(NOV3, ["x", "not_there"])
    assert list(out.columns) == ["x", "ts"]
    assert out["x"].tolist() == [2, 3, 4]
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert out["ts"].tolist()[0] == pd.Timestamp("2026-11-03", tz="UTC")
    assert out["ts"].tolist()[-1] == pd.Timestamp("2026-11-03 23:59:59.999999", tz="UTC")
    everything = connector.fetch(None, ["x"])
    assert everything["x"].tolist() == [1, 2, 3, 4, 5]
    assert str(everything["ts"].dtype) == "datetime64[us, UTC]"


def test_table_without_timestamp_column_ignores_the_window(db_url: str, make_table: MakeTable) -> None:
    table = make_table(events(aware=False))
    out = SqlConnector(db_url, table=table).fetch(NOV3, ["region", "x"])
    assert list(out.columns) == ["region", "x"]
    assert out["x"].tolist() == [1, 2, 3, 4, 5]


def test_table_with_none_of_the_columns_keeps_the_row_count(db_url: str, make_table: MakeTable) -> None:
    table = make_table(events(aware=False))
    assert SqlConnector(db_url, table=table).fetch(None, ["nope"]).shape == (5, 0)


def test_text_timestamps_with_offsets_are_cut_exactly(db_url: str, make_table: MakeTable) -> None:
    table = make_table(pd.DataFrame({
        "ts": ["2026-11-03T01:00:00+02:00",   # 2026-11-02 23:00 UTC: before
               "2026-11-04T00:30:00+02:00",   # 2026-11-03 22:30 UTC: inside, yet its text says 11-04
               "2026-11-03T20:00:00-05:00",   # 2026-11-04 01:00 UTC: after, yet its text says 11-03
               "2026-11-03 05:00:00",         # naive: UTC, inside
               "2026-11-01 12:00:00",
               "2026-11-02T20:00:00-05:00"],  # 2026-11-03 01:00 UTC: inside, yet its text says 11-02
        "x": [1, 2, 3, 4, 5, 6],
    }))
    out = SqlConnector(db_url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])
    assert sorted(out["x"].tolist()) == [2, 4, 6]


def test_unparseable_timestamp_is_a_data_error_naming_the_column(db_url: str, make_table: MakeTable) -> None:
    table = make_table(pd.DataFrame({"ts": ["2026-11-03 01:00", "2026-11-03 noonish"], "x": [1, 2]}))
    with pytest.raises(DataError, match=r"column 'ts': cannot read '2026-11-03 noonish' as an ISO 8601"):
        SqlConnector(db_url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])


def test_missing_timestamp_column_with_a_window(db_url: str, make_table: MakeTable) -> None:
    table = make_table(pd.DataFrame({"x": [1]}))
    with pytest.raises(DataError, match=f"table '{table}' has no timestamp column 'ts'"):
        SqlConnector(db_url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])


def test_query_without_the_timestamp_column_and_a_window(db_url: str) -> None:
    connector = SqlConnector(db_url, query="SELECT 1 AS x", timestamp_column="ts")
    with pytest.raises(DataError, match="query result has no timestamp column 'ts'"):
        connector.fetch(NOV3, ["x"])
    assert connector.fetch(None, ["x"])["x"].tolist() == [1]


def test_missing_table_names_table_and_redacted_url(db_url: str) -> None:
    connector = SqlConnector(db_url, table="no_such_table")
    with pytest.raises(ConnectorError) as info:
        connector.fetch(None, ["x"])
    assert str(info.value) == f"sql connector {redact_url(db_url)}: table 'no_such_table' not found"


def test_identifiers_are_quoted_not_spliced(db_url: str, make_table: MakeTable) -> None:
    victim = make_table(pd.DataFrame({"x": [1]}))
    evil = f'we "ird" name\'; DROP TABLE {victim}; --'
    table = make_table(pd.DataFrame({"my col": [1, 2], "Mixed'Case": ["a", "b"]}), evil)
    connector = SqlConnector(db_url, table=table)
    out = connector.fetch(None, ["my col", "Mixed'Case", f"x; DROP TABLE {victim}; --"])
    assert list(out.columns) == ["my col", "Mixed'Case"]
    assert out["my col"].tolist() == [1, 2]
    with pytest.raises(ConnectorError, match="not found"):
        SqlConnector(db_url, table=f"{victim}; DROP TABLE {victim}; --").fetch(None, ["x"])
    assert has_table(db_url, victim)


def test_new_columns_are_seen_after_the_cache_was_filled(db_url: str, make_table: MakeTable) -> None:
    table = make_table(pd.DataFrame({"x": [1, 2]}))
    connector = SqlConnector(db_url, table=table)
    assert list(connector.fetch(None, ["x", "y"]).columns) == ["x"]
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'ALTER TABLE "{table}" ADD COLUMN y INTEGER'))
        conn.execute(sa.text(f'UPDATE "{table}" SET y = x * 10'))
    engine.dispose()
    assert connector.fetch(None, ["x", "y"])["y"].tolist() == [10, 20]


# -- query mode -----------------------------------------------------------------------------

def test_query_binds_the_window_when_it_mentions_it(db_url: str, make_table: MakeTable) -> None:
    table = make_table(events(aware=False))
    query = f'SELECT x, region, ts FROM "{table}" WHERE ts >= :window_start AND ts < :window_end ORDER BY x'
    # no timestamp_column: the rows come from the SQL filter alone
    out = SqlConnector(db_url, query=query).fetch(NOV3, ["x", "missing"])
    assert list(out.columns) == ["x"]
    assert out["x"].tolist() == [2, 3, 4]
    # no window: the parameters span all time
    assert SqlConnector(db_url, query=query).fetch(None, ["x"])["x"].tolist() == [1, 2, 3, 4, 5]


def test_query_without_window_parameters_is_cut_after_reading(db_url: str, make_table: MakeTable) -> None:
    table = make_table(events(aware=True))
    query = f'SELECT * FROM "{table}" ORDER BY x'
    out = SqlConnector(db_url, query=query, timestamp_column="ts").fetch(NOV3, ["region"])
    assert out["region"].tolist() == ["b", "c", "d"]
    assert list(out.columns) == ["region", "ts"]
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert SqlConnector(db_url, query=query).fetch(NOV3, ["region"])["region"].tolist() == list("abcde")


def test_query_values_are_data_not_sql(db_url: str, make_table: MakeTable) -> None:
    victim = make_table(pd.DataFrame({"x": [1]}))
    payload = f"x'; DROP TABLE {victim}; --"
    table = make_table(pd.DataFrame({"name": [payload, "plain"], "n": [1, 2]}))
    query = f'SELECT name, n FROM "{table}" WHERE n >= 1 ORDER BY n'
    out = SqlConnector(db_url, query=query).fetch(None, ["name"])
    assert out["name"].tolist() == [payload, "plain"]
    assert has_table(db_url, victim)


def test_a_broken_query_is_a_one_line_connector_error(db_url: str) -> None:
    with pytest.raises(ConnectorError) as info:
        SqlConnector(db_url, query="SELECT nope FROM nowhere_at_all").fetch(None, ["nope"])
    message = str(info.value)
    assert message.startswith(f"sql connector {redact_url(db_url)}: ")
    assert "nowhere_at_all" in message
    assert "\n" not in message
    assert "Background on this error" not in message


# -- errors never show the password ---------------------------------------------------------

def test_unreachable_database_error_redacts_the_password() -> None:
    url = "postgresql+psycopg://app:Hunter2pw@127.0.0.1:1/prod"
    with pytest.raises(ConnectorError) as info:
        SqlConnector(url, table="events").fetch(None, ["x"])
    message = str(info.value)
    assert message.startswith("sql connector postgresql+psycopg://app:***@127.0.0.1:1/prod: ")
    assert "Hunter2pw" not in message
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unknown_driver_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError, match=r"sql connector nosuchdb://u:\*\*\*@h/db: ") as info:
        SqlConnector("nosuchdb://u:Hunter2pw@h/db", table="t").fetch(None, ["x"])
    assert "Hunter2pw" not in str(info.value)


# -- version --------------------------------------------------------------------------------

def test_version_depends_on_settings_and_window_not_the_password() -> None:
    base = SqlConnector("postgresql+psycopg://u:one@h/db", table="t", timestamp_column="ts")
    v = base.version(NOV3)
    assert len(v) == 64 and v == base.version(NOV3)
    assert SqlConnector("postgresql+psycopg://u:two@h/db", table="t", timestamp_column="ts").version(NOV3) == v
    others = [
        base.version(None),
        base.version(Window(datetime(2026, 11, 4), datetime(2026, 11, 5))),
        SqlConnector("postgresql+psycopg://u:one@h/other", table="t", timestamp_column="ts").version(NOV3),
        SqlConnector("postgresql+psycopg://u:one@h/db", table="t2", timestamp_column="ts").version(NOV3),
        SqlConnector("postgresql+psycopg://u:one@h/db", table="t", timestamp_column="ts2").version(NOV3),
        SqlConnector("postgresql+psycopg://u:one@h/db", table="t", timestamp_column="ts",
                     db_schema="s").version(NOV3),
        SqlConnector("postgresql+psycopg://u:one@h/db", query="select * from t",
                     timestamp_column="ts").version(NOV3),
    ]
    assert len({v, *others}) == len(others) + 1


# -- PostgreSQL specifics -------------------------------------------------------------------

def test_pg_db_schema(pg_url: str, pg_schema: str, make_pg_table: MakeTable) -> None:
    table = make_pg_table(events(aware=True), "events", schema=pg_schema)
    connector = SqlConnector(pg_url, table=table, db_schema=pg_schema, timestamp_column="ts")
    assert connector.fetch(NOV3, ["x"])["x"].tolist() == [2, 3, 4]
    with pytest.raises(ConnectorError, match=f"table '{pg_schema}.nope' not found"):
        SqlConnector(pg_url, table="nope", db_schema=pg_schema).fetch(None, ["x"])


def test_pg_session_time_zone_does_not_shift_naive_timestamps(pg_url: str, make_pg_table: MakeTable) -> None:
    naive = make_pg_table(events(aware=False))
    aware = make_pg_table(events(aware=True))
    url = str(sa.engine.make_url(pg_url).update_query_dict({"options": "-c timezone=America/New_York"}))
    for table in (naive, aware):
        assert SqlConnector(url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])["x"].tolist() == [2, 3, 4]
        query = f'SELECT x FROM "{table}" WHERE ts >= :window_start AND ts < :window_end ORDER BY x'
        assert SqlConnector(url, query=query).fetch(NOV3, ["x"])["x"].tolist() == [2, 3, 4]
    out = SqlConnector(url, table=aware, timestamp_column="ts").fetch(NOV3, ["x"])
    assert out["ts"].iloc[0] == pd.Timestamp("2026-11-03", tz="UTC")


def test_pg_table_window_holds_whatever_the_session_time_zone(pg_url: str, make_pg_table: MakeTable) -> None:
    """Even if something re-sets the zone per checkout (a pooler, a hook), table mode binds
    naive bounds to ``timestamp`` and aware ones to ``timestamptz``, so nothing shifts."""
    naive = make_pg_table(events(aware=False))
    aware = make_pg_table(events(aware=True))
    engine = sql_engines.shared_engine(pg_url)

    @sa.event.listens_for(engine, "checkout")
    def new_york(dbapi_connection: object, _record: object, _proxy: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("SET TIME ZONE 'America/New_York'")
        cursor.close()

    for table in (naive, aware):
        out = SqlConnector(pg_url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])
        assert out["x"].tolist() == [2, 3, 4], table


def test_pg_date_column(pg_url: str, make_pg_table: MakeTable) -> None:
    frame = pd.DataFrame({"day": [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)], "x": [1, 2, 3]})
    table = make_pg_table(frame, dtype={"day": sa.Date()})
    out = SqlConnector(pg_url, table=table, timestamp_column="day").fetch(NOV3, ["x"])
    assert out["x"].tolist() == [2]
    assert out["day"].iloc[0] == pd.Timestamp("2026-11-03", tz="UTC")


def test_pg_numeric_timestamp_column_is_refused(pg_url: str, make_pg_table: MakeTable) -> None:
    table = make_pg_table(pd.DataFrame({"ts": [1_730_000_000], "x": [1]}))
    with pytest.raises(DataError, match="column 'ts' has type BIGINT"):
        SqlConnector(pg_url, table=table, timestamp_column="ts").fetch(NOV3, ["x"])


def test_pg_pre_ping_replaces_a_killed_connection(pg_url: str, make_pg_table: MakeTable) -> None:
    table = make_pg_table(pd.DataFrame({"x": [1, 2]}))
    app = f"dw_{uuid.uuid4().hex[:12]}"
    url = str(sa.engine.make_url(pg_url).update_query_dict({"application_name": app}))
    connector = SqlConnector(url, table=table)
    assert connector.fetch(None, ["x"])["x"].tolist() == [1, 2]
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :app"),
            {"app": app}).scalar_one()
    admin.dispose()
    assert killed == 1  # the pooled connection is dead now
    assert connector.fetch(None, ["x"])["x"].tolist() == [1, 2]


def test_columns_none_reads_every_column(db_url: str, make_table: MakeTable) -> None:
    table = make_table(events(aware=False))
    out = SqlConnector(db_url, table=table, timestamp_column="ts").fetch(NOV3, None)
    assert list(out.columns) == ["ts", "x", "region"]
    assert out["x"].tolist() == [2, 3, 4]
    query = SqlConnector(db_url, query=f'SELECT region, x FROM "{table}" ORDER BY x').fetch(None, None)
    assert list(query.columns) == ["region", "x"]
    assert len(query) == 5
