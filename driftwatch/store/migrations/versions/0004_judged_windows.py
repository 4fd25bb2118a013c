"""``judged_windows`` and ``late_runs``: alerts move in window order, one run at a time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A monitor's row in ``judged_windows`` holds the newest window whose run moved its alerts;
evaluation locks it, so replicas judge one monitor's runs one at a time, and a run of an older
window that commits later is stored but recorded in ``late_runs`` instead of moving alerts.
An existing store starts each monitor at its newest finished run, so a stale run taken over
just after the upgrade is judged late as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEED = """
INSERT INTO judged_windows (monitor, window_end, run_id)
SELECT r.monitor, r.window_end, MAX(r.id) FROM runs r
WHERE r.status IN ('succeeded', 'failed') AND r.window_end = (
    SELECT MAX(n.window_end) FROM runs n WHERE n.monitor = r.monitor AND n.status IN ('succeeded', 'failed'))
GROUP BY r.monitor, r.window_end
"""


def upgrade() -> None:
    op.create_table(
        "judged_windows",
        sa.Column("monitor", sa.String(length=255), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("monitor", name=op.f("pk_judged_windows")),
    )
    op.create_table(
        "late_runs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("judged_window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("judged_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_late_runs_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_late_runs")),
    )
    op.execute(_SEED)


def downgrade() -> None:
    op.drop_table("late_runs")
    op.drop_table("judged_windows")
