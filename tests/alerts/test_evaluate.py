"""Alert evaluation inside a run's transaction (``driftwatch.alerts.evaluate``): states move, one
message per (run, channel) is queued with its reason, silences and inhibition leave things out,
state survives a restart, and webhook events (``alert.firing``, ``alert.resolved``, ``run.failed``,
``retrain.requested``) are queued with deterministic ids (R1–R8, R11, R13).

Two ways in, both real: ``run_monitor`` over CSV files and a TOML config (the path the daemon
takes), and a ``Harness`` that hands hand-made ``Result``s to ``finish_run``/``fail_run`` with
``evaluate`` as their ``after`` hook, for exact control of values, times and policies. Harness
tests run on a SQLite file and, when ``DRIFTWATCH_TEST_POSTGRES_URL`` is set, on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, func, select

from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.alerts.evaluate import AlertContext, Evaluation, evaluate
from driftwatch.alerts.events import WEBHOOK_EVENT_SCHEMA
from driftwatch.alerts.message import REASONS, Message
from driftwatch.config import load
from driftwatch.config.alerts import AlertPolicy, AlertsSettings, RetrainPolicy
from driftwatch.config.settings import MonitorSettings, ReferenceSettings
from driftwatch.engine import RunOutcome, run_monitor
from driftwatch.model import AlertKey, AlertState, Result, Window
from driftwatch.store import Store
from driftwatch.store import alerts as store_alerts
from driftwatch.store import outbox as ob
from driftwatch.store.alert_tables import alert_states, notify_groups
from driftwatch.store.alert_tables import outbox as outbox_table
from driftwatch.webhooks import message_id

UTC = timezone.utc
T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SINK_URL = "http://127.0.0.1:9/x"
RUN_FAILED_KEY = AlertKey("m", "engine", "", "run_failed")


def validate_event(event: Any) -> None:
    jsonschema.validate(event, WEBHOOK_EVENT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# -- reading the outbox ----------------------------------------------------------------------------


def rows(store: Store, *, kind: str | None = None, target: str | None = None) -> list[ob.OutboxRow]:
    """Outbox rows oldest first."""
    found = [r for r in reversed(ob.list_outbox(store.engine, limit=10_000))
             if (kind is None or r.kind == kind) and (target is None or r.target == target)]
    return found


def messages(store: Store, channel: str | None = None, run_id: int | None = None) -> list[Message]:
    return [Message.from_json(json.loads(r.payload)) for r in rows(store, kind="message", target=channel)
            if run_id is None or r.run_id == run_id]


def events(store: Store, target: str | None = None) -> list[tuple[ob.OutboxRow, dict[str, Any]]]:
    return [(r, json.loads(r.payload)) for r in rows(store, kind="event", target=target)]


def states(store: Store, monitor: str = "m") -> dict[tuple[str, str, str], AlertState]:
    with store.engine.connect() as conn:
        loaded = store_alerts.load_states(conn, monitor)
    return {(s.key.detector, s.key.feature, s.key.metric): s for s in loaded.values()}


def groups(store: Store) -> dict[tuple[str, str], tuple[datetime | None, datetime | None]]:
    """(monitor, channel) -> (last_queued_at, last_sent_at), read from the table."""
    t = notify_groups
    with store.engine.connect() as conn:
        return {(r.monitor, r.channel): (r.last_queued_at, r.last_sent_at)
                for r in conn.execute(select(t.c.monitor, t.c.channel, t.c.last_queued_at, t.c.last_sent_at))}


def labels(message: Message) -> list[tuple[str, str]]:
    return [(i.change, i.feature or i.metric) for i in message.ordered()]


# -- the harness: hand-made results through finish_run/fail_run(after=evaluate) ---------------------------


def fig(feature: str, status: str = "alert", value: float | None = 0.4, threshold: float | None = 0.2,
        p_value: float | None = None, detector: str = "drift", metric: str = "psi") -> dict[str, Any]:
    return {"feature": feature, "status": status, "value": value, "threshold": threshold, "p_value": p_value,
            "detector": detector, "metric": metric}


def monitor_settings(name: str = "m", retrain: RetrainPolicy | None = None, **policy: Any) -> MonitorSettings:
    policy.setdefault("channels", ["log"])
    return MonitorSettings(name=name, window=HOUR, schema=None, current=None,  # type: ignore[arg-type]
                           reference=ReferenceSettings(), detectors=(), alerts=AlertPolicy(**policy), retrain=retrain)


def subscription(**kw: Any) -> WebhookSubscription:
    return WebhookSubscription(SINK_URL, SECRET, **kw)


@dataclass
class Harness:
    store: Store
    monitor: MonitorSettings
    context: AlertContext
    runs: int = 0
    run_ids: list[int] = field(default_factory=list)

    @staticmethod
    def window(n: int) -> Window:
        return Window(T0 + (n - 1) * HOUR, T0 + n * HOUR)

    def run(self, figures: list[dict[str, Any]], *, error: str | None = None, now: datetime | None = None,
            window: int | None = None) -> Evaluation:
        """One more run (window ``n`` = run number unless given); ``now`` defaults to the window's end."""
        self.runs += 1
        w = self.window(window or self.runs)
        run_id = self.store.start_run(self.monitor.name, w, owner="test", rerun=True)
        assert run_id is not None
        self.run_ids.append(run_id)
        results = [Result(self.monitor.name, run_id, w.start, w.end, f["detector"], f["feature"], f["metric"],
                          f["value"], f["p_value"], f["threshold"], f["status"], f.get("details", {}))
                   for f in figures]
        done: list[Evaluation] = []

        def after(conn: Connection, window: Window) -> None:
            done.append(evaluate(conn, context=self.context, monitor=self.monitor, run_id=run_id, window=window,
                                 results=results, error=error, now=now or w.end))

        if error is None:
            self.store.finish_run(run_id, results, rows_reference=100, rows_current=100, after=after)
        else:
            self.store.fail_run(run_id, error, results, after=after)
        return done[0]

    def reopen(self) -> None:
        """A new Store object on the same database (a restarted process)."""
        url = self.store.engine.url.render_as_string(hide_password=False)
        self.store.dispose()
        self.store = Store(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dw.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def make(url: str) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(*, webhooks: dict[str, WebhookSubscription] | None = None, base_url: str | None = None,
                retrain: RetrainPolicy | None = None, **policy: Any) -> Harness:
        store = Store(url)
        store.create_all()
        harness = Harness(store, monitor_settings(retrain=retrain, **policy),
                          AlertContext(AlertsSettings(base_url=base_url), webhooks or {}))
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.store.dispose()


# -- the real path: run_monitor over CSV files and a TOML config ---------------------------------------


class Project:
    """Monitor ``m`` over hourly windows of ``data.csv`` (column ``x``); window ``n`` (1-based) is
    drawn from N(shifts[n-1], 1) against an N(0, 1) reference: 0 is clean, 3 drifts."""

    def __init__(self, folder: Path, shifts: list[float], *, monitor_extra: str = "", top: str = "") -> None:
        self.folder = folder
        rng = np.random.default_rng(7)
        pd.DataFrame({"x": rng.normal(0, 1, 500).round(4)}).to_csv(folder / "ref.csv", index=False)
        stamps, xs = [], []
        for n, shift in enumerate(shifts):
            start = T0 + n * HOUR
            stamps += [(start + timedelta(seconds=10 * i)).isoformat() for i in range(200)]
            xs += list(rng.normal(shift, 1, 200).round(4))
        pd.DataFrame({"ts": stamps, "x": xs}).to_csv(folder / "data.csv", index=False)
        (folder / "config.toml").write_text(f"""
[store]
url = "sqlite:///{folder / 'dw.db'}"
[alerts]
channels = ["log"]
{top}
[channels.log]
type = "log"
[[monitors]]
name = "m"
window = "1h"
[monitors.schema]
numeric = ["x"]
[monitors.current]
type = "file"
path = "data.csv"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
{monitor_extra}
""", encoding="utf-8")
        self.settings = load(folder / "config.toml")
        self.monitor = self.settings.monitor("m")
        self.store = Store(self.settings.store.url.reveal())
        self.store.create_all()

    def run(self, n: int, *, fail: bool = False) -> RunOutcome:
        window = Harness.window(n)
        data, hidden = self.folder / "data.csv", self.folder / "data.hidden"
        if fail:
            data.rename(hidden)
        try:
            return run_monitor(self.monitor, window, store=self.store, options=self.settings.profile,
                               now=window.end, alerts=AlertContext(self.settings.alerts, self.settings.webhooks))
        finally:
            if fail:
                hidden.rename(data)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Callable[..., Project]]:
    made: list[Project] = []

    def factory(shifts: list[float], **kw: Any) -> Project:
        made.append(Project(tmp_path, shifts, **kw))
        return made[-1]

    yield factory
    for p in made:
        p.store.dispose()


