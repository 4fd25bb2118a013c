"""Profile a window of Parquet files with DuckDB, scanning the files where they lie.

The file connector's pandas path reads every row of a window into memory; DuckDB reads only
the columns asked for, in parallel, under a memory limit, and hands back the figures of
``driftwatch.pushdown`` (the same statements as for a database table). The files are
registered as a relation named ``window_rows`` through DuckDB's Python API, so no path is
ever written into SQL (with a key per row, a hash of file name and row number, ``ROW_KEY``);
the window is cut by bound timestamps, after the connector has already
skipped the ``dt=`` partitions outside it. Parquet only: its column types are stored, so both
paths see the same numbers (a CSV's types would be guessed twice, possibly differently).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from ..errors import DataError
from ..model import Schema, Window
from ..profiling import Profile, ProfileOptions
from ..pushdown import PushdownUnavailable, Source, profile_window
from ..pushdown.reference import profile_reference
from ..pushdown.types import WindowProfiles, numeric_type, pandas_dtype
from .formats import detect_format
from .reflect import table_columns

if TYPE_CHECKING:
    from .file import FileConnector

__all__ = ["DUCKDB_FROM_BYTES", "MEMORY_LIMIT", "ROW_KEY", "keyed_rows", "profile_files",
           "profile_files_reference"]

#: With ``engine = "auto"``, DuckDB profiles a window from this many bytes of files on: there it
#: is faster than pandas and holds far less; below it, starting DuckDB costs more than pandas' read.
DUCKDB_FROM_BYTES = 256 * 2**20
#: What DuckDB may hold while it profiles (it spills to disk beyond), so a window of any size
#: costs the driftwatch process about this much, not the window's size.
MEMORY_LIMIT = "512MB"
#: The column added to the files' rows that tells them apart (a hash of file name and row
#: number), so the row sample is drawn in the aggregate scan (``pushdown.sql.SampleRows``).
#: Files that hold a column of this name, ``filename`` or ``file_row_number`` go without.
ROW_KEY = "driftwatch_row_key"


def profile_files(connector: FileConnector, files: Sequence[str], window: Window, reference: Profile,
                  columns: Sequence[str], *, max_sorted: int) -> WindowProfiles:
    """``FileConnector.profile_window``: DuckDB over ``files`` when they are Parquet, DuckDB is
    installed and (``engine = "auto"``) they are big enough; else ``PushdownUnavailable``."""
    kinds = {name: reference.columns[name].kind for name in columns}
    with _scan(connector, files, [window], kinds) as (conn, source, types):
        present = [c for c in columns if c in types]
        n_rows, profiles = profile_window(conn, source, reference, present, max_sorted=max_sorted)
    return WindowProfiles(n_rows, profiles, {name: pandas_dtype(kind) for name, kind in types.items()})


def profile_files_reference(connector: FileConnector, files: Sequence[str], windows: Sequence[Window | None],
                            schema: Schema, options: ProfileOptions) -> Profile:
    """``FileConnector.profile_reference``: the reference profile of ``files`` (cut to
    ``windows``) computed by DuckDB, on the same conditions as ``profile_files``."""
    kinds = {name: schema.kind(name) for name in schema.features}
    with _scan(connector, files, windows, kinds) as (conn, source, types):
        absent = [c for c in schema.features if c not in types]
        if absent:
            raise DataError(f"reference data lacks column(s) named in the schema: {', '.join(map(repr, absent))}")
        return profile_reference(conn, source, schema, options, {n: pandas_dtype(k) for n, k in types.items()})


@contextmanager
def _scan(connector: FileConnector, files: Sequence[str], windows: Sequence[Window | None],
          kinds: Mapping[str, str]) -> Iterator[tuple[Connection, Source, dict[str, TypeEngine[Any]]]]:
    """An in-process DuckDB connection, ``files`` as the relation ``window_rows`` cut to
    ``windows``, and its column types; ``PushdownUnavailable`` when DuckDB is not the way."""
    auto = connector.engine == "auto"
    formats = {connector.format if connector.format != "auto" else detect_format(path) for path in files}
    if formats != {"parquet"}:
        shown = ", ".join(sorted(str(f) for f in formats))
        raise PushdownUnavailable(f"DuckDB profiles Parquet files; these are {shown}", quiet=auto)
    size = sum(os.path.getsize(path) for path in files)
    if auto and size < DUCKDB_FROM_BYTES:
        raise PushdownUnavailable(f"{size:,} bytes of files, below the {DUCKDB_FROM_BYTES:,} DuckDB starts at",
                                  quiet=True)
    if importlib.util.find_spec("duckdb_engine") is None:
        raise PushdownUnavailable("DuckDB is not installed (pip install 'driftwatch[duckdb]')")
    engine = sa.create_engine("duckdb:///:memory:")
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # a constant of ours, not input
            files_read, keyed = keyed_rows(raw, files)
            raw.register("window_rows", files_read)
            types = table_columns(conn, "window_rows", None)
            types.pop(ROW_KEY, None)
            for name, kind in kinds.items():
                if name in types and kind == "numeric" and not numeric_type(types[name]):
                    raise PushdownUnavailable(f"column {name!r} is {types[name]}, not a number, in the files")
            cuts = [_window(types, connector.timestamp_column, w) for w in windows if w is not None]
            conditions = () if len(cuts) < len(windows) or not all(cuts) else (
                sa.or_(*(sa.and_(*c) for c in cuts)),)
            yield conn, Source(sa.table("window_rows"), conditions, row_key=ROW_KEY if keyed else None), types
    finally:
        engine.dispose()


def keyed_rows(raw: Any, files: Sequence[str]) -> tuple[Any, bool]:
    """The rows of Parquet ``files`` as a DuckDB relation on the connection ``raw``, each with
    its ``ROW_KEY`` (a hash of its file's name and its row number there), and whether it has one."""
    rows = raw.read_parquet(list(files), union_by_name=True)
    if {"filename", "file_row_number", ROW_KEY} & set(rows.columns):
        return rows, False
    # DuckDB's virtual columns, seen by a projection (a registered relation hides them)
    return rows.project(f"*, hash(filename, file_row_number) AS {ROW_KEY}"), True


def _window(types: dict[str, TypeEngine[Any]], ts: str | None, window: Window) -> list[ColumnElement[bool]]:
    """``start <= ts < end``, bound as the column's type wants (naive timestamps are UTC)."""
    if ts is None:
        return []
    if ts not in types:  # the pulled path says so in its own words
        raise PushdownUnavailable(f"no timestamp column {ts!r} in the files")
    kind = types[ts]
    if not isinstance(kind, sa.DateTime):
        raise PushdownUnavailable(f"timestamp column {ts!r} is {kind} in the files: the window is cut after parsing")
    column: sa.ColumnClause[Any] = sa.column(ts)
    return [column >= _bound(window.start, kind), column < _bound(window.end, kind)]


def _bound(moment: datetime, kind: sa.DateTime) -> Any:
    aware = moment.astimezone(timezone.utc)
    return sa.bindparam(None, aware if kind.timezone else aware.replace(tzinfo=None), type_=kind)
