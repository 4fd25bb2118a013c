"""Alert states, notification groups and silences: the queries alert evaluation runs inside a
run's transaction, and the ones the CLI and web page use for silences.

Only alerts that are or were alerting are stored: a figure that has always been ``ok`` has no
row, so a run with hundreds of healthy features writes nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..model import AlertKey, AlertState
from .alert_tables import alert_states, judged_windows, late_runs, notify_groups, silences
from .engine import rows_of
from .runs import check_moment, check_text

__all__ = ["Group", "Late", "Silence", "add_silence", "expire_silence", "firing_states", "judge", "late_run",
           "list_silences", "load_states", "mark_queued", "mark_sent", "notify_group", "save_states"]

_STATE_FIELDS = ("state", "severity", "breaching_runs", "clean_runs", "value", "threshold", "p_value",
                 "active_since", "resolved_at", "last_run_id", "last_window_end")


def _state(row: Any) -> AlertState:
    key = AlertKey(row.monitor, row.detector, row.feature, row.metric, row.segment)
    return AlertState(key, **{name: getattr(row, name) for name in _STATE_FIELDS})


@dataclass(frozen=True)
class Late:
    """A run that committed after a newer window of its monitor was judged (by ``run_id``)."""

    window_end: datetime
    run_id: int


def _dialect_insert(conn: Connection, table: Any) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"{table.name}: unsupported database {dialect}")  # pragma: no cover


def judge(conn: Connection, monitor: str, run_id: int, window_end: datetime) -> Late | None:
    """Take ``monitor``'s judging turn in the caller's transaction; ``None`` if run ``run_id``
    (of the window ending ``window_end``) may now move the monitor's alerts, else which newer
    window was judged already — the run is then recorded in ``late_runs``.

    The turn is the monitor's ``judged_windows`` row, locked until the transaction ends: on
    PostgreSQL by ``SELECT … FOR UPDATE`` (and the ``INSERT … ON CONFLICT`` before it already
    waits for a transaction that wrote the row), on SQLite by the write transaction the run's
    own ``UPDATE`` began. So two
    replicas never read the same alert states and both act on them, and alerts move in window
    order: a run that lost its lease, was taken over and finished after later windows had been
    judged would otherwise fire or resolve for a moment long gone.
    """
    t = judged_windows
    mine = {"window_end": window_end, "run_id": run_id}
    first = conn.execute(_dialect_insert(conn, t).values(monitor=monitor, **mine)
                         .on_conflict_do_nothing(index_elements=["monitor"]).returning(t.c.monitor)).first()
    if first is not None:
        return None
    row = conn.execute(select(t.c.window_end, t.c.run_id).where(t.c.monitor == monitor).with_for_update()).one()
    if window_end < row.window_end:
        late = Late(row.window_end, row.run_id)
        conn.execute(insert(late_runs).values(run_id=run_id, judged_window_end=late.window_end,
                                              judged_run_id=late.run_id))
        return late
    conn.execute(update(t).where(t.c.monitor == monitor).values(**mine))
    return None


def late_run(connectable: Engine | Connection, run_id: int) -> Late | None:
    """Whether run ``run_id`` was judged late (see ``judge``), and behind which window."""
    query = select(late_runs.c.judged_window_end, late_runs.c.judged_run_id).where(late_runs.c.run_id == run_id)
    row = next(iter(rows_of(connectable, query)), None)
    return None if row is None else Late(row.judged_window_end, row.judged_run_id)


def load_states(conn: Connection, monitor: str) -> dict[str, AlertState]:
    """Every stored alert of ``monitor``, by fingerprint."""
    rows = conn.execute(select(alert_states).where(alert_states.c.monitor == monitor))
    return {row.fingerprint: _state(row) for row in rows}


def firing_states(engine: Engine, monitor: str | None = None) -> list[AlertState]:
    """Alerts now ``firing`` (of one monitor or all), for the page and ``/metrics``."""
    query = select(alert_states).where(alert_states.c.state == "firing")
    if monitor is not None:
        query = query.where(alert_states.c.monitor == monitor)
    with engine.connect() as conn:
        return [_state(row) for row in conn.execute(query.order_by(alert_states.c.monitor,
                                                                   alert_states.c.fingerprint))]


def save_states(conn: Connection, states: Iterable[AlertState], now: datetime) -> None:
    """Insert or update each state's row (keyed by fingerprint) in the caller's transaction."""
    for state in states:
        values = {name: getattr(state, name) for name in _STATE_FIELDS}
        values["updated_at"] = now
        fingerprint = state.key.fingerprint
        changed = conn.execute(update(alert_states).where(alert_states.c.fingerprint == fingerprint)
                               .values(**values)).rowcount
        if not changed:
            k = state.key
            conn.execute(insert(alert_states).values(fingerprint=fingerprint, monitor=k.monitor, detector=k.detector,
                                                     feature=k.feature, metric=k.metric, segment=k.segment,
                                                     **values))


@dataclass(frozen=True)
class Group:
    """What a (monitor, channel) message group remembers: when its last message was queued and
    last delivered (the repeat interval counts from the later, R6), and which alerts that
    message listed as firing."""

    last_queued_at: datetime | None = None
    last_sent_at: datetime | None = None
    announced: frozenset[str] = frozenset()


def notify_group(conn: Connection, monitor: str, channel: str) -> Group:
    """The (monitor, channel) message group's memory (empty for a group never notified)."""
    t = notify_groups
    row = conn.execute(select(t.c.last_queued_at, t.c.last_sent_at, t.c.announced)
                       .where((t.c.monitor == monitor) & (t.c.channel == channel))).first()
    if row is None:
        return Group()
    return Group(row.last_queued_at, row.last_sent_at, frozenset(row.announced or ()))