def statuses(outcome: RunOutcome) -> dict[str, str]:
    return {r.feature or r.metric: r.status for r in outcome.results}


# == R1: alert identity and fingerprint ==================================================================


def test_r1_stored_fingerprints_are_the_canonical_ones_and_survive_reopening_the_store(make: Callable[..., Harness]
                                                                                        ) -> None:
    h = make()
    h.run([fig("age"), fig("", metric="drift_share", value=0.6, threshold=0.5)])
    before = {(s.key.detector, s.key.feature, s.key.metric): s.key.fingerprint for s in states(h.store).values()}
    assert before == {("drift", "age", "psi"): AlertKey("m", "drift", "age", "psi").fingerprint,
                      ("drift", "", "drift_share"): AlertKey("m", "drift", "", "drift_share").fingerprint}
    [message] = messages(h.store)
    assert {i.fingerprint for i in message.items} == set(before.values())
    h.reopen()
    with h.store.engine.connect() as conn:
        stored = {row.fingerprint: (row.detector, row.feature, row.metric)
                  for row in conn.execute(select(alert_states).where(alert_states.c.monitor == "m"))}
    assert stored == {fp: k for k, fp in before.items()}
    # the reopened store keys the same alert by the same fingerprint: the next breach is "still", not "new"
    done = h.run([fig("age"), fig("", metric="drift_share", value=0.6, threshold=0.5)])
    assert done.changes == {}
    assert len(states(h.store)) == 2


# == R2: fire after for_runs breaches, resolve after keep_firing_runs clean runs (real runs) ============


def test_r2_for_runs_3_real_runs_1_and_2_queue_nothing_run_3_queues_one_firing_message(
        project: Callable[..., Project]) -> None:
    p = project([3, 3, 3], monitor_extra="[monitors.alerts]\nfor_runs = 3")
    for n in (1, 2):
        outcome = p.run(n)
        assert outcome.status == "succeeded" and statuses(outcome)["x"] == "alert"
        assert rows(p.store) == [], f"run {n} must queue nothing"
        assert {s.state for s in states(p.store).values()} == {"pending"}
    third = p.run(3)
    [row] = rows(p.store)
    message = Message.from_json(json.loads(row.payload))
    assert (row.kind, row.target, row.run_id) == ("message", "log", third.run_id)
    assert (message.status, message.reason) == ("firing", "first notification")
    assert {(i.change, i.feature, i.metric) for i in message.items} == {("new", "x", "ks"), ("new", "", "drift_share")}
    assert states(p.store)[("drift", "x", "ks")].state == "firing"


