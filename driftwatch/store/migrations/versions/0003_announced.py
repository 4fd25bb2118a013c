"""``notify_groups.announced`` and the outbox's ``(monitor, state)`` index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A (monitor, channel) group remembers which alerts its last message listed as firing, so an
alert unsilenced or newly routed is announced as new; a monitor's page lists its dead outbox
rows by index. Existing groups start with no memory (NULL), as a group never notified does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = "monitor, channel, last_queued_at, last_sent_at"


def _rebuild_notify_groups(*, announced: bool) -> None:
    """Copy the rows aside, create the table anew, copy them back.

    Not ``ADD COLUMN`` nor Alembic's batch mode: on SQLite both leave a stored ``CREATE TABLE``
    that reads differently from a fresh store's (the column after the primary key, or the name
    quoted by the rename). The table holds one row per (monitor, channel), so the copy is small.
    """
    op.execute(f"CREATE TABLE notify_groups_copy AS SELECT {KEPT} FROM notify_groups")
    op.drop_table("notify_groups")
    op.create_table(
        "notify_groups",
        sa.Column("monitor", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("last_queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        *([sa.Column("announced", sa.JSON(), nullable=True)] if announced else []),
        sa.PrimaryKeyConstraint("monitor", "channel", name=op.f("pk_notify_groups")),
    )
    op.execute(f"INSERT INTO notify_groups ({KEPT}) SELECT {KEPT} FROM notify_groups_copy")
    op.drop_table("notify_groups_copy")


def upgrade() -> None:
    _rebuild_notify_groups(announced=True)
    op.create_index(op.f("ix_outbox_monitor_state"), "outbox", ["monitor", "state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_monitor_state"), table_name="outbox")
    _rebuild_notify_groups(announced=False)
