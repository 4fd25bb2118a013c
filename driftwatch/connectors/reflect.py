"""A table's columns and their SQLAlchemy types, on every database the SQL connector reads.

SQLAlchemy's inspector does it everywhere but DuckDB: duckdb-engine borrows PostgreSQL's
reflection, whose catalog query (``pg_catalog.pg_collation``) DuckDB does not have. There the
columns come from ``information_schema.columns`` and the type names are read here.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.types import TypeEngine

__all__ = ["row_key", "samples_rows", "table_columns"]

_DUCKDB_TYPES: list[tuple[str, TypeEngine[Any]]] = [
    (r"(TINY|SMALL|BIG|HUGE|U?)INT(EGER)?\d*|U(TINY|SMALL|BIG|HUGE)INT", sa.Integer()),
    (r"DOUBLE|FLOAT\d*|REAL", sa.Float()),
    (r"DECIMAL.*|NUMERIC.*", sa.Numeric()),
    (r"BOOL(EAN)?", sa.Boolean()),
    (r"TIMESTAMP( WITH TIME ZONE|TZ)", sa.DateTime(timezone=True)),
    (r"TIMESTAMP.*|DATETIME", sa.DateTime()),
    (r"DATE", sa.Date()),
    (r"VARCHAR.*|TEXT|STRING|CHAR.*", sa.String()),
]


def table_columns(conn: Connection, table: str, schema: str | None) -> dict[str, TypeEngine[Any]]:
    """``{column: type}`` of ``schema.table`` in the database behind ``conn``."""
    if conn.dialect.name != "duckdb":
        return {col["name"]: col["type"] for col in sa.inspect(conn).get_columns(table, schema=schema)}
    query = sa.text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :table "
                    "AND table_schema = COALESCE(:schema, current_schema()) ORDER BY ordinal_position")
    rows = conn.execute(query, {"table": table, "schema": schema}).all()
    if not rows:
        raise NoSuchTableError(table)
    return {name: _duckdb_type(kind) for name, kind in rows}


def samples_rows(conn: Connection, table: str, schema: str | None) -> bool:
    """Whether ``TABLESAMPLE`` can sample ``schema.table``'s rows (``pushdown.sql.row_sample``):
    on PostgreSQL when it is a table or a materialized view, not a view."""
    return conn.dialect.name == "postgresql" and table not in sa.inspect(conn).get_view_names(schema=schema)


def row_key(conn: Connection, table: str, schema: str | None) -> str | None:
    """The pseudo-column telling ``schema.table``'s rows apart (``pushdown.sql.Source.row_key``):
    ``rowid`` of a DuckDB table (a view has none); None elsewhere."""
    if conn.dialect.name != "duckdb":
        return None
    query = sa.text("SELECT table_type FROM information_schema.tables WHERE table_name = :table "
                    "AND table_schema = COALESCE(:schema, current_schema())")
    kind = conn.execute(query, {"table": table, "schema": schema}).scalar()
    return "rowid" if kind == "BASE TABLE" else None


def _duckdb_type(name: str) -> TypeEngine[Any]:
    """The SQLAlchemy type of a DuckDB type name (``NullType`` for one it has no word for).

    >>> _duckdb_type("BIGINT"), _duckdb_type("TIMESTAMP WITH TIME ZONE").timezone, _duckdb_type("MAP(INT, INT)")
    (Integer(), True, NullType())
    """
    for pattern, kind in _DUCKDB_TYPES:
        if re.fullmatch(pattern, name.upper()):
            return kind
    return sa.types.NullType()