def test_r2_for_runs_3_real_an_ok_run_in_between_resets_the_count(project: Callable[..., Project]) -> None:
    p = project([3, 3, 0, 3, 3, 3], monitor_extra="[monitors.alerts]\nfor_runs = 3")
    for n in range(1, 6):
        outcome = p.run(n)
        assert statuses(outcome)["x"] == ("ok" if n == 3 else "alert")
        assert rows(p.store) == [], f"run {n} must queue nothing"
    assert states(p.store)[("drift", "x", "ks")].breaching_runs == 2
    sixth = p.run(6)
    [message] = messages(p.store)
    assert (message.run_id, message.status, message.reason) == (sixth.run_id, "firing", "first notification")


def test_r2_keep_firing_runs_2_real_resolves_after_two_clean_runs_then_ok(project: Callable[..., Project]) -> None:
    p = project([3, 0, 0, 0], monitor_extra="[monitors.alerts]\nkeep_firing_runs = 2")
    p.run(1)
    assert [m.reason for m in messages(p.store)] == ["first notification"]
    p.run(2)
    assert len(rows(p.store)) == 1, "one clean run does not resolve"
    assert states(p.store)[("drift", "x", "ks")].state == "firing"
    third = p.run(3)
    first, resolved = messages(p.store)
    assert (resolved.run_id, resolved.status, resolved.reason) == (third.run_id, "resolved", "all alerts resolved")
    assert {(i.change, i.feature) for i in resolved.items} == {("resolved", "x"), ("resolved", "")}
    assert all(i.ends_at == third.window.end for i in resolved.items)
    assert states(p.store)[("drift", "x", "ks")].state == "resolved"
    p.run(4)
    assert len(rows(p.store)) == 2
    assert {s.state for s in states(p.store).values()} == {"ok"}


# == R3: a failed run moves only run_failed; insufficient_data follows no_data ===========================


def test_r3_real_failed_run_fires_run_failed_and_leaves_feature_alerts_alone(project: Callable[..., Project]) -> None:
    p = project([3, 3, 3])
    p.run(1)
    firing = states(p.store)[("drift", "x", "ks")]
    failed = p.run(2, fail=True)
    assert failed.status == "failed" and failed.error
    after = states(p.store)
    assert after[("drift", "x", "ks")] == firing, "a failed run moves no feature alert"
    assert after[("engine", "", "run_failed")].state == "firing"
    [_, message] = messages(p.store)
    assert [(i.detector, i.metric, i.change, i.severity, i.summary) for i in message.items] == [
        ("engine", "run_failed", "new", "error", failed.error)]
    assert all(i.change != "resolved" for m in messages(p.store) for i in m.items)
    recovered = p.run(3)
    assert states(p.store)[("engine", "", "run_failed")].state == "resolved"
    last = messages(p.store)[-1]
    assert last.run_id == recovered.run_id
    assert ("resolved", "run_failed") in labels(last)


def test_r3_failed_run_records_nothing_on_feature_alerts_and_fires_run_failed_with_the_error(
        make: Callable[..., Harness]) -> None:
    h = make()
    h.run([fig("age"), fig("income", status="ok")])
    before = states(h.store)
    done = h.run([], error="ConnectorError: file connector: no file matches data/*.csv")
    after = states(h.store)
    assert after[("drift", "age", "psi")] == before[("drift", "age", "psi")]
    assert ("drift", "income", "psi") not in after
    failed = after[("engine", "", "run_failed")]
    assert (failed.state, failed.severity) == ("firing", "error")
    assert done.changes == {RUN_FAILED_KEY.fingerprint: "new"}
    message = messages(h.store)[-1]
    [item] = message.items
    assert (item.detector, item.feature, item.metric, item.change) == ("engine", "", "run_failed", "new")
    assert item.summary == "ConnectorError: file connector: no file matches data/*.csv"
    assert item.fingerprint == RUN_FAILED_KEY.fingerprint
    assert (message.status, message.reason) == ("firing", "first notification")  # age (still firing) is inhibited


def test_r3_failed_run_neither_advances_nor_resets_a_pending_alert(make: Callable[..., Harness]) -> None:
    h = make(for_runs=2)
    h.run([fig("age")])
    h.run([], error="boom")
    assert states(h.store)[("drift", "age", "psi")].breaching_runs == 1
    done = h.run([fig("age")])
    assert done.changes[AlertKey("m", "drift", "age", "psi").fingerprint] == "new"


def test_r3_next_succeeded_run_resolves_run_failed(make: Callable[..., Harness]) -> None:
    h = make()
    h.run([], error="boom")
    done = h.run([fig("age", status="ok")])
    assert done.changes == {RUN_FAILED_KEY.fingerprint: "resolved"}
    message = messages(h.store)[-1]
    assert (message.status, message.reason) == ("resolved", "all alerts resolved")
    assert [(i.metric, i.change) for i in message.items] == [("run_failed", "resolved")]
    h.run([fig("age", status="ok")])
    assert states(h.store)[("engine", "", "run_failed")].state == "ok"
    assert len(messages(h.store)) == 2


@pytest.mark.parametrize("no_data,state_after,reason", [
    ("keep_last", "firing", None),
    ("ok", "resolved", "all alerts resolved"),
])
def test_r3_no_data_on_a_firing_alert(make: Callable[..., Harness], no_data: str, state_after: str,
                                      reason: str | None) -> None:
    h = make(no_data=no_data)
    h.run([fig("age")])
    h.run([fig("age", status="insufficient_data", value=None)])
    assert states(h.store)[("drift", "age", "psi")].state == state_after
    sent = messages(h.store)
    assert [m.reason for m in sent[1:]] == ([] if reason is None else [reason])


