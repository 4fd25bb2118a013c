"""R36: retention deletes exactly the old rows, a small batch per transaction, and keeps the rest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select

from driftwatch.model import Window
from driftwatch.store import Store
from driftwatch.store.tables import reference_profiles
from driftwatch.store.tables import results as results_table

CUTOFF = datetime(2026, 6, 1, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)


def _day(year: int, month: int, day: int) -> Window:
    start = datetime(year, month, day, tzinfo=timezone.utc)
    return Window(start, start + timedelta(days=1))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _finished(store: Store, window: Window, results: list[Any], monitor: str = "churn") -> int:
    run_id = store.start_run(monitor, window, owner="t")
    assert run_id is not None
    store.finish_run(run_id, results, rows_reference=None, rows_current=None)
    return run_id


@contextmanager
def _deletes(store: Store) -> Iterator[dict[str, list[Any]]]:
    """Record the rowcount of every DELETE and the number of commits while inside."""
    seen: dict[str, list[Any]] = {"deleted": [], "commits": []}

    def after(conn, cursor, statement: str, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            table = statement.split()[2].strip('"')
            seen["deleted"].append((table, cursor.rowcount))

    def commit(conn) -> None:
        seen["commits"].append(True)

    event.listen(store.engine, "after_cursor_execute", after)
    event.listen(store.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(store.engine, "after_cursor_execute", after)
        event.remove(store.engine, "commit", commit)


def _feature_results(window: Window, make_result, count: int, monitor: str = "churn") -> list[Any]:
    return [make_result(window, monitor=monitor, feature=f"f{i}") for i in range(count)]


def test_deletes_exactly_the_old_rows_in_small_batches(clocked: Store, clock, make_result) -> None:
    old_windows = [_day(2026, 1, d) for d in (1, 2, 3)]
    old_runs = [_finished(clocked, old_windows[0], _feature_results(old_windows[0], make_result, 3)),
                _finished(clocked, old_windows[1], _feature_results(old_windows[1], make_result, 2)),
                _finished(clocked, old_windows[2], _feature_results(old_windows[2], make_result, 2, "fraud"), "fraud")]
    failed = clocked.start_run("churn", _day(2026, 5, 31), owner="t")  # ends exactly at the cutoff
    assert failed is not None
    clocked.fail_run(failed, "boom")
    new_windows = [_day(2026, 11, 1), _day(2026, 6, 1)]  # the second starts exactly at the cutoff
    new_runs = [_finished(clocked, w, _feature_results(w, make_result, 2)) for w in new_windows]
    clock.now = datetime(2026, 1, 5, tzinfo=timezone.utc)
    clocked.put_profile(_key("old-1"), "churn", b"x")
    clocked.put_profile(_key("old-2"), "fraud", b"y")
    clock.now = CUTOFF  # created exactly at the cutoff: kept
    clocked.put_profile(_key("new"), "churn", b"z")
    clock.now = datetime(2026, 11, 2, tzinfo=timezone.utc)

    with _deletes(clocked) as seen:
        counts = clocked.delete_older_than(CUTOFF, batch=3)

    # The failed run's window [05-31, 06-01) ended at the cutoff, i.e. not before it: kept.
    assert counts == {"results": 7, "runs": 3, "reference_profiles": 2, "outbox": 0}
    assert seen["deleted"] == [
        ("results", 3), ("results", 3), ("results", 1),  # by window_end, three batches
        ("results", 0),                                   # leftovers of old runs: none
        ("runs", 3),                                      # 3 old runs: one full batch ... then
        ("runs", 0),                                      # ... a check that nothing is left
        ("reference_profiles", 2),
        ("outbox", 0),                                    # no delivered notifications here
    ]
    assert len(seen["commits"]) == len(seen["deleted"])  # one transaction per batch
    kept = {r.id for r in clocked.runs(limit=1000)}
    assert kept == {failed, *new_runs} and not kept & set(old_runs)
    assert {(r.run_id, r.window_end) for r in clocked.results()} == {
        (run_id, w.end) for run_id, w in zip(new_runs, new_windows) for _ in range(2)}
    with clocked.engine.connect() as conn:
        assert set(conn.execute(select(reference_profiles.c.key)).scalars()) == {_key("new")}
    # Nothing old is left: a second pass deletes nothing, one cheap statement per kind.
    with _deletes(clocked) as seen:
        assert clocked.delete_older_than(CUTOFF, batch=3) == {"results": 0, "runs": 0, "reference_profiles": 0,
                                                              "outbox": 0}
    assert [count for _, count in seen["deleted"]] == [0, 0, 0, 0, 0]


def test_default_batch_deletes_in_one_statement_per_kind(clocked: Store, make_result) -> None:
    old = _day(2026, 1, 1)
    _finished(clocked, old, _feature_results(old, make_result, 4))
    with _deletes(clocked) as seen:
        assert clocked.delete_older_than(CUTOFF) == {"results": 4, "runs": 1, "reference_profiles": 0, "outbox": 0}
    assert seen["deleted"] == [("results", 4), ("results", 0), ("runs", 1), ("reference_profiles", 0), ("outbox", 0)]


def test_results_of_an_old_run_go_with_it(clocked: Store, make_result) -> None:
    """A result stamped with a newer window than its run's still goes with the run (pass 2)."""
    old, new = _day(2026, 1, 1), _day(2026, 11, 1)
    run_id = _finished(clocked, old, [make_result(new, feature="odd")])
    assert [r.window_end for r in clocked.results(run_id=run_id)] == [new.end]
    with _deletes(clocked) as seen:
        assert clocked.delete_older_than(CUTOFF, batch=10) == {"results": 1, "runs": 1, "reference_profiles": 0,
                                                               "outbox": 0}
    assert ("results", 1) in seen["deleted"]
    assert clocked.run(run_id) is None
    with clocked.engine.connect() as conn:
        assert conn.execute(select(results_table.c.id)).first() is None


