"""The SQLAlchemy engines a process's SQL connectors share, and the column types they read.

Engines are created on first use, one per URL, and shared by every connector in the process:
constructing a connector (e.g. while validating a config) opens no connection. On PostgreSQL
every new session is set to UTC. A table's column types are cached beside its engine, so a
scheduled run reflects a table once, not per window. These are process-wide state with a life
of their own (created lazily, shared across threads, disposed at shutdown), apart from what any
one connector reads; ``dispose_engines`` forgets them all.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeEngine

from .reflect import table_columns

__all__ = ["dispose_engines", "forget_table", "shared_engine", "table_types"]

_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}
_COLUMNS: dict[tuple[str, str | None, str], dict[str, TypeEngine[Any]]] = {}


def dispose_engines() -> None:
    """Close every pooled connection and forget cached engines and table columns.

    For shutdown and tests; the next ``fetch`` creates a fresh engine.
    """
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
        _COLUMNS.clear()
    for engine in engines:
        engine.dispose()


def table_types(conn: Connection, url: str, db_schema: str | None, table: str, *,
                refresh: bool) -> dict[str, TypeEngine[Any]]:
    """The column types of ``table`` (cached per URL, schema and table; read again if ``refresh``)."""
    key = (url, db_schema, table)
    with _LOCK:
        cached = None if refresh else _COLUMNS.get(key)
    if cached is not None:
        return cached
    found = table_columns(conn, table, db_schema)
    with _LOCK:
        _COLUMNS[key] = found
    return found


def forget_table(url: str, db_schema: str | None, table: str) -> None:
    """Drop the cached column types of ``table`` (after an error: it may have changed)."""
    with _LOCK:
        _COLUMNS.pop((url, db_schema, table), None)


def shared_engine(url: str) -> Engine:
    """The one engine of ``url`` in this process, created on first use."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = sa.create_engine(url, pool_pre_ping=True)
            if engine.dialect.name == "postgresql":
                sa.event.listen(engine, "connect", _utc_session)
            _ENGINES[url] = engine
    return engine


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    """Make the PostgreSQL session UTC, so naive ``timestamp`` values compare and read as UTC."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET TIME ZONE 'UTC'")
    finally:
        cursor.close()
        dbapi_connection.autocommit = autocommit