@pytest.mark.parametrize("no_data,fires", [("keep_last", False), ("ok", False), ("alerting", True)])
def test_r3_no_data_on_an_ok_alert(make: Callable[..., Harness], no_data: str, fires: bool) -> None:
    h = make(no_data=no_data)
    h.run([fig("age", status="insufficient_data", value=None)])
    found = states(h.store).get(("drift", "age", "psi"))
    if not fires:
        assert found is None and rows(h.store) == []
        return
    assert found is not None and (found.state, found.severity) == ("firing", "warn")
    [message] = messages(h.store)
    assert [(i.feature, i.severity, i.change) for i in message.items] == [("age", "warn", "new")]


# == R4: while run_failed fires, a monitor's messages carry nothing else =================================


def test_r4_while_run_failed_fires_messages_carry_only_the_run_failed_item(make: Callable[..., Harness]) -> None:
    h = make(repeat_interval="1h")
    h.run([fig("age"), fig("income")])
    first_failure = h.run([], error="boom")
    assert first_failure.messages == ["log"]
    assert [(i.metric, i.change) for i in messages(h.store)[-1].items] == [("run_failed", "new")]
    # two hours later, still failing: the repeat carries run_failed only, not the firing features
    h.run([], error="boom again", now=Harness.window(3).end + 2 * HOUR)
    repeat = messages(h.store)[-1]
    assert repeat.reason == "repeat interval elapsed"
    assert [(i.metric, i.change, i.summary) for i in repeat.items] == [("run_failed", "still", "boom again")]
    assert states(h.store)[("drift", "age", "psi")].state == "firing"


def test_r4_inhibition_ends_with_the_failure(make: Callable[..., Harness]) -> None:
    h = make()
    h.run([fig("age")])
    h.run([], error="boom")
    h.run([fig("age"), fig("income")])
    message = messages(h.store)[-1]
    assert message.reason == "new alerts added"
    assert sorted(labels(message)) == [("new", "income"), ("resolved", "run_failed"), ("still", "age")]


# == R5: one message per (monitor run, channel), worst first =============================================


def test_r5_thirty_breaching_features_make_exactly_one_message_per_channel(make: Callable[..., Harness]) -> None:
    h = make(channels=["a", "b"])
    figures = [fig(f"f{i:02d}", value=0.2 + 0.01 * ((i * 7) % 30)) for i in range(30)]
    done = h.run(figures)
    assert sorted(done.messages) == ["a", "b"]
    assert [r.target for r in rows(h.store)] == ["a", "b"]
    for channel in ("a", "b"):
        [message] = messages(h.store, channel)
        assert len(message.items) == 30
        badness = [i.badness for i in message.ordered()]
        assert badness == sorted(badness, reverse=True)
        assert message.ordered()[0].value == pytest.approx(0.49)
        assert message.text().splitlines()[-1] == "…and 10 more"
        assert message.title() == "[driftwatch] FIRING m: 30 alerts (first notification)"
    # each row's key is distinct per channel
    assert len({r.key for r in rows(h.store)}) == 2


def test_r5_items_worst_first_by_value_over_threshold(make: Callable[..., Harness]) -> None:
    # drift values are effect sizes and thresholds their practical minimums, p-values or not
    h = make()
    h.run([
        fig("mild", value=0.3, threshold=0.2),                                  # 1.5
        fig("tiny_p", metric="ks", value=0.1, threshold=0.05, p_value=1e-9),   # 2
        fig("share", metric="drift_share", value=0.9, threshold=0.5),          # 1.8
        fig("close_p", metric="ks", value=0.4, threshold=0.05, p_value=0.004),  # 8
        fig("strong", value=0.8, threshold=0.2),                                # 4
    ])
    [message] = messages(h.store)
    assert [i.feature for i in message.ordered()] == ["close_p", "strong", "tiny_p", "share", "mild"]
    assert message.ordered()[0].figure() == "= 0.4 (threshold 0.05, p = 0.004)"


def test_r5_resolved_items_come_after_firing_ones(make: Callable[..., Harness]) -> None:
    h = make()
    h.run([fig("big", value=2.0), fig("small", value=0.3)])
    h.run([fig("big", status="ok", value=0.1), fig("small", value=0.3)])
    message = messages(h.store)[-1]
    assert labels(message) == [("still", "small"), ("resolved", "big")]
    assert (message.status, message.reason) == ("firing", "some alerts resolved")


def test_r5_routes_by_severity_channel_b_gets_only_alert_items(make: Callable[..., Harness]) -> None:
    h = make(channels=[], routes=[{"channels": ["a"], "severity": "warn"}, {"channels": ["b"], "severity": "alert"}])
    h.run([fig("w", status="warn"), fig("x", status="alert")])
    [to_a] = messages(h.store, "a")
    [to_b] = messages(h.store, "b")
    assert sorted(i.feature for i in to_a.items) == ["w", "x"]
    assert [i.feature for i in to_b.items] == ["x"]
    # a run with only warn items says nothing to b
    h.run([fig("w", status="warn"), fig("x", status="ok"), fig("v", status="warn")])
    assert len(messages(h.store, "a")) == 2
    [again_b] = messages(h.store, "b")[1:]
    assert [(i.change, i.feature) for i in again_b.items] == [("resolved", "x")]
    # a failed run is an error: routed to every channel
    h.run([], error="boom")
    assert [i.metric for i in messages(h.store, "b")[-1].items] == ["run_failed"]
    assert [i.metric for i in messages(h.store, "a")[-1].items] == ["run_failed"]


