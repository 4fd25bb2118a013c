"""What catch-up and backfill plan with: skipped windows, succeeded windows, the last window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from driftwatch.model import Window
from driftwatch.store import Store

LEASE = timedelta(minutes=5)
KOLKATA = timezone(timedelta(hours=5, minutes=30))


def test_skip_run_records_a_skipped_window(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.skip_run("churn", days[0], owner="sched", reason="catch-up: beyond max_catchup (24)")
    assert isinstance(run_id, int)
    record = clocked.run(run_id)
    assert record is not None
    assert (record.status, record.attempt, record.owner) == ("skipped", 1, "sched")
    assert record.started_at == record.finished_at == clock.now
    assert record.error == "catch-up: beyond max_catchup (24)"
    assert record.window == days[0]
    assert clocked.results(run_id=run_id) == []


def test_skip_run_is_idempotent(clocked: Store, clock, days: list[Window]) -> None:
    first = clocked.skip_run("churn", days[0], owner="a", reason="too old")
    clock.advance(hours=1)
    assert clocked.skip_run("churn", days[0], owner="b", reason="again") is None
    records = clocked.runs("churn")
    assert [(r.id, r.owner, r.error, r.finished_at) for r in records] == [
        (first, "a", "too old", clock.now - timedelta(hours=1))]


def test_skip_run_leaves_an_existing_run_alone(clocked: Store, days: list[Window]) -> None:
    running = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert clocked.skip_run("churn", days[0], owner="b", reason="too old") is None
    record = clocked.run(running)  # type: ignore[arg-type]
    assert record is not None and (record.status, record.owner) == ("running", "a")
    assert len(clocked.runs("churn")) == 1


def test_skip_run_checks_its_arguments(clocked: Store, days: list[Window]) -> None:
    with pytest.raises(ValueError, match="reason: must be a non-empty string"):
        clocked.skip_run("churn", days[0], owner="a", reason="")
    assert clocked.runs() == []


def _succeed(store: Store, monitor: str, window: Window) -> int:
    run_id = store.claim_run(monitor, window, owner="t", lease=LEASE)
    assert run_id is not None
    store.finish_run(run_id, [], rows_reference=None, rows_current=None, owner="t")
    return run_id


def test_succeeded_windows(clocked: Store, days: list[Window]) -> None:
    _succeed(clocked, "churn", days[0])
    failed = clocked.claim_run("churn", days[1], owner="t", lease=LEASE)
    clocked.fail_run(failed, "boom")  # type: ignore[arg-type]
    retried = clocked.claim_run("churn", days[2], owner="t", lease=LEASE)
    clocked.fail_run(retried, "boom")  # type: ignore[arg-type]
    again = clocked.start_run("churn", days[2], owner="t")
    clocked.finish_run(again, [], rows_reference=None, rows_current=None)  # type: ignore[arg-type]
    clocked.start_run("churn", days[2], owner="t")  # a third attempt, still running
    _succeed(clocked, "fraud", days[1])
    everything = (days[0].start, days[2].end)
    assert clocked.succeeded_windows("churn", *everything) == {
        (days[0].start, days[0].end), (days[2].start, days[2].end)}
    assert clocked.succeeded_windows("fraud", *everything) == {(days[1].start, days[1].end)}
    # Only windows wholly inside [since, until].
    assert clocked.succeeded_windows("churn", days[0].start, days[2].end - timedelta(seconds=1)) == {
        (days[0].start, days[0].end)}
    assert clocked.succeeded_windows("churn", days[0].start + timedelta(seconds=1), days[2].end) == {
        (days[2].start, days[2].end)}
    assert clocked.succeeded_windows("nobody", *everything) == set()


def test_succeeded_windows_are_aware_utc_and_match_other_zones(clocked: Store, days: list[Window]) -> None:
    _succeed(clocked, "churn", days[0])
    (window,) = clocked.succeeded_windows("churn", days[0].start.astimezone(KOLKATA), days[2].end.astimezone(KOLKATA))
    assert all(moment.tzinfo is timezone.utc for moment in window)
    assert (days[0].start.astimezone(KOLKATA), days[0].end.astimezone(KOLKATA)) in {window}


def test_succeeded_windows_rejects_naive_bounds(clocked: Store) -> None:
    with pytest.raises(ValueError, match="since: must be a timezone-aware datetime"):
        clocked.succeeded_windows("churn", datetime(2026, 11, 1), datetime(2026, 11, 2, tzinfo=timezone.utc))


def test_last_window_end(clocked: Store, days: list[Window]) -> None:
    assert clocked.last_window_end("churn") is None
    _succeed(clocked, "churn", days[0])
    assert clocked.last_window_end("churn") == days[0].end
    clocked.skip_run("churn", days[2], owner="t", reason="too old")
    assert clocked.last_window_end("churn") == days[2].end
    later = Window(days[2].end, days[2].end + timedelta(days=1))
    clocked.claim_run("churn", later, owner="t", lease=LEASE)  # running counts: catch-up starts after it
    last = clocked.last_window_end("churn")
    assert last == later.end and last is not None and last.tzinfo is timezone.utc
    _succeed(clocked, "fraud", Window(later.end, later.end + timedelta(days=5)))
    assert clocked.last_window_end("churn") == later.end  # other monitors do not count
