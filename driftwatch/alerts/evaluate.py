"""Alert evaluation: inside a run's transaction, move each alert's state and queue what must be
said — one message per channel (R5), webhook events for subscribers (R13) — in the outbox.

Called by the store just before a run's results commit (``finish_run``/``fail_run`` take it as
``after``), so the results, the alert states and the outbox rows land together or not at all.

The rules, in order:

* Runs of one monitor are judged one at a time, in window order: a run whose window is older
  than the newest one judged already (a run taken over after its process died, finishing
  after later windows) is stored but moves no alert and queues nothing; it is recorded as
  late (``store.alerts.judge``), and its page says so.
* A failed run moves only the ``run_failed`` alert (R3); a succeeded one resolves it and moves
  every figure's alert by its status (``state.step``).
* While ``run_failed`` fires, a monitor's messages carry nothing else (inhibition, R4).
* Silenced alerts keep their state but are left out of messages and events (R7).
* Per channel: a message when something started firing or resolved, or when firing items are
  unchanged and ``repeat_interval`` has passed since the group's last send (R6).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..model import AlertKey, AlertState, Result, Window
from ..store import alerts as store_alerts
from ..store.outbox import enqueue
from ..webhooks import message_id
from .events import event_body
from .message import Item, Message
from .routing import channel_names, channels_for
from .state import Observation, Policy, observe, step

if TYPE_CHECKING:
    from ..config import MonitorSettings
    from ..config.alerts import AlertsSettings

__all__ = ["ENGINE_DETECTOR", "RUN_FAILED", "AlertContext", "Evaluation", "evaluate"]

#: The alert a failed run fires: detector ``engine``, metric ``run_failed``, no feature.
ENGINE_DETECTOR = "engine"
RUN_FAILED = "run_failed"
#: A failed run fires at once and resolves with the next good run, whatever the monitor's policy.
_RUN_FAILED_POLICY = Policy(for_runs=1, keep_firing_runs=1)


@dataclass(frozen=True)
class AlertContext:
    """What evaluation needs beyond the monitor: ``[alerts]`` and the webhook subscriptions."""

    settings: AlertsSettings
    webhooks: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    """What one evaluation did, for the log line and the tests."""

    changes: dict[str, str] = field(default_factory=dict)  # fingerprint -> new | resolved
    messages: list[str] = field(default_factory=list)      # channels a message was queued for
    events: list[str] = field(default_factory=list)        # "subscription:event.type"
    late: store_alerts.Late | None = None                  # set: judged late, nothing moved


def why_it_moved(details: Mapping[str, Any]) -> str:
    """One line on what lies behind a figure, from its details: which segments a performance
    drop came from (``segments``) and where its errors grew (``causes``), the top two of each,
    or which columns a multivariate drift moved most.

    >>> why_it_moved({"causes": [{"feature": "k", "bin": "c", "share_of_drop": 0.62}]})
    'errors grew most in: k c (62 % of the drop)'
    >>> why_it_moved({"segments": [{"segment": "country=BR", "share_of_drop": 0.8}]})
    'fell most in: country=BR (80 % of the drop)'
    >>> why_it_moved({"moved": [{"column": "a"}, {"column": "b"}]}), why_it_moved({})
    ('moved most: a, b', '')
    """
    causes = [c for c in details.get("causes") or [] if isinstance(c, Mapping)
              and isinstance(c.get("share_of_drop"), (int, float))]
    segments = [s for s in details.get("segments") or [] if isinstance(s, Mapping)
                and isinstance(s.get("share_of_drop"), (int, float))]
    parts = []
    if segments:
        parts.append("fell most in: " + "; ".join(
            f"{s.get('segment')} ({100 * s['share_of_drop']:.0f} % of the drop)" for s in segments[:2]))
    if causes:
        parts.append("errors grew most in: " + "; ".join(
            f"{c.get('feature')} {c.get('bin')} ({100 * c['share_of_drop']:.0f} % of the drop)"
            for c in causes[:2]))
    if parts:
        return " · ".join(parts)
    moved = [m.get("column") for m in details.get("moved") or [] if isinstance(m, Mapping)]
    return f"moved most: {', '.join(str(c) for c in moved[:3])}" if moved else ""


def _item(state: AlertState, change: str, summary: str = "") -> Item:
    k = state.key
    severity = state.severity if state.severity in ("warn", "alert", "error") else "alert"
    return Item(detector=k.detector, feature=k.feature, metric=k.metric, severity=severity,  # type: ignore[arg-type]
                change=change, value=state.value, threshold=state.threshold, p_value=state.p_value,  # type: ignore[arg-type]
                fingerprint=k.fingerprint, starts_at=state.active_since,
                ends_at=state.resolved_at if change == "resolved" else None, summary=summary, segment=k.segment)


def evaluate(conn: Connection, *, context: AlertContext, monitor: MonitorSettings, run_id: int, window: Window,
             results: Sequence[Result], error: str | None, now: datetime) -> Evaluation:
    """Move ``monitor``'s alerts by this run and queue its notifications; see the module docstring.
    ``error`` set means the run failed."""
    late = store_alerts.judge(conn, monitor.name, run_id, window.end)
    if late is not None:
        return Evaluation(late=late)
    policy = monitor.alerts
    stored = store_alerts.load_states(conn, monitor.name)
    done = Evaluation()
    changed: dict[str, tuple[AlertState, str | None]] = {}
    breached: set[str] = set()  # fingerprints that breached in this very run

    def move(key: AlertKey, obs: Observation, rule: Policy) -> None:
        before = stored.get(key.fingerprint) or AlertState(key)
        after, change = step(before, obs, rule, run_id=run_id, window_end=window.end, now=now)
        changed[key.fingerprint] = (after, change)
        if obs.kind == "breach":
            breached.add(key.fingerprint)
        if after.state != "ok" or before.state != "ok":
            stored[key.fingerprint] = after

    why = {AlertKey(monitor.name, r.detector, r.feature, r.metric, r.segment).fingerprint: reason
           for r in results if (reason := why_it_moved(r.details))}
    failed_key = AlertKey(monitor.name, ENGINE_DETECTOR, "", RUN_FAILED)
    if error is not None:
        move(failed_key, Observation("breach", "error"), _RUN_FAILED_POLICY)
    else:
        move(failed_key, Observation("clean"), _RUN_FAILED_POLICY)
        rule = policy.state_policy
        for r in results:
            move(AlertKey(monitor.name, r.detector, r.feature, r.metric, r.segment),
                 observe(r.status, r.value, r.threshold, r.p_value, rule), rule)
    store_alerts.save_states(conn, [state for fp, (state, _) in changed.items() if fp in stored], now)
    done.changes = {fp: change for fp, (_, change) in changed.items() if change in ("new", "resolved")}

    silences = [s for s in store_alerts.list_silences(conn, monitor=monitor.name, now=now, include_expired=False)
                if s.state(now) == "active"]
    inhibited = stored.get(failed_key.fingerprint, AlertState(failed_key)).state == "firing"
    silenced = {fp for fp, state in {**stored, **{f: st for f, (st, _) in changed.items()}}.items()
                if any(s.matches(state.key) for s in silences)}
    items: list[Item] = []
    for fingerprint, state in stored.items():
        change = done.changes.get(fingerprint) or ("still" if state.state == "firing" else None)
        if change is None or fingerprint in silenced:
            continue
        if inhibited and fingerprint != failed_key.fingerprint:
            continue
        summary = (error or "") if fingerprint == failed_key.fingerprint else why.get(fingerprint, "")
        items.append(_item(state, change, summary))
    report_url = context.settings.report_url(run_id)
    firing_now = {fp for fp, state in stored.items() if state.state == "firing"}
    _queue_messages(conn, context, monitor, run_id, window, items, firing_now, report_url, now, done)
    retrain = _retrain_items(monitor, changed, breached - silenced) if error is None else []
    _queue_events(conn, context, monitor, run_id, window, items, retrain, report_url, error, now, done)
    return done


def _retrain_items(monitor: MonitorSettings, changed: Mapping[str, tuple[AlertState, Any]],
                   breached: set[str]) -> list[Item]:
    """The figures that meet ``[monitors.retrain]`` in this run: they breached now, and this is
    their ``for_runs``-th breach in a row (so once per episode, whatever the alert's own
    ``for_runs``, and never on a run that did not breach)."""
    policy = monitor.retrain
    if policy is None:
        return []
    return [_item(state, "new") for fingerprint, (state, _) in changed.items()
            if fingerprint in breached and state.breaching_runs == policy.for_runs
            and policy.matches(state.key.detector, state.key.metric)]


def _reason(new: list[Item], still: list[Item], resolved: list[Item], repeat_due: bool) -> str | None:
    """Why the group gets a message now (R6), or None: nothing to say."""
    if new:
        return "new alerts added" if still else "first notification"
    if resolved:
        return "some alerts resolved" if still else "all alerts resolved"
    if still and repeat_due:
        return "repeat interval elapsed"
    return None


def _queue_messages(conn: Connection, context: AlertContext, monitor: MonitorSettings, run_id: int, window: Window,
                    items: list[Item], firing_now: set[str], report_url: str | None, now: datetime,
                    done: Evaluation) -> None:
    policy = monitor.alerts
    deadline = context.settings.delivery_deadline
    assert not isinstance(deadline, str) and not isinstance(policy.repeat_interval, str)
    for channel in channel_names(policy.routes):
        group = store_alerts.notify_group(conn, monitor.name, channel)
        mine = [i for i in items if channel in channels_for(policy.routes, i.severity)]
        # News to this channel is what fires and was not in its last message (it just started, or
        # fired under a silence that ended, or the route is new); what it was told about goes on.
        firing = [i for i in mine if i.change != "resolved"]
        new = [replace(i, change="new") for i in firing if i.fingerprint not in group.announced]
        still = [replace(i, change="still") for i in firing if i.fingerprint in group.announced]
        resolved = [i for i in mine if i.change == "resolved" and i.fingerprint in group.announced
                    and policy.send_resolved]
        last = max((t for t in (group.last_queued_at, group.last_sent_at) if t is not None), default=None)
        reason = _reason(new, still, resolved, last is not None and now - last >= policy.repeat_interval)
        if reason is None:
            continue
        key = message_id(monitor.name, window.start, "message", extra=f"{channel}/{run_id}")
        message = Message(monitor=monitor.name, run_id=run_id, window=window,
                          status="firing" if new or still else "resolved", reason=reason,
                          items=tuple(new + still + resolved), report_url=report_url, key=key, created_at=now)
        if enqueue(conn, kind="message", target=channel, monitor=monitor.name, run_id=run_id, event_type=None,
                   key=key, payload=json.dumps(message.to_json()), now=now, deadline=deadline):
            # Still firing but left out now (silenced, or inhibited by run_failed) stays announced:
            # when it shows again it is not news.
            kept = group.announced & firing_now
            store_alerts.mark_queued(conn, monitor.name, channel, now, kept | {i.fingerprint for i in new + still})
            done.messages.append(channel)


def _queue_events(conn: Connection, context: AlertContext, monitor: MonitorSettings, run_id: int, window: Window,
                  items: list[Item], retrain: list[Item], report_url: str | None, error: str | None, now: datetime,
                  done: Evaluation) -> None:
    """Webhook events for the subscriptions; ``items`` are already free of silenced and
    inhibited alerts, which send no events either."""
    if not context.webhooks:
        return
    firing = [i for i in items if i.change == "new" and i.detector != ENGINE_DETECTOR]
    resolved = [i for i in items if i.change == "resolved" and i.detector != ENGINE_DETECTOR]
    events: dict[str, tuple[list[Item], str]] = {}
    if error is not None and any(i.detector == ENGINE_DETECTOR for i in items):
        failed = next(i for i in items if i.detector == ENGINE_DETECTOR)
        events["run.failed"] = ([failed], error)
    if firing:
        events["alert.firing"] = (firing, "alerts started firing")
    if resolved:
        events["alert.resolved"] = (resolved, "alerts resolved")
    if retrain:
        met = ", ".join(sorted({i.label() for i in retrain}))
        events["retrain.requested"] = (retrain, f"retrain policy met: {met}")
    deadline = context.settings.delivery_deadline
    assert not isinstance(deadline, str)
    for name, subscription in context.webhooks.items():
        for event_type, (chosen, reason) in events.items():
            if not subscription.wants(event_type, monitor.name):
                continue
            msg_id = message_id(monitor.name, window.start, event_type)
            ordered = sorted(chosen, key=lambda i: (-i.badness, i.label()))
            body = event_body(event_type, msg_id, timestamp=now, monitor=monitor.name, window=window, run_id=run_id,
                              results=[_as_result(i) for i in ordered], report_url=report_url, reason=reason)
            if enqueue(conn, kind="event", target=name, monitor=monitor.name, run_id=run_id, event_type=event_type,
                       key=msg_id, payload=body.decode("utf-8"), now=now, deadline=deadline):
                done.events.append(f"{name}:{event_type}")


def _as_result(item: Item) -> dict[str, Any]:
    return {"detector": item.detector, "feature": item.feature, "metric": item.metric, "value": item.value,
            "threshold": item.threshold, "p_value": item.p_value,
            "status": "ok" if item.change == "resolved" else item.severity, "segment": item.segment}