def test_r5_send_resolved_false_drops_resolved_only_messages(make: Callable[..., Harness]) -> None:
    h = make(send_resolved=False)
    h.run([fig("age")])
    done = h.run([fig("age", status="ok")])
    assert done.messages == []
    assert len(rows(h.store)) == 1
    assert states(h.store)[("drift", "age", "psi")].state == "resolved"


def test_r5_send_resolved_true_by_default(make: Callable[..., Harness]) -> None:
    h = make()
    assert h.monitor.alerts.send_resolved is True
    h.run([fig("age")])
    assert h.run([fig("age", status="ok")]).messages == ["log"]


# == R6: why a message is sent, and repeat_interval ======================================================


def test_r6_every_reason_is_produced(make: Callable[..., Harness]) -> None:
    h = make(repeat_interval="3h")
    h.run([fig("a")])                                   # 1: a new
    h.run([fig("a"), fig("b")])                         # 2: b new, a still
    h.run([fig("a", status="ok"), fig("b")])            # 3: a resolved, b still
    h.run([fig("b")])                                   # 4: unchanged, 1h since the last queue
    h.run([fig("b")], now=Harness.window(5).end + HOUR)  # 5: 3h since the last queue
    h.run([fig("b", status="ok")])                      # 6: b resolved
    sent = messages(h.store)
    assert [(m.run_id, m.reason) for m in sent] == [
        (h.run_ids[0], "first notification"), (h.run_ids[1], "new alerts added"),
        (h.run_ids[2], "some alerts resolved"), (h.run_ids[4], "repeat interval elapsed"),
        (h.run_ids[5], "all alerts resolved")]
    assert {m.reason for m in sent} == set(REASONS)
    assert [m.status for m in sent] == ["firing", "firing", "firing", "firing", "resolved"]
    assert labels(sent[3]) == [("still", "b")]


def test_r6_repeat_counts_from_the_later_of_last_queue_and_last_successful_send(make: Callable[..., Harness]) -> None:
    h = make(repeat_interval="4h")
    queued_at = Harness.window(1).end
    h.run([fig("age")])
    # delivered two hours after it was queued
    [claimed] = ob.claim(h.store.engine, owner="d", now=queued_at + 2 * HOUR, lease=timedelta(minutes=5))
    sent_at = queued_at + 2 * HOUR
    assert ob.finish_attempt(h.store.engine, claimed, owner="d", next_attempt_at=None,
                             attempt=ob.Attempt(1, sent_at, "delivered", "200", None, 1.0, "{}"))
    # 4h after the queue but only 2h after the send: not yet
    assert h.run([fig("age")], now=queued_at + 4 * HOUR).messages == []
    assert h.run([fig("age")], now=sent_at + 4 * HOUR - timedelta(seconds=1)).messages == []
    assert h.run([fig("age")], now=sent_at + 4 * HOUR).messages == ["log"]
    assert messages(h.store)[-1].reason == "repeat interval elapsed"
    # the repeat's own queue time restarts the interval
    assert h.run([fig("age")], now=sent_at + 5 * HOUR).messages == []


def test_r6_default_repeat_interval_is_24h(make: Callable[..., Harness]) -> None:
    h = make()
    h.run([fig("age")])
    assert h.run([fig("age")], now=T0 + 24 * HOUR).messages == []
    assert h.run([fig("age")], now=T0 + HOUR + 24 * HOUR).messages == ["log"]


# == R7: silenced alerts keep their state and queue nothing ==============================================


def silence(store: Store, *, starts: datetime, ends: datetime, **matchers: str) -> store_alerts.Silence:
    return store_alerts.add_silence(store.engine, monitor=matchers.pop("monitor", "m"), starts_at=starts, ends_at=ends,
                                    created_by="test", comment="maintenance", now=T0, **matchers)


def test_r7_a_silenced_alert_keeps_evolving_but_queues_nothing(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription()})
    silence(h.store, feature="age", starts=T0 - HOUR, ends=T0 + 10 * HOUR)
    done = h.run([fig("age")])
    assert states(h.store)[("drift", "age", "psi")].state == "firing"
    assert done.messages == [] and done.events == []
    assert rows(h.store) == []
    # another feature of the same monitor still gets through; the silenced one is left out
    h.run([fig("age"), fig("income")])
    [message] = messages(h.store)
    assert [i.feature for i in message.items] == ["income"]
    assert all(r["feature"] != "age" for _, e in events(h.store) for r in e["data"]["results"])
    # resolving under the silence says nothing about it either
    h.run([fig("age", status="ok"), fig("income")])
    assert states(h.store)[("drift", "age", "psi")].state == "resolved"
    assert len(messages(h.store)) == 1


def test_r7_a_silence_on_another_feature_or_monitor_does_not_match(make: Callable[..., Harness]) -> None:
    h = make()
    silence(h.store, feature="income", starts=T0 - HOUR, ends=T0 + 10 * HOUR)
    silence(h.store, monitor="other", starts=T0 - HOUR, ends=T0 + 10 * HOUR)
    silence(h.store, detector="quality", starts=T0 - HOUR, ends=T0 + 10 * HOUR)
    assert h.run([fig("age")]).messages == ["log"]


def test_r7_a_pending_silence_does_not_silence(make: Callable[..., Harness]) -> None:
    h = make()
    pending = silence(h.store, feature="age", starts=T0 + 5 * HOUR, ends=T0 + 10 * HOUR)
    assert pending.state(Harness.window(1).end) == "pending"
    assert h.run([fig("age")]).messages == ["log"]


def test_r7_an_expired_silence_does_not_silence(make: Callable[..., Harness]) -> None:
    h = make()
    expired = silence(h.store, feature="age", starts=T0 - 3 * HOUR, ends=T0)
    assert expired.state(Harness.window(1).end) == "expired"
    assert h.run([fig("age")]).messages == ["log"]