def _touch(conn: Connection, monitor: str, channel: str, **values: Any) -> None:
    """Upsert the group's row: two dispatchers finishing the first sends of one group at once
    must both succeed (an UPDATE-then-INSERT would fail one of them on the primary key)."""
    statement = _dialect_insert(conn, notify_groups).values(monitor=monitor, channel=channel, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["monitor", "channel"], set_=values))


def mark_queued(conn: Connection, monitor: str, channel: str, at: datetime, announced: Iterable[str]) -> None:
    """A message for the group, listing ``announced`` as firing, was written to the outbox at ``at``."""
    _touch(conn, monitor, channel, last_queued_at=at, announced=sorted(announced))


def mark_sent(conn: Connection, monitor: str, channel: str, at: datetime) -> None:
    """A message of the group was delivered at ``at``: the repeat interval counts from here (R6)."""
    _touch(conn, monitor, channel, last_sent_at=at)


@dataclass(frozen=True)
class Silence:
    """A silence (R7): matchers (``monitor`` required, the others ``None`` = any), a time range,
    who made it and why. ``state`` is ``pending`` before ``starts_at``, ``active`` until
    ``ends_at``, then ``expired``."""

    id: int
    monitor: str
    detector: str | None
    feature: str | None
    metric: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(self, key: AlertKey) -> bool:
        """Whether this silence covers the alert ``key`` (ignoring time)."""
        return key.monitor == self.monitor and all(
            want is None or want == have for want, have in
            ((self.detector, key.detector), (self.feature, key.feature), (self.metric, key.metric)))

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, "matchers": {"monitor": self.monitor, "detector": self.detector,
                                            "feature": self.feature, "metric": self.metric},
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "created_by": self.created_by, "comment": self.comment, "created_at": self.created_at.isoformat(),
                "state": self.state(now)}


def _silence(row: Any) -> Silence:
    return Silence(**{name: getattr(row, name) for name in Silence.__dataclass_fields__})


def add_silence(engine: Engine, *, monitor: str, starts_at: datetime, ends_at: datetime, created_by: str,
                comment: str, now: datetime, detector: str | None = None, feature: str | None = None,
                metric: str | None = None) -> Silence:
    """Store a new silence and return it. ``ends_at`` must be after ``starts_at``."""
    check_text("monitor", monitor)
    check_text("created_by", created_by)
    check_moment("starts_at", starts_at)
    check_moment("ends_at", ends_at)
    if ends_at <= starts_at:
        raise ValueError(f"ends_at: must be after starts_at ({starts_at.isoformat()}), got {ends_at.isoformat()}")
    if not isinstance(comment, str):
        raise ValueError(f"comment: must be a string, got {comment!r}")
    with engine.begin() as conn:
        row = conn.execute(insert(silences).values(
            monitor=monitor, detector=detector, feature=feature, metric=metric, starts_at=starts_at,
            ends_at=ends_at, created_by=created_by, comment=comment, created_at=now).returning(*silences.c)).one()
    return _silence(row)


def list_silences(connectable: Engine | Connection, *, monitor: str | None = None, now: datetime | None = None,
                  include_expired: bool = True) -> list[Silence]:
    """Silences newest first; ``include_expired=False`` (with ``now``) keeps pending and active ones."""
    query = select(silences)
    if monitor is not None:
        query = query.where(silences.c.monitor == monitor)
    if not include_expired:
        if now is None:
            raise ValueError("now: required with include_expired=False")
        query = query.where(silences.c.ends_at > now)
    query = query.order_by(silences.c.id.desc())
    return [_silence(row) for row in rows_of(connectable, query)]


def expire_silence(engine: Engine, silence_id: int, now: datetime) -> Silence | None:
    """End silence ``silence_id`` now (kept for the record); ``None`` if there is no such silence."""
    with engine.begin() as conn:
        row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
        if row is None:
            return None
        if row.ends_at > now:  # a pending one ends before it starts: both become now
            conn.execute(update(silences).where(silences.c.id == silence_id)
                         .values(ends_at=now, starts_at=min(row.starts_at, now)))
        row = conn.execute(select(silences).where(silences.c.id == silence_id)).one()
    return _silence(row)
