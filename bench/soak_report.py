"""The table: the store read back after the stop and held against the plan (``soak_data``), the
replay (``soak_replay``) and what the receiver accepted (``soak_receiver``); every window and
event lost, doubled or out of order counted, and ``Report.missed`` naming the targets not met.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from soak_data import Data, epoch_floor
from soak_receiver import Receiver
from soak_replay import Expected, judged_runs, out_of_order, replay
from soak_store import aware, late_run_ids, query

from driftwatch.config import load
from driftwatch.scheduler import start_offset


@dataclass
class Report:
    """Every count the table prints; ``missed`` names the targets that were not met."""

    windows_expected: int = 0
    succeeded: int = 0
    failed: int = 0
    failed_planned: int = 0
    failed_unplanned: int = 0
    duplicated: int = 0
    missing: int = 0
    left_running: int = 0
    outside: int = 0
    late: int = 0
    out_of_order: int = 0
    events_expected: int = 0
    delivered: int = 0
    duplicated_by_id: int = 0
    events_missing: int = 0
    extra: int = 0
    differs: int = 0
    states_differ: int = 0
    signature_failures: int = 0
    outbox_pending: int = 0
    outbox_dead: int = 0
    unexpected_exits: int = 0
    unclean_stops: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    event_types: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def missed(self) -> list[str]:
        zero = ("failed_unplanned", "duplicated", "missing", "left_running", "outside", "out_of_order",
                "events_missing", "extra", "differs", "states_differ", "signature_failures", "outbox_pending",
                "outbox_dead", "unexpected_exits", "unclean_stops")
        return [f"{name.replace('_', ' ')} = {getattr(self, name)}" for name in zero if getattr(self, name)]

    def table(self) -> str:
        def rows(header: Sequence[str], values: Sequence[object]) -> list[str]:
            widths = [max(len(h), len(str(v))) for h, v in zip(header, values)]
            return ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
                    "  ".join(str(v).rjust(w) for v, w in zip(values, widths))]

        lines = ["windows", *rows(
            ["expected", "succeeded", "failed (planned)", "duplicated", "missing", "left running", "late",
             "out of order"],
            [self.windows_expected, self.succeeded, f"{self.failed} ({self.failed_planned})", self.duplicated,
             self.missing, self.left_running, self.late, self.out_of_order])]
        lines += ["events", *rows(
            ["expected", "delivered", "duplicated by id", "missing", "extra", "content differs", "states differ"],
            [self.events_expected, self.delivered, self.duplicated_by_id, self.events_missing, self.extra,
             self.differs, self.states_differ])]
        lines += ["other", *rows(
            ["signature failures", "outbox pending", "outbox dead", "exits on their own", "unclean stops"],
            [self.signature_failures, self.outbox_pending, self.outbox_dead, self.unexpected_exits,
             self.unclean_stops])]
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.event_types.items()))
        kills = ", ".join(f"{n} {k}" for k, n in sorted(self.kills.items()))
        lines.append(f"events by type: {kinds or 'none'}; kills: {sum(self.kills.values())} ({kills or 'none'})")
        lines.append("counted, not targets: late (stored without moving alerts, by design), duplicated by id "
                     "(at-least-once), failed as planned")
        lines += self.notes
        missed = self.missed()
        lines.append("targets: all met" if not missed else f"targets MISSED: {'; '.join(missed)}")
        return "\n".join(lines)


def collect(engine: sa.Engine, config: Path, data: Data, receiver: Receiver, t_stop: datetime,
            first_due: dict[str, datetime]) -> Report:
    """Read the store back after the stop and count everything the table shows."""
    settings = load(config)
    spread = settings.daemon.spread
    assert isinstance(spread, timedelta)
    period = timedelta(seconds=data.window)
    report = Report()
    late = late_run_ids(engine)
    report.late = len(late)
    expected: list[Expected] = []
    for monitor in settings.monitors:
        offset = start_offset(monitor.name, period, spread)
        by_window: dict[datetime, list[str]] = {}
        for row in query(engine, "SELECT window_start, status FROM runs WHERE monitor = :m", m=monitor.name):
            by_window.setdefault(aware(row.window_start), []).append(row.status)
        first = min(by_window, default=first_due[monitor.name])
        last = epoch_floor(t_stop - offset, period) - period  # the start of the last window due
        windows = [first + k * period for k in range(int((last - first) / period) + 1)]
        report.windows_expected += len(windows)
        report.outside += sum(1 for w in by_window if w > last)
        for w in windows:
            statuses = Counter(by_window.get(w, []))
            planned = data.plan.get((monitor.name, w)) == "broken"
            report.succeeded += statuses["succeeded"] > 0
            report.duplicated += statuses["succeeded"] > 1
            report.failed += statuses["failed"] > 0 and statuses["succeeded"] == 0
            report.failed_planned += planned
            finished = statuses["succeeded"] + statuses["failed"]
            report.failed_unplanned += (statuses["failed"] > 0 and not planned) or (statuses["succeeded"] > 0
                                                                                    and planned)
            report.missing += finished == 0 and statuses["running"] == 0
            report.left_running += finished == 0 and statuses["running"] > 0
        judged = judged_runs(engine, monitor.name, late)
        report.out_of_order += len(out_of_order(judged))
        events, states = replay(monitor, judged)
        expected += events
        stored = {row.fingerprint: row.state for row in
                  query(engine, "SELECT fingerprint, state FROM alert_states WHERE monitor = :m", m=monitor.name)}
        differ = sorted(fp for fp in set(stored) | set(states) if stored.get(fp, "ok") != states.get(fp, "ok"))
        report.states_differ += len(differ)
        report.notes += [f"alert state differs: {monitor.name} {fp} stored {stored.get(fp, 'ok')}, "
                         f"replay {states.get(fp, 'ok')}" for fp in differ[:3]]
    by_id = {e.id: e for e in expected}
    report.events_expected = len(by_id)
    report.event_types = Counter(e.type for e in by_id.values())
    received = Counter(d.id for d in receiver.deliveries)
    bodies: dict[str, list[dict[str, Any]]] = {}
    for d in receiver.deliveries:
        bodies.setdefault(d.id, []).append(d.body)
    report.delivered = len(received)
    report.duplicated_by_id = sum(received.values()) - len(received)
    report.events_missing = len(set(by_id) - set(received))
    report.extra = len(set(received) - set(by_id))
    for msg_id in sorted(set(by_id) & set(received)):
        wrong = [body for body in bodies[msg_id] if not same_event(by_id[msg_id], body)]
        report.differs += bool(wrong)
        report.notes += [f"content differs: {describe(wrong[0])}, expected run {by_id[msg_id].run_id} "
                         f"{sorted(by_id[msg_id].labels)}"] if wrong else []
    for msg_id in sorted(set(by_id) - set(received))[:5]:
        e = by_id[msg_id]
        report.notes.append(f"missing: {e.type} {e.monitor} window {e.window_start:%H:%M:%S} run {e.run_id}")
    report.notes += [f"extra: {describe(bodies[msg_id][0])}" for msg_id in sorted(set(received) - set(by_id))[:5]]
    report.signature_failures = len(receiver.signature_failures)
    report.notes += [f"signature failure: {s}" for s in receiver.signature_failures[:5]]
    outbox = Counter(r.state for r in query(engine, "SELECT state FROM outbox"))
    report.outbox_pending, report.outbox_dead = outbox["pending"], outbox["dead"]
    return report


def describe(body: dict[str, Any]) -> str:
    """``alert.firing soak-a window 12:00:30 run 7 [labels]``: a delivered event in one line."""
    data = body.get("data", {})
    start = str(data.get("window", {}).get("start", "?"))[11:19]
    labels = sorted((r["detector"], r["feature"], r["metric"]) for r in data.get("results", []))
    return f"{body.get('type')} {data.get('monitor')} window {start} run {data.get('run_id')} {labels}"


def same_event(expected: Expected, body: dict[str, Any]) -> bool:
    """Whether a delivered body says what the replay says: type, monitor, window, run, figures."""
    data = body.get("data", {})
    labels = {(r["detector"], r["feature"], r["metric"]) for r in data.get("results", [])}
    whole = labels == expected.labels if not data.get("truncated_results") else labels <= expected.labels
    return (body.get("type") == expected.type and data.get("monitor") == expected.monitor
            and data.get("run_id") == expected.run_id and whole
            and data.get("window", {}).get("start") == expected.window_start.isoformat().replace("+00:00", "Z"))