def test_r7_when_the_silence_ends_the_still_firing_alert_is_notified(make: Callable[..., Harness]) -> None:
    h = make()
    silence(h.store, feature="age", starts=T0 - HOUR, ends=T0 + 90 * timedelta(minutes=1))
    assert h.run([fig("age")]).messages == []
    done = h.run([fig("age")])  # now = T0 + 2h: the silence is over
    assert done.messages == ["log"]
    [message] = messages(h.store)
    assert (message.status, message.reason) == ("firing", "first notification")
    assert [(i.feature, i.change in ("new", "still")) for i in message.items] == [("age", True)]


def test_r7_an_alert_unsilenced_while_its_group_fires_is_announced(make: Callable[..., Harness]) -> None:
    h = make()
    silence(h.store, feature="age", starts=T0 - HOUR, ends=T0 + 90 * timedelta(minutes=1))
    h.run([fig("age"), fig("income")])  # income announced; age fires silently
    assert [labels(m) for m in messages(h.store)] == [[("new", "income")]]
    done = h.run([fig("age"), fig("income")])  # T0 + 2h: the silence is over, age fires unannounced
    assert done.messages == ["log"]
    announced = messages(h.store)[-1]
    assert [i.feature for i in announced.ordered() if i.change != "resolved"] == ["age", "income"]


def test_r7_a_monitor_wide_silence_covers_run_failed_too(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription()})
    silence(h.store, starts=T0 - HOUR, ends=T0 + 10 * HOUR)
    done = h.run([], error="boom")
    assert states(h.store)[("engine", "", "run_failed")].state == "firing"
    assert (done.messages, done.events, rows(h.store)) == ([], [], [])


# == R8: alert states, silences and groups survive a restart =============================================


def test_r8_states_silences_and_groups_survive_a_restart(make: Callable[..., Harness]) -> None:
    h = make(repeat_interval="6h")
    silence(h.store, feature="income", starts=T0 - HOUR, ends=T0 + 100 * HOUR)
    h.run([fig("age"), fig("income")])
    before_states = states(h.store)
    group = groups(h.store)
    assert group == {("m", "log"): (Harness.window(1).end, None)}
    h.reopen()
    assert states(h.store) == before_states
    assert before_states[("drift", "age", "psi")].active_since == Harness.window(1).end
    assert [s.feature for s in store_alerts.list_silences(h.store.engine, monitor="m")] == ["income"]
    assert groups(h.store) == group
    # the unchanged firing alert is not re-sent after the restart, and the silence still holds
    for n in range(2, 7):  # window 6 ends 5h after the first queue
        assert h.run([fig("age"), fig("income")]).messages == [], f"run {n}"
    h.reopen()
    assert h.run([fig("age"), fig("income")]).messages == ["log"]  # window 7 ends 6h after the first queue
    assert labels(messages(h.store)[-1]) == [("still", "age")]


def test_a_message_says_what_lies_behind_a_performance_drop_and_a_multivariate_drift(
        make: Callable[..., Harness]) -> None:
    h = make()
    causes = [{"feature": "k", "bin": "c", "share_of_drop": 0.62}, {"feature": "z", "bin": "[1.2, 4.4)",
                                                                   "share_of_drop": 0.31}]
    accuracy = fig("", value=0.61, threshold=0.7, detector="performance", metric="accuracy")
    multivariate = fig("", value=1.43, threshold=1.34, p_value=1e-9, detector="multivariate",
                       metric="reconstruction_error")
    h.run([{**accuracy, "details": {"causes": causes}},
           {**multivariate, "details": {"moved": [{"column": "a"}, {"column": "b"}]}}])
    [message] = messages(h.store)
    text = message.text().splitlines()
    at = text.index("NEW alert performance accuracy = 0.61 (threshold 0.7)")
    assert text[at + 1] == "  errors grew most in: k c (62 % of the drop); z [1.2, 4.4) (31 % of the drop)"
    at = text.index("NEW alert multivariate reconstruction_error = 1.43 (threshold 1.34, p = 1e-09)")
    assert text[at + 1] == "  moved most: a, b"
    h.run([{**accuracy, "details": {"causes": causes[1:]}}, {**multivariate, "status": "ok"}])
    still = messages(h.store)[-1]  # a still-firing alert carries this run's causes
    assert [(i.metric, i.change, i.summary) for i in still.items if i.metric == "accuracy"] == [
        ("accuracy", "still", "errors grew most in: z [1.2, 4.4) (31 % of the drop)")]


# == the run's transaction ==================================================================================


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("failed", [False, True], ids=["finish_run", "fail_run"])
def test_transaction_an_after_hook_that_raises_writes_no_results_outbox_or_states(
        make: Callable[..., Harness], failed: bool) -> None:
    h = make(webhooks={"sink": subscription()})
    w = Harness.window(1)
    run_id = h.store.start_run("m", w, owner="test")
    assert run_id is not None
    results = [Result("m", run_id, w.start, w.end, "drift", "age", "psi", 0.4, None, 0.2, "alert")]
    evaluated: list[Evaluation] = []

    def after(conn: Connection, window: Window) -> None:
        evaluated.append(evaluate(conn, context=h.context, monitor=h.monitor, run_id=run_id, window=window,
                                  results=results, error="boom" if failed else None, now=w.end))
        raise RuntimeError("late failure")

    with pytest.raises(RuntimeError, match="late failure"):
        if failed:
            h.store.fail_run(run_id, "boom", results, after=after)
        else:
            h.store.finish_run(run_id, results, rows_reference=1, rows_current=1, after=after)
    assert evaluated and evaluated[0].messages == ["log"] and evaluated[0].events, "evaluation did queue rows"
    assert h.store.results(run_id=run_id) == []
    assert (count(h.store, outbox_table), count(h.store, alert_states), count(h.store, notify_groups)) == (0, 0, 0)
    assert [(r.id, r.status) for r in h.store.runs("m")] == [(run_id, "running")]


