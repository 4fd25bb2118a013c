"""Alerts move in window order, one run at a time (issue 12, defect 1).

A run taken over after its process died can commit after later windows were judged: it is
stored but moves no alert and queues nothing, and is recorded as late. Two replicas finishing
runs of one monitor at once are serialised on the monitor's ``judged_windows`` row, so an
episode fires once, with one webhook-id, whoever judges it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from driftwatch.alerts.evaluate import Evaluation, evaluate
from driftwatch.model import Result, Window
from driftwatch.store import alerts as store_alerts
from driftwatch.web import create_app
from driftwatch.webhooks import message_id

from ..conftest import wait_for
from . import test_evaluate
from .test_evaluate import Harness, events, fig, states, subscription

url, make = test_evaluate.url, test_evaluate.make  # the harness's fixtures, on SQLite and PostgreSQL


def test_a_late_window_is_stored_but_moves_no_alert_and_sends_nothing(make: Callable[..., Harness]) -> None:
    h = make(webhooks={"pipe": subscription()})
    fired = h.run([fig("x")], window=2)
    assert fired.late is None and [e["type"] for _, e in events(h.store)] == ["alert.firing"]
    late = h.run([fig("x", status="ok"), fig("y")], window=1)  # the window before, committing after
    assert late.late == store_alerts.Late(h.window(2).end, h.run_ids[0])
    assert (late.changes, late.messages, late.events) == ({}, [], [])
    assert store_alerts.late_run(h.store.engine, h.run_ids[1]) == late.late
    assert store_alerts.late_run(h.store.engine, h.run_ids[0]) is None
    assert {r.feature for r in h.store.results(run_id=h.run_ids[1])} == {"x", "y"}  # its results are kept
    x = states(h.store)[("drift", "x", "psi")]
    assert (x.state, x.last_window_end, x.last_run_id) == ("firing", h.window(2).end, h.run_ids[0])
    assert ("drift", "y", "psi") not in states(h.store)
    assert [e["type"] for _, e in events(h.store)] == ["alert.firing"]
    resolved = h.run([fig("x", status="ok")], window=3)  # the next window in order is judged again
    assert resolved.late is None and list(resolved.changes.values()) == ["resolved"]

    with TestClient(create_app(h.store)) as client:  # the page and the API say it was late
        page = client.get(f"/runs/{h.run_ids[1]}").text
        detail = client.get(f"/api/v1/runs/{h.run_ids[1]}").json()
        on_time = client.get(f"/api/v1/runs/{h.run_ids[0]}").json()
    assert "<strong>Late:</strong>" in page and f'href="/runs/{h.run_ids[0]}"' in page
    assert detail["late"] == {"judged_window_end": h.window(2).end.isoformat().replace("+00:00", "Z"),
                              "judged_run_id": h.run_ids[0]}
    assert on_time["late"] is None


def test_a_rerun_of_the_newest_window_is_judged(make: Callable[..., Harness]) -> None:
    """Only an older window is late: running the newest one again (``--rerun``) moves alerts."""
    h = make()
    h.run([fig("x")], window=1)
    again = h.run([fig("x", status="ok")], window=1)
    assert again.late is None and list(again.changes.values()) == ["resolved"]


def _waiting_on_a_lock(engine: Any) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


@pytest.mark.parametrize("url", ["postgresql"], indirect=True)
def test_replicas_judging_one_monitor_at_once_take_turns_and_fire_once(make: Callable[..., Harness]) -> None:
    """Replica A holds its transaction open after evaluating window 3; replica B, finishing the
    older window 2, waits for it (seen in ``pg_stat_activity``), then finds window 3 judged and
    is late: one ``alert.firing``, with window 3's id. Without the lock both saw ``pending`` and
    both fired, with two ids; reading the judged window without locking it let B move the
    alerts after A with its older window."""
    h = make(webhooks={"pipe": subscription()}, for_runs=2)
    h.run([fig("x")], window=1)  # pending
    windows = {name: h.window(n) for name, n in (("a", 3), ("b", 2))}
    ids = {name: h.store.start_run("m", w, owner=name, rerun=True) for name, w in windows.items()}
    done: dict[str, Evaluation] = {}
    evaluated, release = threading.Event(), threading.Event()

    def finish(name: str) -> None:
        run_id, window = ids[name], windows[name]
        assert run_id is not None
        results = [Result("m", run_id, window.start, window.end, "drift", "x", "psi", 0.4, None, 0.2, "alert")]

        def after(conn: Connection, w: Window) -> None:
            done[name] = evaluate(conn, context=h.context, monitor=h.monitor, run_id=run_id, window=w,
                                  results=results, error=None, now=w.end)
            if name == "a":
                evaluated.set()
                assert release.wait(30)

        h.store.finish_run(run_id, results, rows_reference=1, rows_current=1, owner=name, after=after)

    a = threading.Thread(target=finish, args=("a",))
    a.start()
    assert evaluated.wait(30)
    b = threading.Thread(target=finish, args=("b",))
    b.start()
    try:
        wait_for(lambda: _waiting_on_a_lock(h.store.engine), 10, "replica B to wait for A's turn")
        assert "b" not in done
    finally:
        release.set()
        a.join(30)
        b.join(30)
    assert list(done["a"].changes.values()) == ["new"] and done["b"].changes == {}
    assert done["b"].late == store_alerts.Late(windows["a"].end, ids["a"])
    fired = [(row.key, e["type"]) for row, e in events(h.store)]
    assert fired == [(message_id("m", windows["a"].start, "alert.firing"), "alert.firing")]
    x = states(h.store)[("drift", "x", "psi")]
    assert (x.state, x.breaching_runs, x.last_window_end) == ("firing", 2, windows["a"].end)
