"""The web login sessions that are open: ``web_sessions``, one row per session.

Why in the store: the daemon may run as several replicas behind one address, and a logout
answered by one of them must end the session on all of them. The store is the one thing every
replica shares, so a session is valid only while its row is here (and its signed cookie has not
expired); ``/logout`` deletes the row. A row holds the SHA-256 of the session id, not the id, so
the table's content opens nothing. Expired rows are deleted whenever a session starts, so the
table holds at most the logins of one ``web.session_ttl``.

>>> from datetime import datetime, timedelta, timezone
>>> from driftwatch.store import Store
>>> now = datetime(2026, 11, 1, tzinfo=timezone.utc)
>>> with Store("sqlite://") as store:
...     store.create_all()
...     start(store.engine, "ab" * 32, now=now, expires_at=now + timedelta(hours=12))
...     alive(store.engine, "ab" * 32, now=now), alive(store.engine, "ab" * 32, now=now + timedelta(hours=12))
...     end(store.engine, "ab" * 32), alive(store.engine, "ab" * 32, now=now)
(True, False)
(True, False)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Engine, Index, String, Table, delete, insert, select

from .runs import check_moment
from .tables import UTCDateTime, metadata

__all__ = ["alive", "end", "start", "web_sessions"]

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # hex SHA-256 of the session id in the cookie
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_web_sessions_expires_at", "expires_at"),
)


def start(engine: Engine, key: str, *, now: datetime, expires_at: datetime) -> None:
    """Record a session opened at ``now`` until ``expires_at``, and forget the expired ones."""
    check_moment("now", now)
    check_moment("expires_at", expires_at)
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        conn.execute(insert(web_sessions).values(id=key, created_at=now, expires_at=expires_at))


def alive(engine: Engine, key: str, *, now: datetime) -> bool:
    """Whether the session is open at ``now``: recorded, not ended, not expired."""
    check_moment("now", now)
    with engine.connect() as conn:
        found = conn.execute(select(web_sessions.c.id).where(web_sessions.c.id == key,
                                                            web_sessions.c.expires_at > now)).first()
    return found is not None


def end(engine: Engine, key: str) -> bool:
    """End the session on every replica; ``False`` if it was not open."""
    with engine.begin() as conn:
        return conn.execute(delete(web_sessions).where(web_sessions.c.id == key)).rowcount > 0
