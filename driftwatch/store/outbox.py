"""The outbox: every message and webhook waits here until it is delivered or declared dead.

Rows are written by alert evaluation in the run's own transaction (``enqueue``), so nothing is
queued for a run that did not commit and nothing committed is lost. The dispatcher ``claim``s
due rows under a lease — ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never
wait on each other's rows, and a conditional ``UPDATE`` per row on SQLite, which has no row
locks (R28) — then records each attempt with ``finish_attempt``. A process killed mid-send
leaves its lease to expire; the row is claimed again and resent with the same ``key``
(the ``webhook-id``), so a receiver that deduplicates sees it once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .alert_tables import OUTBOX_STATES, outbox, outbox_attempts
from .alerts import mark_sent

__all__ = ["Attempt", "OutboxRow", "attempts", "claim", "counts", "enqueue", "finish_attempt", "get", "list_outbox",
           "messages_by_run", "release", "retry", "start_attempt"]


@dataclass(frozen=True)
class OutboxRow:
    """One queued message or event. ``payload`` is the message JSON or the exact event body."""

    id: int
    kind: str
    target: str
    monitor: str
    run_id: int | None
    event_type: str | None
    key: str
    payload: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    deadline_at: datetime
    delivered_at: datetime | None
    last_status: str | None
    last_error: str | None


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, as logged (R17)."""

    attempt: int
    at: datetime
    outcome: str  # delivered | retry | dead, or started (the sender stopped before it finished)
    status: str | None
    error: str | None
    latency_ms: float
    request: str


def _row(row: Any) -> OutboxRow:
    return OutboxRow(**{name: getattr(row, name) for name in OutboxRow.__dataclass_fields__})


def enqueue(conn: Connection, *, kind: str, target: str, monitor: str, run_id: int | None, event_type: str | None,
            key: str, payload: str, now: datetime, deadline: timedelta) -> bool:
    """Queue one row in the caller's transaction; False if (target, key) is queued already (the same
    event of a rerun window keeps its ``webhook-id`` and is not sent twice)."""
    values = dict(kind=kind, target=target, monitor=monitor, run_id=run_id, event_type=event_type, key=key,
                  payload=payload, state="pending", attempts=0, created_at=now, next_attempt_at=now,
                  deadline_at=now + deadline)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(outbox).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(outbox).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the two dialects driftwatch supports
        raise NotImplementedError(f"outbox: unsupported database {dialect}")
    # RETURNING gives a row only when the insert happened (rowcount is -1 with RETURNING on psycopg).
    return conn.execute(statement.returning(outbox.c.id)).first() is not None


def _due(now: datetime) -> Any:
    return (outbox.c.state == "pending") & (outbox.c.next_attempt_at <= now) & or_(
        outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now)


def claim(engine: Engine, *, owner: str, now: datetime, lease: timedelta, limit: int = 50,
          skip_targets: Collection[str] = ()) -> list[OutboxRow]:
    """Take up to ``limit`` due rows for ``owner`` until ``now + lease``, oldest due first (R28),
    leaving out the targets in ``skip_targets`` (still busy with an earlier batch)."""
    lease_values = {"lease_owner": owner, "lease_expires_at": now + lease}
    due = _due(now)
    if skip_targets:
        due = due & outbox.c.target.not_in(list(skip_targets))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            ids = [row.id for row in conn.execute(
                select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit).with_for_update(skip_locked=True))]
            if ids:
                conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(**lease_values))
        else:
            candidates = [row.id for row in conn.execute(
                select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))]
            ids = [row_id for row_id in candidates
                   if conn.execute(update(outbox).where((outbox.c.id == row_id) & _due(now))
                                   .values(**lease_values)).rowcount]
        if not ids:
            return []
        rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids))
                            .order_by(outbox.c.next_attempt_at, outbox.c.id))
        return [_row(row) for row in rows]


def start_attempt(engine: Engine, row: OutboxRow, *, owner: str, at: datetime, lease: timedelta) -> bool:
    """Log attempt ``row.attempts + 1`` as ``started`` before anything is sent, and count it: a
    process killed mid-send leaves it in the log, so ``outbox list`` shows every attempt the
    receiver may have seen. The row's lease runs ``lease`` from now, so rows queued behind slow
    ones in a worker never expire while this one is being sent. False (nothing written) if
    ``owner`` lost the row."""
    number = row.attempts + 1
    with engine.begin() as conn:
        counted = conn.execute(update(outbox).where((outbox.c.id == row.id) & (outbox.c.lease_owner == owner)
                                                    & (outbox.c.state == "pending"))
                               .values(attempts=number, lease_expires_at=at + lease)).rowcount
        if not counted:
            return False
        conn.execute(outbox_attempts.insert().values(
            outbox_id=row.id, attempt=number, at=at, outcome="started", status=None,
            error="no result recorded: the sender stopped before it finished", latency_ms=0.0,
            request=row.payload[:1024]))
    return True


