"""Alerting: ``alert_states``, ``notify_groups``, ``silences``, ``outbox``, ``outbox_attempts``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The state lists are copied, not imported: a migration must keep meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERT_STATES = ("ok", "pending", "firing", "resolved")
OUTBOX_STATES = ("pending", "delivered", "dead")
OUTBOX_KINDS = ("message", "event")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _name(length: int = 255, *, nullable: bool = False, column: str) -> sa.Column[str]:
    return sa.Column(column, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_states",
        _name(16, column="fingerprint"),
        _name(column="monitor"),
        _name(column="detector"),
        sa.Column("feature", sa.String(length=255), server_default="", nullable=False),
        _name(column="metric"),
        _name(16, column="state"),
        _name(16, column="severity", nullable=True),
        sa.Column("breaching_runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clean_runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        _timestamp("active_since", nullable=True),
        _timestamp("resolved_at", nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        _timestamp("last_window_end", nullable=True),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_alert_states")),
        sa.CheckConstraint(_one_of("state", ALERT_STATES), name=op.f("ck_alert_states_state")),
    )
    op.create_index(op.f("ix_alert_states_monitor_state"), "alert_states", ["monitor", "state"], unique=False)
    op.create_table(
        "notify_groups",
        _name(column="monitor"),
        _name(column="channel"),
        _timestamp("last_queued_at", nullable=True),
        _timestamp("last_sent_at", nullable=True),
        sa.PrimaryKeyConstraint("monitor", "channel", name=op.f("pk_notify_groups")),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _name(column="monitor"),
        _name(column="detector", nullable=True),
        _name(column="feature", nullable=True),
        _name(column="metric", nullable=True),
        _timestamp("starts_at"),
        _timestamp("ends_at"),
        _name(column="created_by"),
        sa.Column("comment", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_silences_monitor_ends_at"), "silences", ["monitor", "ends_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        _name(16, column="kind"),
        _name(column="target"),
        _name(column="monitor"),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _name(64, column="event_type", nullable=True),
        _name(64, column="key"),
        sa.Column("payload", sa.Text(), nullable=False),
        _name(16, column="state"),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _timestamp("created_at"),
        _timestamp("next_attempt_at"),
        _timestamp("deadline_at"),
        _name(column="lease_owner", nullable=True),
        _timestamp("lease_expires_at", nullable=True),
        _timestamp("delivered_at", nullable=True),
        _name(64, column="last_status", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("target", "key", name=op.f("uq_outbox_target_key")),
        sa.CheckConstraint(_one_of("state", OUTBOX_STATES), name=op.f("ck_outbox_state")),
        sa.CheckConstraint(_one_of("kind", OUTBOX_KINDS), name=op.f("ck_outbox_kind")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outbox_state_next_attempt_at"), "outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "outbox_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("outbox_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _timestamp("at"),
        _name(16, column="outcome"),
        _name(64, column="status", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attempts")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_attempts_outbox_id_outbox"),
                                ondelete="CASCADE"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outbox_attempts_outbox_id"), "outbox_attempts", ["outbox_id"], unique=False)


def downgrade() -> None:
    for table in ("outbox_attempts", "outbox", "silences", "notify_groups", "alert_states"):
        op.drop_table(table)
