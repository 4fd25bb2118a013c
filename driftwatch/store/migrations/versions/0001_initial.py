"""Initial schema: ``runs``, ``results`` (R33 indexes), ``reference_profiles``.

Revision ID: 0001
Revises:
Create Date: 2026-11-20

The baseline, written to equal what ``tables.metadata`` declared when migrations began (names
from its naming convention, spelled out with ``op.f``). A database created earlier by
``metadata.create_all`` holds some or all of it but has no ``alembic_version``: tables and
indexes that exist are adopted as they are and only the missing ones are created, so such a
database is *upgraded* in place (``migrate.check()`` reports any other difference).

The status lists are copied, not imported: a migration must keep meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_STATUSES = ("running", "succeeded", "failed", "skipped")
RESULT_STATUSES = ("ok", "warn", "alert", "insufficient_data", "error")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_runs() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("monitor", sa.String(length=255), nullable=False),
        _timestamp("window_start"),
        _timestamp("window_end"),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at", nullable=True),
        _timestamp("lease_expires_at", nullable=True),
        sa.Column("rows_reference", sa.BigInteger(), nullable=True),
        sa.Column("rows_current", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("monitor", "window_start", "window_end", "attempt",
                            name=op.f("uq_runs_monitor_window_start_window_end_attempt")),
        sa.CheckConstraint(_one_of("status", RUN_STATUSES), name=op.f("ck_runs_status")),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_runs_attempt")),
        sqlite_autoincrement=True,
    )


def _create_results() -> None:
    op.create_table(
        "results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=255), nullable=False),
        _timestamp("window_start"),
        _timestamp("window_end"),
        sa.Column("detector", sa.String(length=255), nullable=False),
        sa.Column("feature", sa.String(length=255), server_default="", nullable=False),
        sa.Column("metric", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results")),
        sa.CheckConstraint(_one_of("status", RESULT_STATUSES), name=op.f("ck_results_status")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_results_run_id_runs"), ondelete="CASCADE"),
        sqlite_autoincrement=True,
    )


def _create_reference_profiles() -> None:
    op.create_table(
        "reference_profiles",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("monitor", sa.String(length=255), nullable=False),
        _timestamp("created_at"),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reference_profiles")),
    )


# (table, how to create it, its indexes) in creation order: results refers to runs.
SCHEMA: tuple[tuple[str, Callable[[], None], tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    ("runs", _create_runs, (("ix_runs_monitor_window_end", ("monitor", "window_end")),)),
    ("results", _create_results, (
        ("ix_results_monitor_metric_window_end", ("monitor", "metric", "window_end")),
        ("ix_results_monitor_feature_metric_window_end", ("monitor", "feature", "metric", "window_end")),
        ("ix_results_run_id", ("run_id",)),
    )),
    ("reference_profiles", _create_reference_profiles, ()),
)


def upgrade() -> None:
    offline = op.get_context().as_sql
    inspector = None if offline else sa.inspect(op.get_bind())
    existing = set() if inspector is None else set(inspector.get_table_names())
    for table, create, indexes in SCHEMA:
        present: set[str | None] = set()
        if table in existing and inspector is not None:
            present = {index["name"] for index in inspector.get_indexes(table)}
        else:
            create()
        for name, columns in indexes:
            if name not in present:
                op.create_index(op.f(name), table, list(columns), unique=False)


def downgrade() -> None:
    for table, _, _ in reversed(SCHEMA):
        op.drop_table(table)