def finish_attempt(engine: Engine, row: OutboxRow, *, owner: str, attempt: Attempt,
                   next_attempt_at: datetime | None) -> bool:
    """Log ``attempt`` (filling in its ``started`` entry when there is one) and move the row:
    ``delivered``, ``dead``, or ``pending`` again at ``next_attempt_at``; the lease is released.
    False (nothing written) if ``owner`` lost the row. A delivered message also stamps its
    (monitor, channel) group's last successful send."""
    state = {"delivered": "delivered", "dead": "dead", "retry": "pending"}[attempt.outcome]
    values: dict[str, Any] = {"state": state, "attempts": attempt.attempt, "lease_owner": None,
                              "lease_expires_at": None, "last_status": attempt.status,
                              "last_error": attempt.error}
    if state == "delivered":
        values["delivered_at"] = attempt.at
    if state == "pending":
        values["next_attempt_at"] = next_attempt_at or attempt.at
    with engine.begin() as conn:
        moved = conn.execute(update(outbox).where((outbox.c.id == row.id) & (outbox.c.lease_owner == owner)
                                                  & (outbox.c.state == "pending")).values(**values)).rowcount
        if not moved:
            return False
        result = {"at": attempt.at, "outcome": attempt.outcome, "status": attempt.status, "error": attempt.error,
                  "latency_ms": attempt.latency_ms, "request": attempt.request[:1024]}
        started = (outbox_attempts.c.outbox_id == row.id) & (outbox_attempts.c.attempt == attempt.attempt) \
            & (outbox_attempts.c.outcome == "started")
        if not conn.execute(update(outbox_attempts).where(started).values(**result)).rowcount:
            conn.execute(outbox_attempts.insert().values(outbox_id=row.id, attempt=attempt.attempt, **result))
        if state == "delivered" and row.kind == "message":
            mark_sent(conn, row.monitor, row.target, attempt.at)
    return True


def get(engine: Engine, row_id: int) -> OutboxRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == row_id)).first()
    return _row(row) if row is not None else None


def list_outbox(engine: Engine, *, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
    """Rows newest first, optionally in one state."""
    if state is not None and state not in OUTBOX_STATES:
        raise ValueError(f"state: must be one of {', '.join(OUTBOX_STATES)}, got {state!r}")
    query = select(outbox)
    if state is not None:
        query = query.where(outbox.c.state == state)
    with engine.connect() as conn:
        return [_row(row) for row in conn.execute(query.order_by(outbox.c.id.desc()).limit(limit))]


def attempts(engine: Engine, row_id: int) -> list[Attempt]:
    """Every logged attempt of one row, oldest first."""
    t = outbox_attempts
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.outbox_id == row_id).order_by(t.c.attempt, t.c.id))
        return [Attempt(row.attempt, row.at, row.outcome, row.status, row.error, row.latency_ms, row.request)
                for row in rows]


def retry(engine: Engine, row_id: int, *, now: datetime, deadline: timedelta) -> OutboxRow | None:
    """Queue row ``row_id`` again now, with a fresh deadline and the same key (webhook-id)."""
    with engine.begin() as conn:
        changed = conn.execute(update(outbox).where(outbox.c.id == row_id).values(
            state="pending", next_attempt_at=now, deadline_at=now + deadline, lease_owner=None,
            lease_expires_at=None, delivered_at=None)).rowcount
    return get(engine, row_id) if changed else None


def counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Rows per (target, state), for ``/metrics`` and the page."""
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.target, outbox.c.state, func.count())
                            .group_by(outbox.c.target, outbox.c.state))
        return {(row[0], row[1]): int(row[2]) for row in rows}


def messages_by_run(engine: Engine, run_ids: Collection[int]) -> dict[int, int]:
    """How many channel messages (not webhook events) each of ``run_ids`` queued, whatever
    became of them; runs that queued none are absent."""
    if not run_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.run_id, func.count())
                            .where(outbox.c.kind == "message", outbox.c.run_id.in_(sorted(run_ids)))
                            .group_by(outbox.c.run_id))
        return {int(row[0]): int(row[1]) for row in rows}


def release(engine: Engine, row: OutboxRow, *, owner: str, next_attempt_at: datetime) -> bool:
    """Give a claimed row back untried, due again at ``next_attempt_at`` (its target asked us to
    wait: HTTP 429 on an earlier row). No attempt is counted."""
    with engine.begin() as conn:
        return bool(conn.execute(update(outbox).where((outbox.c.id == row.id) & (outbox.c.lease_owner == owner)
                                                      & (outbox.c.state == "pending"))
                                 .values(lease_owner=None, lease_expires_at=None,
                                         next_attempt_at=next_attempt_at)).rowcount)
