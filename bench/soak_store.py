"""The soak's store: a PostgreSQL database made for one soak and dropped after it (or SQLite in
the work folder), and the raw-SQL reads the loop, the replay and the report make of it.

Raw SQL rather than ``driftwatch.store``: the bench checks what the daemons wrote, so it reads
the tables as they are; ``late_run_ids`` is the one place that knows how late runs are marked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from soak_settings import Soak
from sqlalchemy.engine import make_url

UTC = timezone.utc


@contextmanager
def soak_database(soak: Soak, folder: Path) -> Iterator[str]:
    """The store URL: a fresh PostgreSQL database ``soak_<random>`` dropped afterwards (kept with
    ``--keep``), or SQLite in ``folder``."""
    if soak.store == "sqlite":
        yield f"sqlite:///{folder / 'soak.db'}"
        return
    name = f"soak_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(soak.postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(soak.postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if soak.keep:
            print(f"kept database {name} (DROP DATABASE \"{name}\" when done)")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def late_run_ids(engine: sa.Engine) -> set[int]:
    """Runs the daemon stored without moving alert states because their window was older than one
    it had already judged (issue 12, defect 1). The one place that knows how they are marked:
    a ``late_runs`` table keyed by ``run_id``, or a boolean ``late`` column of ``runs``; before
    that fix there is no marker and every judged run counts."""
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        if inspector.has_table("late_runs"):
            return {int(row[0]) for row in conn.execute(sa.text("SELECT run_id FROM late_runs"))}
        if "late" in {c["name"] for c in inspector.get_columns("runs")}:
            return {int(row[0]) for row in conn.execute(sa.text("SELECT id FROM runs WHERE late"))}
    return set()


def aware(value: datetime | str) -> datetime:
    """A timestamp read with raw SQL (SQLite gives text or naive values) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def query(engine: sa.Engine, sql: str, **params: Any) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))
