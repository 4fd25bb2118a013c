"""``web_sessions``: the open login sessions of the web pages, shared by every replica.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

A login used to be one fixed HMAC of the token, valid forever and after ``/logout``. Now each
login is a row here (the SHA-256 of its random id, until when it lasts), ``/logout`` deletes it,
and every replica checks it, so a logout holds wherever the next request lands. An existing
store starts with no sessions: everyone logs in once after the upgrade (the old cookies could
not be told apart anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_expires_at"), "web_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")
    op.drop_table("web_sessions")
