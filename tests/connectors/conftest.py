"""Real peers for the connector tests: SQLite files in tmp_path and, when configured, PostgreSQL.

PostgreSQL tests need ``DRIFTWATCH_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and are skipped with a reason otherwise.
Every test table gets a unique name and is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.connectors.sql_engines import dispose_engines

PG_ENV = "DRIFTWATCH_TEST_POSTGRES_URL"

MakeTable = Callable[..., str]


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    """Every test starts without cached engines and closes the ones it made."""
    dispose_engines()
    yield
    dispose_engines()


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a SQLite file in tmp_path (empty: a missing one is refused), then the
    PostgreSQL test server."""
    if request.param == "sqlite":
        (tmp_path / "data.db").touch()
        return f"sqlite:///{tmp_path / 'data.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def _table_maker(url: str) -> tuple[MakeTable, Callable[[], None]]:
    engine = sa.create_engine(url)
    created: list[tuple[str, str | None]] = []

    def make(frame: pd.DataFrame, name: str | None = None, *, schema: str | None = None,
             dtype: dict[str, object] | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with engine.begin() as conn:
            frame.to_sql(name, conn, schema=schema, index=False, dtype=dtype)  # type: ignore[arg-type]
        created.append((name, schema))
        return name

    def drop_all() -> None:
        with engine.begin() as conn:
            for name, schema in created:
                conn.execute(sa.schema.DropTable(sa.table(name, schema=schema), if_exists=True))
        engine.dispose()

    return make, drop_all


@pytest.fixture
def make_table(db_url: str) -> Iterator[MakeTable]:
    """``make_table(frame, name=None, schema=None, dtype=None) -> name`` in ``db_url``, dropped afterwards."""
    make, drop_all = _table_maker(db_url)
    yield make
    drop_all()


@pytest.fixture
def make_pg_table(pg_url: str) -> Iterator[MakeTable]:
    """Like ``make_table``, on PostgreSQL only."""
    make, drop_all = _table_maker(pg_url)
    yield make
    drop_all()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped with everything in it afterwards."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(name))
    yield name
    with engine.begin() as conn:
        conn.execute(sa.schema.DropSchema(name, cascade=True))
    engine.dispose()