def test_r36_delivered_outbox_rows_go_with_their_attempts_pending_and_dead_ones_stay(clocked: Store) -> None:
    from driftwatch.store import outbox as ob

    old = datetime(2026, 1, 1, tzinfo=timezone.utc)
    states = {"delivered-old": old, "delivered-new": datetime(2026, 11, 1, tzinfo=timezone.utc),
              "pending": old, "dead": old}
    for name, moment in states.items():
        with clocked.engine.begin() as conn:
            assert ob.enqueue(conn, kind="message", target=name, monitor="churn", run_id=None, event_type=None,
                              key="k", payload="{}", now=moment, deadline=timedelta(hours=24))
        if name == "pending":
            continue
        (row,) = ob.claim(clocked.engine, owner="t", now=moment, lease=LEASE, skip_targets=set(states) - {name})
        outcome = "delivered" if name.startswith("delivered") else "dead"
        assert ob.finish_attempt(clocked.engine, row, owner="t", next_attempt_at=None, attempt=ob.Attempt(
            attempt=1, at=moment, outcome=outcome, status="200", error=None, latency_ms=1.0, request="{}"))
    assert clocked.delete_older_than(CUTOFF)["outbox"] == 1
    assert sorted(r.target for r in ob.list_outbox(clocked.engine)) == ["dead", "delivered-new", "pending"]
    from driftwatch.store.alert_tables import outbox_attempts
    with clocked.engine.connect() as conn:  # the deleted row's attempt went with it (ON DELETE CASCADE)
        assert len(conn.execute(select(outbox_attempts.c.id)).all()) == 2


def test_a_run_held_under_a_live_lease_is_kept(clocked: Store, clock) -> None:
    live = clocked.claim_run("churn", _day(2026, 1, 1), owner="backfill", lease=LEASE)
    expired = clocked.claim_run("churn", _day(2026, 1, 2), owner="dead", lease=LEASE)
    no_lease = clocked.start_run("churn", _day(2026, 1, 3), owner="cli")
    clock.advance(minutes=3)
    assert clocked.renew_lease(live, owner="backfill", lease=LEASE)  # type: ignore[arg-type]
    clock.advance(minutes=3)  # live: renewed 3 min ago; expired: 6 min old
    assert clocked.delete_older_than(CUTOFF, batch=2)["runs"] == 2
    assert [r.id for r in clocked.runs()] == [live]
    assert clocked.run(expired) is None and clocked.run(no_lease) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cutoff": datetime(2026, 6, 1)}, "cutoff: must be a timezone-aware datetime"),
    ({"cutoff": "2026-06-01"}, "cutoff: must be a timezone-aware datetime"),
    ({"cutoff": CUTOFF, "batch": 0}, "batch: must be a positive integer"),
    ({"cutoff": CUTOFF, "batch": True}, "batch: must be a positive integer"),
])
def test_arguments_are_checked(clocked: Store, make_result, kwargs: dict[str, Any], message: str) -> None:
    old = _day(2026, 1, 1)
    run_id = _finished(clocked, old, _feature_results(old, make_result, 1))
    with pytest.raises(ValueError, match=message):
        clocked.delete_older_than(**kwargs)
    assert clocked.run(run_id) is not None and len(clocked.results()) == 1