# == webhook events (R11, R13) =============================================================================


def test_r13_real_runs_queue_schema_valid_events_at_the_right_runs(project: Callable[..., Project]) -> None:
    p = project([3, 3, 3, 3, 0], top=f'[webhooks.sink]\nurl = "{SINK_URL}"\nsecret = "{SECRET}"',
                monitor_extra='[monitors.retrain]\non = ["drift.drift_share"]\nfor_runs = 2')
    outcomes = [p.run(1), p.run(2), p.run(3, fail=True), p.run(4), p.run(5)]
    assert [o.status for o in outcomes] == ["succeeded", "succeeded", "failed", "succeeded", "succeeded"]
    found = events(p.store, "sink")
    assert [(row.run_id, row.event_type) for row, _ in found] == [
        (outcomes[0].run_id, "alert.firing"), (outcomes[1].run_id, "retrain.requested"),
        (outcomes[2].run_id, "run.failed"), (outcomes[4].run_id, "alert.resolved")]
    for (row, event), outcome in zip(found, [outcomes[i] for i in (0, 1, 2, 4)], strict=True):
        validate_event(event)
        assert row.key == event["id"] == message_id("m", outcome.window.start, row.event_type or "")
        assert event["type"] == row.event_type
        assert event["data"]["monitor"] == "m" and event["data"]["run_id"] == outcome.run_id
        assert event["data"]["window"] == {"start": outcome.window.start.isoformat().replace("+00:00", "Z"),
                                           "end": outcome.window.end.isoformat().replace("+00:00", "Z")}
        assert len(row.payload.encode()) < 20_000
    by_type = {row.event_type: event for row, event in found}
    assert {(r["feature"], r["metric"]) for r in by_type["alert.firing"]["data"]["results"]} == {
        ("x", "ks"), ("", "drift_share")}
    assert [(r["metric"], r["status"]) for r in by_type["retrain.requested"]["data"]["results"]] == [
        ("drift_share", "alert")]
    assert [r["metric"] for r in by_type["run.failed"]["data"]["results"]] == ["run_failed"]
    assert outcomes[2].error and outcomes[2].error in by_type["run.failed"]["data"]["reason"]
    assert {r["status"] for r in by_type["alert.resolved"]["data"]["results"]} == {"ok"}


def test_r13_retrain_requested_once_when_breached_for_runs_in_a_row(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription()}, retrain=RetrainPolicy(on=("drift.drift_share",), for_runs=2))
    share = fig("", metric="drift_share", value=0.6, threshold=0.5)
    per_run = [h.run([share, fig("age")]).events for _ in range(3)]
    assert per_run == [["sink:alert.firing"], ["sink:retrain.requested"], []]
    [(row, event)] = [(r, e) for r, e in events(h.store) if r.event_type == "retrain.requested"]
    assert row.key == message_id("m", Harness.window(2).start, "retrain.requested")
    assert [(r["detector"], r["metric"]) for r in event["data"]["results"]] == [("drift", "drift_share")]
    validate_event(event)


def test_r13_retrain_streak_restarts_after_a_clean_run(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription(events=["retrain.requested"])},
             retrain=RetrainPolicy(on=("drift.drift_share",), for_runs=2))
    share = fig("", metric="drift_share", value=0.6, threshold=0.5)
    clean = fig("", metric="drift_share", status="ok", value=0.1, threshold=0.5)
    runs = [share, clean, share, share]
    assert [h.run([f]).events for f in runs] == [[], [], [], ["sink:retrain.requested"]]


def test_r13_retrain_ignores_alerts_it_is_not_on(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription(events=["retrain.requested"])},
             retrain=RetrainPolicy(on=("drift.drift_share", "performance"), for_runs=1))
    assert h.run([fig("age")]).events == []  # drift.psi is neither
    assert h.run([fig("", detector="performance", metric="accuracy", value=0.6, threshold=0.8)]).events == [
        "sink:retrain.requested"]


def test_r13_retrain_is_independent_of_the_alert_for_runs(make: Callable[..., Harness]) -> None:
    h = make(for_runs=3, webhooks={"sink": subscription(events=["retrain.requested"])},
             retrain=RetrainPolicy(on=("drift.drift_share",), for_runs=2))
    share = fig("", metric="drift_share", value=0.6, threshold=0.5)
    sent = [h.run([share]).events for _ in range(4)]
    assert sum(len(e) for e in sent) == 1, sent


def test_r13_retrain_not_requested_again_on_a_no_data_run(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription(events=["retrain.requested"])},
             retrain=RetrainPolicy(on=("drift.drift_share",), for_runs=2))
    share = fig("", metric="drift_share", value=0.6, threshold=0.5)
    no_data = fig("", metric="drift_share", status="insufficient_data", value=None, threshold=0.5)
    sent = [h.run([f]).events for f in (share, share, no_data)]
    assert sent == [[], ["sink:retrain.requested"], []]


