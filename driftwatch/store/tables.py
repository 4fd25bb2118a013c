"""The tables driftwatch stores: ``runs``, ``results`` and ``reference_profiles`` (alerting's
tables are in ``alert_tables``, on the same ``metadata``).

One ``MetaData`` with a naming convention, so every index and constraint has a stable name that
migrations (Alembic, ``render_as_batch=True`` for SQLite) can refer to. Timestamps use
``UTCDateTime``: stored as UTC, always read back timezone-aware UTC, on SQLite too.

>>> {'reference_profiles', 'results', 'runs'} <= set(metadata.tables)
True
>>> sorted(ix.name for ix in results.indexes)  # doctest: +NORMALIZE_WHITESPACE
['ix_results_monitor_feature_metric_window_end', 'ix_results_monitor_metric_window_end',
 'ix_results_run_id']
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from ..model import STATUSES

#: The Alembic-documented convention (unique constraints name all their columns).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: The states of a run. ``running`` until finished, failed, or skipped by the scheduler.
RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "skipped")

# A 64-bit id on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so the value is written as
    naive UTC text (fixed width, so it sorts and compares correctly) and tagged UTC on the way
    out. A naive datetime is refused: guessing its zone is how off-by-hours bugs are made.

    >>> from sqlalchemy.dialects import sqlite
    >>> UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())
    Traceback (most recent call last):
    ...
    ValueError: UTCDateTime: naive datetime 2026-01-01T00:00:00 has no time zone; pass an aware datetime
    >>> UTCDateTime().process_result_value(datetime(2026, 1, 1), sqlite.dialect())
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime: expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"UTCDateTime: naive datetime {value.isoformat()} has no time zone; pass an aware datetime")
        moment = value.astimezone(timezone.utc)
        if dialect.name == "postgresql":
            return moment
        return moment.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"UTCDateTime: driver returned {type(value).__name__}, not a datetime")
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor", String(255), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("attempt", Integer, nullable=False, default=1, server_default="1"),
    Column("status", String(16), nullable=False),
    Column("owner", String(255), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("rows_reference", BigInteger, nullable=True),
    Column("rows_current", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    # The claim: one row per attempt at a (monitor, window); replicas race on this constraint.
    UniqueConstraint("monitor", "window_start", "window_end", "attempt"),
    CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
    CheckConstraint("attempt >= 1", name="attempt"),
    Index("ix_runs_monitor_window_end", "monitor", "window_end"),
    sqlite_autoincrement=True,  # never reuse an id after retention deletes old runs
)

results = Table(
    "results",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("monitor", String(255), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("detector", String(255), nullable=False),
    Column("feature", String(255), nullable=False, default="", server_default=""),
    Column("metric", String(255), nullable=False),
    Column("value", Float, nullable=True),
    Column("p_value", Float, nullable=True),
    Column("threshold", Float, nullable=True),
    Column("status", String(32), nullable=False),
    # Plain JSON, not JSONB: keeps key order (histogram bins) and float spelling as written.
    Column("details", JSON(none_as_null=True), nullable=False),
    # "" for the whole window, "column=value" for a segment of it (driftwatch.segments).
    Column("segment", String(255), nullable=False, default="", server_default=""),
    CheckConstraint(one_of("status", STATUSES), name="status"),
    # R33: the time-series reads are by monitor + metric (+ feature) over window_end.
    Index("ix_results_monitor_metric_window_end", "monitor", "metric", "window_end"),
    Index("ix_results_monitor_feature_metric_window_end", "monitor", "feature", "metric", "window_end"),
    Index("ix_results_run_id", "run_id"),
    sqlite_autoincrement=True,
)

reference_profiles = Table(
    "reference_profiles",
    metadata,
    Column("key", String(128), primary_key=True),  # a hex digest of source version + schema + options
    Column("monitor", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
