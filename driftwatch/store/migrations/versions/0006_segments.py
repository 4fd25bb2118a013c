"""``results.segment`` and ``alert_states.segment``: figures of a segment of the window.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A monitor with ``segments`` runs its detectors on each segment of its window too
(``country=BR``); those results say which segment in the new column, ``""`` for the whole
window, which is every existing row. An alert on a segment's figure is its own alert, so
``alert_states`` keeps the segment beside detector, feature and metric. The indexes stay: the
reads filter by segment after monitor (+ feature) + metric + time.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("results", "alert_states"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("segment", sa.String(length=255), nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("alert_states", "results"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("segment")