def test_r13_alert_events_fire_and_resolve_at_the_right_runs(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription()}, base_url="http://dw.local")
    per_run = [h.run([fig("age")]).events, h.run([fig("age"), fig("income")]).events,
               h.run([], error="boom").events, h.run([fig("age", status="ok"), fig("income")]).events]
    assert per_run == [["sink:alert.firing"], ["sink:alert.firing"], ["sink:run.failed"], ["sink:alert.resolved"]]
    found = events(h.store)
    for (row, event), run_id in zip(found, h.run_ids, strict=True):
        validate_event(event)
        assert event["data"]["report_url"] == f"http://dw.local/runs/{run_id}"
        assert row.key == message_id("m", Harness.window(h.run_ids.index(run_id) + 1).start, row.event_type or "")
    assert [r["feature"] for r in found[1][1]["data"]["results"]] == ["income"]  # only what started firing
    assert [r["feature"] for r in found[3][1]["data"]["results"]] == ["age"]
    assert found[2][1]["data"]["reason"] == "boom"


def test_r11_a_rerun_of_the_same_window_does_not_queue_the_same_event_twice(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription()})
    assert h.run([], error="boom", window=1).events == ["sink:run.failed"]
    assert h.run([], error="boom", window=1).events == []  # attempt 2 of window 1: same webhook-id
    [(row, _)] = events(h.store)
    assert row.key == message_id("m", Harness.window(1).start, "run.failed")
    # a firing event of a rerun window keeps its key too
    h.run([fig("age")], window=2)
    h.run([fig("age", status="ok")], window=3)
    assert h.run([fig("age")], window=2).events == []
    assert [r.event_type for r, _ in events(h.store)].count("alert.firing") == 1
    with h.store.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(outbox_table.c.key).where(outbox_table.c.kind == "event"))]
    assert len(keys) == len(set(keys))


def test_r13_subscription_events_and_monitors_filters_are_honoured(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"failures": subscription(events=["run.failed"]),
                       "others": subscription(monitors=["other"]),
                       "mine": subscription(monitors=["m"], events=["alert.firing", "alert.resolved"])})
    h.run([fig("age")])
    h.run([], error="boom")
    h.run([fig("age", status="ok")])
    assert [r.event_type for r, _ in events(h.store, "failures")] == ["run.failed"]
    assert events(h.store, "others") == []
    assert [r.event_type for r, _ in events(h.store, "mine")] == ["alert.firing", "alert.resolved"]


def test_r13_no_subscriptions_no_events(make: Callable[..., Harness]) -> None:
    h = make()
    assert h.run([fig("age")]).events == []
    assert rows(h.store, kind="event") == []


def test_r13_event_results_are_worst_first(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription(events=["alert.firing"])})
    h.run([fig("mild", value=0.25), fig("p", metric="ks", value=0.2, threshold=0.05, p_value=0.0001),
           fig("strong", value=1.0)])
    [(_, event)] = events(h.store)
    # value / threshold: 1.0 / 0.2, 0.2 / 0.05, 0.25 / 0.2 (a p-value does not rank)
    assert [r["feature"] for r in event["data"]["results"]] == ["strong", "p", "mild"]


# == scope: per monitor, and healthy figures leave no trace ================================================


def test_r4_inhibition_and_groups_are_per_monitor(make: Callable[..., Harness]) -> None:
    a = make()
    b = Harness(a.store, monitor_settings(name="other"), a.context)
    a.run([fig("age")])
    a.run([], error="boom")                       # m is failing ...
    assert b.run([fig("age")], window=2).messages == ["log"]  # ... other is not inhibited
    [message] = messages(a.store, run_id=b.run_ids[0])
    assert (message.monitor, message.reason, labels(message)) == ("other", "first notification", [("new", "age")])
    assert states(a.store, "other")[("drift", "age", "psi")].key.monitor == "other"
    assert ("engine", "", "run_failed") not in states(a.store, "other")


def test_r1_healthy_figures_store_no_alert_state(make: Callable[..., Harness]) -> None:
    h = make()
    done = h.run([fig(f"f{i:03d}", status="ok", value=0.01) for i in range(200)])
    assert (done.changes, done.messages) == ({}, [])
    assert count(h.store, alert_states) == 0 and rows(h.store) == []


def test_r3_a_failed_run_between_clean_runs_does_not_reset_keep_firing(make: Callable[..., Harness]) -> None:
    h = make(keep_firing_runs=2)
    h.run([fig("age")])
    h.run([fig("age", status="ok", value=0.1)])
    h.run([], error="boom")
    assert states(h.store)[("drift", "age", "psi")].clean_runs == 1
    done = h.run([fig("age", status="ok", value=0.1)])
    assert done.changes == {AlertKey("m", "drift", "age", "psi").fingerprint: "resolved",
                            RUN_FAILED_KEY.fingerprint: "resolved"}
    message = messages(h.store)[-1]
    assert (message.status, message.reason) == ("resolved", "all alerts resolved")


def test_r13_events_with_many_results_stay_under_20_kb_and_count_the_rest(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"sink": subscription(events=["alert.firing"])})
    h.run([fig(f"feature_with_a_long_name_{i:04d}", value=0.3 + i / 1000) for i in range(600)])
    [(row, event)] = events(h.store)
    validate_event(event)
    assert len(row.payload.encode("utf-8")) <= 20_000
    kept = event["data"]["results"]
    assert event["data"]["truncated_results"] == 600 - len(kept) > 0
    assert kept[0]["feature"] == "feature_with_a_long_name_0599"  # the worst are kept


def test_r11_each_subscription_gets_its_own_row_with_the_same_webhook_id(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"one": subscription(), "two": subscription()})
    assert sorted(h.run([fig("age")]).events) == ["one:alert.firing", "two:alert.firing"]
    (row1, body1), (row2, body2) = events(h.store, "one")[0], events(h.store, "two")[0]
    assert row1.key == row2.key == message_id("m", Harness.window(1).start, "alert.firing")
    assert "." not in row1.key
    assert body1 == body2
