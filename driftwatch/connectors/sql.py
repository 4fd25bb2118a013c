"""Read a table, or the result of a query, from any database SQLAlchemy can reach.

The URL is a ``Secret``: the connector's repr shows ``***`` and every error names the database by
its redacted URL (``postgresql+psycopg://app:***@db/prod``), so a log line never carries the
password. Identifiers are quoted by SQLAlchemy and values are bound, never formatted into SQL.

Engines are created on first use, one per URL, and shared by every connector in the process
(``connectors.sql_engines``): constructing a connector (e.g. while validating a config) opens no
connection.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, ProgrammingError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from ..errors import ConnectorError, DataError
from ..model import Schema, Window
from ..profiling import Profile, ProfileOptions
from ..pushdown import MODES, PushdownUnavailable, Source, profile_window
from ..pushdown.reference import profile_reference
from ..pushdown.types import WindowProfiles, numeric_type, pandas_dtype
from ..pushdown.window import statements
from ..secrets import Secret, redact_url
from .frames import cut_window, present_columns, requested_columns, utc_timestamps
from .reflect import row_key, samples_rows
from .sql_engines import dispose_engines, forget_table, shared_engine, table_types
from .sql_window import query_params, window_conditions

__all__ = ["SqlConnector", "dispose_engines"]


@dataclass(frozen=True)
class SqlConnector:
    """A table (``table`` [+ ``db_schema``]) or a query (``query``) behind a SQLAlchemy ``url``.

    With ``table`` and ``timestamp_column``, a window becomes
    ``WHERE ts >= :start AND ts < :end``. On SQLite, and for text columns elsewhere, the SQL
    filter is a day wider on each side (text compares as text, and ISO strings may carry
    offsets) and the exact cut is made after parsing the timestamps. Naive timestamps are UTC.

    With ``query``, the text may use ``:window_start`` and ``:window_end``; they are bound only
    if it does: tz-aware UTC datetimes, or on SQLite UTC text ``YYYY-MM-DD HH:MM:SS[.ffffff]``
    (compare with ``datetime(ts)``); without a window they span all time. With
    ``timestamp_column`` the rows are cut to the window again after reading, so a query needs no
    window filter of its own to be correct (only to be fast).

    Without ``timestamp_column`` windows are ignored: every row of the table or query is returned.
    On PostgreSQL the session time zone is set to UTC, so ``timestamp`` columns read as UTC.

    >>> c = SqlConnector("postgresql+psycopg://app:hunter2@db/prod", table="events")
    >>> c
    SqlConnector(url=***, table='events', query=None, timestamp_column=None, db_schema=None, pushdown='prefer')
    >>> SqlConnector("sqlite:///x.db", table="t", query="select 1")
    Traceback (most recent call last):
    ...
    ValueError: table: set either table or query, not both
    """

    name: ClassVar[str] = "sql"

    url: Secret | str
    table: str | None = None
    query: str | None = None
    timestamp_column: str | None = None
    db_schema: str | None = None
    pushdown: str = "prefer"

    def __post_init__(self) -> None:
        if isinstance(self.url, str):
            object.__setattr__(self, "url", Secret(self.url))
        if not isinstance(self.url, Secret) or not self.url.reveal().strip():
            raise ValueError("url: must be a database URL such as postgresql+psycopg://user@host/db")
        try:
            make_url(self.url.reveal())
        except (ArgumentError, ValueError):
            # not echoed: an unparseable URL cannot be redacted reliably
            raise ValueError("url: not a SQLAlchemy database URL "
                             "(expected dialect+driver://user:password@host:port/database)") from None
        if self.table is not None and self.query is not None:
            raise ValueError("table: set either table or query, not both")
        if self.table is None and self.query is None:
            raise ValueError("table: set either table or query")
        for key in ("table", "query", "timestamp_column", "db_schema"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{key}: must be a non-empty string, got {value!r}")
        if self.db_schema is not None and self.query is not None:
            raise ValueError("db_schema: only applies to table; qualify the names inside query instead")
        if self.pushdown not in MODES:
            raise ValueError(f"pushdown: must be one of {', '.join(MODES)}, got {self.pushdown!r}")

    @property
    def redacted_url(self) -> str:
        """The URL with its password shown as ``***``, for messages."""
        return redact_url(self._url())

    def with_base_dir(self, base: str | Path) -> SqlConnector:
        """A copy whose relative SQLite file path is taken relative to ``base`` (a config's folder).

        >>> SqlConnector("sqlite:///data/app.db", table="t").with_base_dir("/etc/dw").redacted_url
        'sqlite:////etc/dw/data/app.db'
        """
        url = make_url(self._url())
        database = url.database
        if (not url.drivername.startswith("sqlite") or not database or database == ":memory:"
                or database.startswith("file:") or os.path.isabs(database)):
            return self
        absolute = os.path.join(os.path.abspath(os.path.expanduser(str(base))), database)
        return replace(self, url=Secret(url.set(database=absolute).render_as_string(hide_password=False)))

    def fetch(self, window: Window | None, columns: Sequence[str] | None) -> pd.DataFrame:
        """The requested columns that exist (plus ``timestamp_column``), rows cut to ``window``.

        Columns asked for but absent from the table or query result are missing from the frame;
        ``columns=None`` reads every column.
        """
        wanted = requested_columns(columns, self.timestamp_column)
        self._check_file()
        try:
            engine = shared_engine(self._url())
            with engine.connect() as conn:
                if self.table is not None:
                    frame = self._fetch_table(engine, conn, window, wanted)
                else:
                    frame = self._fetch_query(conn, window, wanted)
        except NoSuchTableError:
            raise ConnectorError(
                f"sql connector {self.redacted_url}: table {self._qualified()!r} not found") from None
        except (SQLAlchemyError, ImportError, pd.errors.DatabaseError) as exc:
            self._forget_columns()
            raise ConnectorError(f"sql connector {self.redacted_url}: {self._reason(exc)}") from None
        ts = self.timestamp_column
        if ts is None:
            return frame
        if ts not in frame.columns:
            if window is not None:
                raise DataError(f"sql connector {self.redacted_url}: query result has no timestamp column {ts!r}")
            return frame
        frame[ts] = utc_timestamps(frame[ts], where=f"sql connector {self.redacted_url}: column {ts!r}")
        return cut_window(frame, ts, window) if window is not None else frame

    def profile_window(self, window: Window, reference: Profile, columns: Sequence[str], *,
                       max_sorted: int) -> WindowProfiles:
        """The window's column profiles computed by the database (``driftwatch.pushdown``);
        ``PushdownUnavailable`` when its rows cannot be cut or read exactly in SQL: a query
        source, a timestamp kept as text (SQLite), a numeric column the database keeps as
        something else."""
        kinds = {name: reference.columns[name].kind for name in columns}
        with self._pushdown([window], kinds) as (conn, source, types):
            present = [c for c in columns if c in types]
            n_rows, profiles = profile_window(conn, source, reference, present, max_sorted=max_sorted,
                                              text_columns=_text_columns(types))
        return WindowProfiles(n_rows, profiles, {name: pandas_dtype(kind) for name, kind in types.items()})

    def explain_window(self, window: Window, reference: Profile, columns: Sequence[str], *,
                       max_sorted: int) -> list[tuple[str, str, dict[str, Any]]]:
        """The statements ``profile_window`` would run, as ``(what, SQL, parameters)``, compiled
        for the database (read: its column types, to cut the window); nothing is run."""
        kinds = {name: reference.columns[name].kind for name in columns}
        with self._pushdown([window], kinds) as (conn, source, types):
            present = [c for c in columns if c in types]
            found = statements(source, reference, present, dialect=conn.dialect.name, max_sorted=max_sorted,
                               text_columns=_text_columns(types))
            compiled = [(what, statement.compile(dialect=conn.dialect)) for what, statement in found]
        return [(what, str(c), dict(c.params)) for what, c in compiled]

    def profile_reference(self, windows: Sequence[Window | None], schema: Schema,
                          options: ProfileOptions) -> Profile:
        """``profiling.profile`` of the rows of ``windows`` (``None``: every row) with ``schema``,
        computed by the database (``pushdown.reference``); ``PushdownUnavailable`` as for a window."""
        kinds = {name: schema.kind(name) for name in schema.features}
        with self._pushdown(windows, kinds) as (conn, source, types):
            absent = [c for c in schema.features if c not in types]
            if absent:
                raise DataError(f"reference data lacks column(s) named in the schema: {', '.join(map(repr, absent))}")
            dtypes = {name: pandas_dtype(kind) for name, kind in types.items()}
            return profile_reference(conn, source, schema, options, dtypes)

    @contextmanager
    def _pushdown(self, windows: Sequence[Window | None],
                  kinds: Mapping[str, str]) -> Iterator[tuple[Connection, Source, dict[str, TypeEngine[Any]]]]:
        """A connection, the rows of ``windows`` as a ``Source`` and every column's type;
        ``PushdownUnavailable`` when they cannot be cut or read exactly in SQL (``kinds``: the
        columns to be profiled as numbers must be numbers there), and the connector's usual
        one-line errors for a database that fails."""
        if self.query is not None:
            raise PushdownUnavailable("a query source is read whole (pushdown profiles tables)")
        self._check_file()
        try:
            engine = shared_engine(self._url())
            with engine.connect() as conn:
                types = self._columns(conn, refresh=False)
                if any(c not in types for c in kinds):
                    types = self._columns(conn, refresh=True)
                for name, kind in kinds.items():
                    if name in types and kind == "numeric" and not numeric_type(types[name]):
                        raise PushdownUnavailable(f"column {name!r} is {types[name]}, not a number, in the database")
                cuts = [self._exact_window(conn.dialect.name, types, w) for w in windows if w is not None]
                conditions = () if len(cuts) < len(windows) else (sa.or_(*(sa.and_(*c) for c in cuts)),)
                table = self.table or ""
                yield conn, Source(sa.table(table, schema=self.db_schema), conditions,
                                   table_sample=samples_rows(conn, table, self.db_schema),
                                   row_key=row_key(conn, table, self.db_schema)), types
        except NoSuchTableError:
            raise ConnectorError(
                f"sql connector {self.redacted_url}: table {self._qualified()!r} not found") from None
        except ProgrammingError as exc:  # the database lacks what the statements ask of it (a function)
            dialect = make_url(self._url()).get_backend_name()
            raise PushdownUnavailable(f"{dialect} cannot run the profile's SQL: {self._reason(exc)}") from None
        except SQLAlchemyError as exc:  # a timeout, a dropped connection: the run fails, as a pull would
            self._forget_columns()
            raise ConnectorError(f"sql connector {self.redacted_url}: {self._reason(exc)}") from None

    def _check_file(self) -> None:
        """A SQLite source must exist: opening a missing file would create it, empty."""
        path = self._sqlite_path()
        if path is not None and not os.path.exists(path):
            raise ConnectorError(f"sql connector {self.redacted_url}: no such SQLite database file")

    def _exact_window(self, dialect: str, types: dict[str, TypeEngine[Any]],
                      window: Window) -> list[ColumnElement[bool]]:
        """The conditions that cut exactly ``window`` in SQL (none without a timestamp column)."""
        ts = self.timestamp_column
        if ts is None:
            return []
        if ts not in types:
            raise DataError(f"sql connector {self.redacted_url}: table {self._qualified()!r} "
                            f"has no timestamp column {ts!r}")
        if dialect == "sqlite" or not isinstance(types[ts], (sa.DateTime, sa.Date)):
            raise PushdownUnavailable(f"timestamp column {ts!r} is {types[ts]} on {dialect}: "
                                      "the window is cut after reading")
        return window_conditions(ts, types[ts], dialect, window, where=f"sql connector {self.redacted_url}")

    def version(self, window: Window | None) -> str:
        """SHA-256 over the redacted URL, table or query, schema, timestamp column and window.

        It changes when the configuration or window changes, not when rows change: reading a
        table's contents to fingerprint it would cost as much as fetching it. A reference should
        therefore be a table or window whose rows no longer change.
        """
        key = {
            "connector": self.name,
            "url": self.redacted_url,
            "table": self.table,
            "query": self.query,
            "db_schema": self.db_schema,
            "timestamp_column": self.timestamp_column,
            "window": [window.start.isoformat(), window.end.isoformat()] if window else None,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def _fetch_table(self, engine: Engine, conn: Connection, window: Window | None,
                     wanted: list[str] | None) -> pd.DataFrame:
        assert self.table is not None
        types = self._columns(conn, refresh=False)
        if wanted is None or any(c not in types for c in wanted):  # columns may have been added
            types = self._columns(conn, refresh=True)
        keep = present_columns(wanted, types)
        source = sa.table(self.table, schema=self.db_schema)
        conditions: list[ColumnElement[bool]] = []
        ts = self.timestamp_column
        if window is not None and ts is not None:
            if ts not in types:
                raise DataError(f"sql connector {self.redacted_url}: table {self._qualified()!r} "
                                f"has no timestamp column {ts!r}")
            conditions = window_conditions(ts, types[ts], engine.dialect.name, window,
                                           where=f"sql connector {self.redacted_url}")
        if not keep:  # nothing to select: keep the row count only
            rows = conn.execute(sa.select(sa.func.count()).select_from(source).where(*conditions)).scalar_one()
            return pd.DataFrame(index=pd.RangeIndex(int(rows)))
        selected: list[sa.ColumnClause[Any]] = [sa.column(c) for c in keep]
        return pd.read_sql(sa.select(*selected).select_from(source).where(*conditions), conn)

    def _fetch_query(self, conn: Connection, window: Window | None,
                     wanted: list[str] | None) -> pd.DataFrame:
        assert self.query is not None
        clause = sa.text(self.query)
        mentioned = set(clause.compile().params)
        sqlite = conn.dialect.name == "sqlite"
        params = query_params(mentioned, window, sqlite=sqlite)
        frame = pd.read_sql(clause, conn, params=params or None)
        keep = present_columns(wanted, frame.columns)
        return frame[keep] if keep else pd.DataFrame(index=pd.RangeIndex(len(frame)))

    def _columns(self, conn: Connection, *, refresh: bool) -> dict[str, TypeEngine[Any]]:
        assert self.table is not None
        return table_types(conn, self._url(), self.db_schema, self.table, refresh=refresh)

    def _forget_columns(self) -> None:
        if self.table is not None:
            forget_table(self._url(), self.db_schema, self.table)

    def _url(self) -> str:
        assert isinstance(self.url, Secret)
        return self.url.reveal()

    def _sqlite_path(self) -> str | None:
        """The file of a SQLite URL (None for other databases, ``:memory:`` and ``file:`` URIs)."""
        url = make_url(self._url())
        database = url.database
        if not url.drivername.startswith("sqlite") or not database or database == ":memory:" \
                or database.startswith("file:"):
            return None
        return database

    def _qualified(self) -> str:
        return f"{self.db_schema}.{self.table}" if self.db_schema else str(self.table)

    def _reason(self, exc: BaseException) -> str:
        """One line from the driver's message, with anything secret removed."""
        if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ is not None:
            exc = exc.__cause__  # pandas wraps the SQLAlchemy error and repeats the whole query
        orig = getattr(exc, "orig", None)
        text = str(orig if isinstance(orig, BaseException) else exc)
        if not isinstance(orig, BaseException):
            text = text.split("\n(Background on this error")[0]
        text = " ".join(text.split()) or type(exc).__name__
        raw = self._url()
        secrets = [raw, make_url(raw).password or ""]
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text if len(text) <= 400 else text[:397] + "..."


def _text_columns(types: Mapping[str, TypeEngine[Any]]) -> set[str]:
    """The columns the database holds as plain text (an enum compares only with its own type)."""
    return {name for name, kind in types.items() if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)}

