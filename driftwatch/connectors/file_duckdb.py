"""Profile a window of Parquet files with DuckDB, scanning the files where they lie.

The file connector's pandas path reads every row of a window into memory; DuckDB reads only
the columns asked for, in parallel, under a memory limit, and hands back the figures of
``driftwatch.pushdown`` (the same statements as for a database table). The files are
registered as a relation named ``window_rows`` through DuckDB's Python API, so no path is
ever written into SQL; the window is cut by bound timestamps, after the connector has already
skipped the ``dt=`` partitions outside it. Parquet only: its column types are stored, so both
paths see the same numbers (a CSV's types would be guessed twice, possibly differently).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from ..model import Window
from ..profiling import Profile
from ..pushdown import PushdownUnavailable, Source, profile_window
from ..pushdown.types import WindowProfiles, numeric_type, pandas_dtype
from .file import detect_format
from .reflect import table_columns

if TYPE_CHECKING:
    from .file import FileConnector

__all__ = ["DUCKDB_FROM_BYTES", "MEMORY_LIMIT", "profile_files", "profile_parquet"]

#: With ``engine = "auto"``, DuckDB profiles a window from this many bytes of files on: there it
#: is faster than pandas and holds far less; below it, starting DuckDB costs more than pandas' read.
DUCKDB_FROM_BYTES = 256 * 2**20
#: What DuckDB may hold while it profiles (it spills to disk beyond), so a window of any size
#: costs the driftwatch process about this much, not the window's size.
MEMORY_LIMIT = "1GB"


def profile_files(connector: FileConnector, files: Sequence[str], window: Window, reference: Profile,
                  columns: Sequence[str], *, max_sorted: int) -> WindowProfiles:
    """``FileConnector.profile_window``: DuckDB over ``files`` when they are Parquet, DuckDB is
    installed and (``engine = "auto"``) they are big enough; else ``PushdownUnavailable``."""
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
    return profile_parquet(files, connector.timestamp_column, window, reference, columns, max_sorted=max_sorted)


def profile_parquet(files: Sequence[str], timestamp_column: str | None, window: Window, reference: Profile,
                    columns: Sequence[str], *, max_sorted: int) -> WindowProfiles:
    """The window's profiles computed by an in-process DuckDB over ``files``."""
    engine = sa.create_engine("duckdb:///:memory:")
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # a constant of ours, not input
            raw.register("window_rows", raw.read_parquet(list(files), union_by_name=True))
            types = table_columns(conn, "window_rows", None)
            conditions = _window(types, timestamp_column, window)
            present = [c for c in columns if c in types]
            for name in present:
                if reference.columns[name].kind == "numeric" and not numeric_type(types[name]):
                    raise PushdownUnavailable(f"column {name!r} is {types[name]}, not a number, in the files")
            source = Source(sa.table("window_rows"), tuple(conditions))
            n_rows, profiles = profile_window(conn, source, reference, present, max_sorted=max_sorted)
    finally:
        engine.dispose()
    return WindowProfiles(n_rows, profiles, {name: pandas_dtype(kind) for name, kind in types.items()})


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
