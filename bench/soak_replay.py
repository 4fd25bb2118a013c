"""What should have been delivered: each monitor's judged runs read back from the store and
replayed in window order through the daemon's own alert state machine (``driftwatch.alerts.state``),
naming the events ``driftwatch.alerts.evaluate`` queues for each step.

A module of its own because it is the soak's expectation, independent of how the soak was run:
``tests/test_soak.py`` checks it alone on a hand-made sequence of runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from soak_store import aware, query

from driftwatch.alerts.evaluate import ENGINE_DETECTOR, RUN_FAILED
from driftwatch.alerts.state import Observation, Policy, observe, step
from driftwatch.config import MonitorSettings
from driftwatch.model import AlertKey, AlertState
from driftwatch.webhooks import message_id

#: A failed run moves only this alert, with this policy (as ``alerts.evaluate`` does).
RUN_FAILED_POLICY = Policy(for_runs=1, keep_firing_runs=1)


@dataclass(frozen=True)
class Figure:
    detector: str
    feature: str
    metric: str
    status: str
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class Judged:
    """A finished run: its window, and its figures (``error`` set: it failed)."""

    run_id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    finished_at: datetime
    error: str | None
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Expected:
    """One webhook event the replay says must be delivered."""

    monitor: str
    window_start: datetime
    type: str
    run_id: int
    labels: frozenset[tuple[str, str, str]]

    @property
    def id(self) -> str:
        return message_id(self.monitor, self.window_start, self.type)


def replay(monitor: MonitorSettings, judged: Sequence[Judged]) -> tuple[list[Expected], dict[str, str]]:
    """The events of ``judged`` (one monitor's runs that moved alerts) taken in window order, and
    the alert states it ends with (fingerprint -> state).

    Each run steps every alert with ``driftwatch.alerts.state`` as ``alerts.evaluate`` does (a
    failed run only ``run_failed``; states that stay ``ok`` are not kept), then names the events
    evaluate queues for it: ``run.failed`` for a failed run; ``alert.firing`` when an alert other
    than ``run_failed`` started firing, ``alert.resolved`` when one resolved; ``retrain.requested``
    when a figure ``[monitors.retrain]`` watches breached for its ``for_runs``-th run in a row.
    The soak sets no silences, so only ``run_failed``'s inhibition applies.
    """
    policy = monitor.alerts.state_policy
    retrain = monitor.retrain
    failed_key = AlertKey(monitor.name, ENGINE_DETECTOR, "", RUN_FAILED)
    stored: dict[str, AlertState] = {}
    events: list[Expected] = []
    for run in sorted(judged, key=lambda r: (r.window_start, r.finished_at)):
        changed: dict[str, tuple[AlertState, str | None]] = {}
        breached: set[str] = set()
        moves = [(failed_key, Observation("breach", "error") if run.error is not None else Observation("clean"),
                  RUN_FAILED_POLICY)]
        if run.error is None:
            moves += [(AlertKey(monitor.name, f.detector, f.feature, f.metric),
                       observe(f.status, f.value, f.threshold, f.p_value, policy), policy) for f in run.figures]
        for key, obs, rule in moves:
            before = stored.get(key.fingerprint) or AlertState(key)
            after, change = step(before, obs, rule, run_id=run.run_id, window_end=run.window_end)
            changed[key.fingerprint] = (after, change)
            if obs.kind == "breach":
                breached.add(key.fingerprint)
            if after.state != "ok" or before.state != "ok":
                stored[key.fingerprint] = after
        news = {fp: change for fp, (_, change) in changed.items() if change in ("new", "resolved")}
        inhibited = stored.get(failed_key.fingerprint, AlertState(failed_key)).state == "firing"
        items: list[tuple[AlertKey, str]] = []
        for fp, state in stored.items():
            said = news.get(fp) or ("still" if state.state == "firing" else None)
            if said is not None and not (inhibited and fp != failed_key.fingerprint):
                items.append((state.key, said))

        found: dict[str, set[tuple[str, str, str]]] = {}
        if run.error is not None and any(k == failed_key for k, _ in items):
            found["run.failed"] = {label(failed_key)}
        found["alert.firing"] = {label(k) for k, c in items if c == "new" and k.detector != ENGINE_DETECTOR}
        found["alert.resolved"] = {label(k) for k, c in items if c == "resolved" and k.detector != ENGINE_DETECTOR}
        if retrain is not None and run.error is None:
            found["retrain.requested"] = {
                label(state.key) for fp, (state, _) in changed.items()
                if fp in breached and state.breaching_runs == retrain.for_runs
                and retrain.matches(state.key.detector, state.key.metric)}
        events += [Expected(monitor.name, run.window_start, kind, run.run_id, frozenset(labels))
                   for kind, labels in found.items() if labels]
    return events, {fp: state.state for fp, state in stored.items()}


def out_of_order(judged: Sequence[Judged], slack: timedelta = timedelta(seconds=1)) -> list[Judged]:
    """Runs that moved alerts although a newer window's run had finished more than ``slack``
    before them: alert history rewritten by a stale window. (``finished_at`` is stamped just
    before the commit, so two commits within ``slack`` may be stamped in either order.)"""
    return [r for r in judged if any(o.window_start > r.window_start and o.finished_at < r.finished_at - slack
                                     for o in judged)]


def label(key: AlertKey) -> tuple[str, str, str]:
    return key.detector, key.feature, key.metric


def judged_runs(engine: sa.Engine, monitor: str, exclude: set[int]) -> list[Judged]:
    """``monitor``'s succeeded and failed runs with their figures, leaving out ``exclude``."""
    runs = [r for r in query(engine, "SELECT id, window_start, window_end, status, finished_at, error FROM runs "
                                     "WHERE monitor = :m AND status IN ('succeeded', 'failed')", m=monitor)
            if int(r.id) not in exclude]
    figures: dict[int, list[Figure]] = {}
    for row in query(engine, "SELECT run_id, detector, feature, metric, status, value, threshold, p_value "
                             "FROM results WHERE monitor = :m ORDER BY id", m=monitor):
        figures.setdefault(int(row.run_id), []).append(Figure(row.detector, row.feature, row.metric, row.status,
                                                              row.value, row.threshold, row.p_value))
    return [Judged(int(r.id), monitor, aware(r.window_start), aware(r.window_end), aware(r.finished_at),
                   (r.error or "failed") if r.status == "failed" else None, tuple(figures.get(int(r.id), ())))
            for r in runs]
