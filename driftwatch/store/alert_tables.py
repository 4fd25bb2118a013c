"""The tables of alerting: ``alert_states``, ``notify_groups``, ``silences``, ``outbox``,
``outbox_attempts``, ``judged_windows`` and ``late_runs``, on the same ``MetaData`` as runs and
results.

Everything alerting must remember across a restart lives here (R8): each alert's state and
counters, when each (monitor, channel) group was last queued and last delivered (the repeat
interval counts from there, R6), the silences, and every message before and after it is sent.
An outbox row is written in the same transaction as its run's results, so a run that committed
has its notifications queued and one that did not has none.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .tables import UTCDateTime, metadata, one_of

#: ``ok → pending → firing → resolved → ok`` (R2).
ALERT_STATES: tuple[str, ...] = ("ok", "pending", "firing", "resolved")
#: An outbox row waits (``pending``, also between retries), then ends ``delivered`` or ``dead``.
OUTBOX_STATES: tuple[str, ...] = ("pending", "delivered", "dead")
#: A ``message`` goes to a channel; an ``event`` is a signed webhook body for a subscription.
OUTBOX_KINDS: tuple[str, ...] = ("message", "event")

_BigId = BigInteger().with_variant(Integer(), "sqlite")

alert_states = Table(
    "alert_states",
    metadata,
    Column("fingerprint", String(16), primary_key=True),  # R1: sha256 of (monitor, detector, feature, metric)
    Column("monitor", String(255), nullable=False),
    Column("detector", String(255), nullable=False),
    Column("feature", String(255), nullable=False, default="", server_default=""),
    Column("metric", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=True),
    Column("breaching_runs", Integer, nullable=False, default=0, server_default="0"),
    Column("clean_runs", Integer, nullable=False, default=0, server_default="0"),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=True),
    Column("p_value", Float, nullable=True),
    Column("active_since", UTCDateTime(), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("last_run_id", Integer, nullable=True),
    Column("last_window_end", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("segment", String(255), nullable=False, default="", server_default=""),  # "" or "column=value"
    CheckConstraint(one_of("state", ALERT_STATES), name="state"),
    Index("ix_alert_states_monitor_state", "monitor", "state"),
)

notify_groups = Table(
    "notify_groups",
    metadata,
    Column("monitor", String(255), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("last_queued_at", UTCDateTime(), nullable=True),
    Column("last_sent_at", UTCDateTime(), nullable=True),
    # Fingerprints the last queued message listed as firing: an alert not among them is news to
    # this channel (it fired under a silence, or the route is new), one among them is not.
    Column("announced", JSON(none_as_null=True), nullable=True),
    PrimaryKeyConstraint("monitor", "channel"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor", String(255), nullable=False),
    Column("detector", String(255), nullable=True),  # NULL: any
    Column("feature", String(255), nullable=True),
    Column("metric", String(255), nullable=True),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_silences_monitor_ends_at", "monitor", "ends_at"),
    sqlite_autoincrement=True,
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("target", String(255), nullable=False),  # the channel or webhook subscription name
    Column("monitor", String(255), nullable=False),
    Column("run_id", Integer, nullable=True),
    Column("event_type", String(64), nullable=True),
    Column("key", String(64), nullable=False),  # webhook-id: the same for every retry (R11)
    Column("payload", Text, nullable=False),  # the exact bytes sent (events) or the message JSON
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("deadline_at", UTCDateTime(), nullable=False),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("last_status", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("target", "key"),
    CheckConstraint(one_of("state", OUTBOX_STATES), name="state"),
    CheckConstraint(one_of("kind", OUTBOX_KINDS), name="kind"),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_monitor_state", "monitor", "state"),  # a monitor's page lists its dead rows
    sqlite_autoincrement=True,
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("outbox_id", _BigId, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | retry | dead | started (no result came)
    Column("status", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("request", Text, nullable=False),  # the first kilobyte of what was sent (R17)
    Index("ix_outbox_attempts_outbox_id", "outbox_id"),
    sqlite_autoincrement=True,
)

# The newest window whose run moved a monitor's alerts. Its row is what evaluation locks
# (``SELECT … FOR UPDATE`` on PostgreSQL), so replicas judge one monitor's runs one at a time.
judged_windows = Table(
    "judged_windows",
    metadata,
    Column("monitor", String(255), primary_key=True),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("run_id", Integer, nullable=False),
)

# A run that committed after a newer window of its monitor had been judged: its results are
# stored, but it moved no alert and sent nothing. Which newer window it lost to, for the page.
late_runs = Table(
    "late_runs",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("judged_window_end", UTCDateTime(), nullable=False),
    Column("judged_run_id", Integer, nullable=False),
)

__all__ = ["ALERT_STATES", "OUTBOX_KINDS", "OUTBOX_STATES", "alert_states", "judged_windows", "late_runs",
           "notify_groups", "outbox", "outbox_attempts", "silences"]
