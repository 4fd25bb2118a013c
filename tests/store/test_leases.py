"""R27: leases on running runs, takeover after expiry, and owners that lost their run."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from driftwatch.model import Window
from driftwatch.store import RunStateError, Store
from driftwatch.store.tables import results as results_table
from driftwatch.store.tables import runs as runs_table

from .conftest import in_threads

LEASE = timedelta(minutes=5)


def _row_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(runs_table)).scalar_one())


def test_claim_inserts_attempt_one_with_a_lease(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert isinstance(run_id, int)
    record = clocked.run(run_id)
    assert record is not None
    assert (record.attempt, record.status, record.owner) == (1, "running", "a")
    assert record.started_at == clock.now
    assert record.lease_expires_at == clock.now + LEASE


def test_claim_is_none_while_another_owner_holds_a_live_lease(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clock.advance(minutes=4)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) is None
    clock.advance(minutes=1)  # now == lease_expires_at: not expired yet (strictly before now)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) is None
    assert clocked.claim_run("churn", days[0], owner="a", lease=LEASE) is None  # not twice, not even by a
    record = clocked.run(run_id)
    assert record is not None and (record.owner, record.lease_expires_at) == ("a", clock.now)
    assert _row_count(clocked) == 1


def test_takeover_after_the_lease_expired(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    clock.advance(minutes=5, microseconds=1)
    taken = clocked.claim_run("churn", days[0], owner="b", lease=timedelta(minutes=2))
    assert taken == run_id  # the same row: the window still has one run
    record = clocked.run(run_id)
    assert record is not None
    assert (record.owner, record.status, record.attempt) == ("b", "running", 1)
    assert (record.started_at, record.lease_expires_at) == (clock.now, clock.now + timedelta(minutes=2))
    assert _row_count(clocked) == 1
    # b's fresh lease is respected in turn.
    assert clocked.claim_run("churn", days[0], owner="c", lease=LEASE) is None


def test_takeover_is_of_the_latest_attempt(clocked: Store, clock, days: list[Window]) -> None:
    first = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert first is not None
    clocked.fail_run(first, "boom")
    rerun = clocked.start_run("churn", days[0], owner="backfill", lease=LEASE)  # attempt 2, then killed
    clock.advance(hours=1)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) == rerun
    statuses = {r.id: (r.attempt, r.status, r.owner) for r in clocked.runs("churn")}
    assert statuses == {first: (1, "failed", "a"), rerun: (2, "running", "b")}


@pytest.mark.parametrize("outcome", ["succeeded", "failed", "skipped"])
def test_claim_of_a_done_window_is_none(clocked: Store, clock, days: list[Window], outcome: str) -> None:
    if outcome == "skipped":
        run_id = clocked.skip_run("churn", days[0], owner="a", reason="too old")
    else:
        run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
        assert run_id is not None
        if outcome == "succeeded":
            clocked.finish_run(run_id, [], rows_reference=1, rows_current=1, owner="a")
        else:
            clocked.fail_run(run_id, "boom", owner="a")
    clock.advance(days=30)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) is None
    record = clocked.run(run_id)  # type: ignore[arg-type]
    assert record is not None and (record.status, record.owner) == (outcome, "a")


def test_run_started_without_a_lease_is_never_taken_over(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.start_run("churn", days[0], owner="cli", rerun=False)
    assert run_id is not None and clocked.run(run_id).lease_expires_at is None  # type: ignore[union-attr]
    clock.advance(days=365)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) is None
    assert clocked.run(run_id).owner == "cli"  # type: ignore[union-attr]


def test_start_run_with_a_lease(clocked: Store, clock, days: list[Window]) -> None:
    claimed = clocked.start_run("churn", days[0], owner="a", rerun=False, lease=LEASE)
    assert claimed is not None
    assert clocked.run(claimed).lease_expires_at == clock.now + LEASE  # type: ignore[union-attr]
    assert clocked.start_run("churn", days[0], owner="b", rerun=False, lease=LEASE) is None
    rerun = clocked.start_run("churn", days[0], owner="b", lease=timedelta(seconds=30))
    assert rerun is not None
    record = clocked.run(rerun)
    assert record is not None and (record.attempt, record.lease_expires_at) == (2, clock.now + timedelta(seconds=30))


def test_concurrent_takeovers_have_exactly_one_winner(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="dead", lease=LEASE)
    clock.advance(minutes=10)
    ids = in_threads(8, lambda i: clocked.claim_run("churn", days[0], owner=f"replica-{i}", lease=LEASE))
    winners = [(i, got) for i, got in enumerate(ids) if got is not None]
    assert len(winners) == 1 and winners[0][1] == run_id
    record = clocked.run(run_id)
    assert record is not None and record.owner == f"replica-{winners[0][0]}"
    assert _row_count(clocked) == 1


def test_takeover_race_at_the_update_itself(clocked: Store, clock, days: list[Window]) -> None:
    """Both claimers have read the expired row before either UPDATEs: still one winner.

    The listener holds each thread just before its takeover UPDATE until both are there, so the
    conditional UPDATE alone has to decide (PostgreSQL: the loser re-checks the winner's row).
    """
    run_id = clocked.claim_run("churn", days[0], owner="dead", lease=LEASE)
    clock.advance(minutes=10)
    at_update = threading.Barrier(2, timeout=30)
    reached: list[str] = []

    def hold(conn, cursor, statement: str, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE RUNS SET OWNER"):
            reached.append(statement)
            at_update.wait()

    event.listen(clocked.engine, "before_cursor_execute", hold)
    try:
        ids = in_threads(2, lambda i: clocked.claim_run("churn", days[0], owner=f"r{i}", lease=LEASE))
    finally:
        event.remove(clocked.engine, "before_cursor_execute", hold)
    assert len(reached) == 2  # both really issued the takeover UPDATE
    assert sorted(ids, key=lambda x: x is None) == [run_id, None]
    winner = ids.index(run_id)
    assert clocked.run(run_id).owner == f"r{winner}"  # type: ignore[union-attr]


def test_renew_lease(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clock.advance(minutes=2)
    assert clocked.renew_lease(run_id, owner="a", lease=LEASE) is True
    assert clocked.run(run_id).lease_expires_at == clock.now + LEASE  # type: ignore[union-attr]
    assert clocked.renew_lease(run_id, owner="b", lease=LEASE) is False
    clock.advance(minutes=6)  # expired, but nobody took it over: still a's to renew
    assert clocked.renew_lease(run_id, owner="a", lease=LEASE) is True
    assert clocked.renew_lease(424242, owner="a", lease=LEASE) is False


def test_renew_lease_is_false_after_a_takeover(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clock.advance(minutes=6)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) == run_id
    successor_lease = clocked.run(run_id).lease_expires_at  # type: ignore[union-attr]
    assert clocked.renew_lease(run_id, owner="a", lease=timedelta(hours=1)) is False
    assert clocked.run(run_id).lease_expires_at == successor_lease  # type: ignore[union-attr]
    assert clocked.renew_lease(run_id, owner="b", lease=LEASE) is True
    clocked.finish_run(run_id, [], rows_reference=None, rows_current=None, owner="b")
    assert clocked.renew_lease(run_id, owner="b", lease=LEASE) is False  # finished: nothing to renew


def test_stale_owner_cannot_finish_or_fail_the_successors_run(clocked: Store, clock, days, make_result) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clock.advance(minutes=6)
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE) == run_id
    with pytest.raises(RunStateError, match=f"run_id: run {run_id} belongs to 'b' now, not 'a'"):
        clocked.finish_run(run_id, [make_result(days[0], feature="zombie")], rows_reference=1, rows_current=1,
                           owner="a")
    with pytest.raises(RunStateError, match="belongs to 'b' now"):
        clocked.fail_run(run_id, "zombie failed", owner="a")
    record = clocked.run(run_id)
    assert record is not None
    assert (record.status, record.owner, record.finished_at, record.error) == ("running", "b", None, None)
    assert clocked.results(run_id=run_id) == []
    # The successor finishes normally; the zombie still cannot touch it afterwards.
    clocked.finish_run(run_id, [make_result(days[0], feature="age")], rows_reference=10, rows_current=5, owner="b")
    with pytest.raises(RunStateError, match="is succeeded, not running"):
        clocked.fail_run(run_id, "zombie failed", owner="a")
    record = clocked.run(run_id)
    assert record is not None and (record.status, record.owner, record.rows_current) == ("succeeded", "b", 5)
    assert [r.feature for r in clocked.results(run_id=run_id)] == ["age"]
    with clocked.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(results_table)).scalar_one() == 1


def test_owner_check_passes_for_the_owner(clocked: Store, clock, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clocked.fail_run(run_id, "boom", owner="a")
    assert clocked.run(run_id).status == "failed"  # type: ignore[union-attr]
    # An expired lease that nobody took over is still the owner's to finish.
    late = clocked.claim_run("churn", days[1], owner="a", lease=LEASE)
    assert late is not None
    clock.advance(hours=2)
    clocked.finish_run(late, [], rows_reference=None, rows_current=None, owner="a")
    assert clocked.run(late).status == "succeeded"  # type: ignore[union-attr]


@pytest.mark.parametrize("lease", [timedelta(0), timedelta(seconds=-1), 300, None])
def test_lease_must_be_a_positive_timedelta(clocked: Store, days: list[Window], lease: Any) -> None:
    with pytest.raises(ValueError, match="lease: must be a positive timedelta"):
        clocked.claim_run("churn", days[0], owner="a", lease=lease)
    if lease is not None:
        with pytest.raises(ValueError, match="lease: must be a positive timedelta"):
            clocked.start_run("churn", days[0], owner="a", lease=lease)
    assert clocked.runs() == []


def test_claim_checks_its_arguments(clocked: Store, days: list[Window]) -> None:
    with pytest.raises(ValueError, match="owner: must be a non-empty string"):
        clocked.claim_run("churn", days[0], owner="", lease=LEASE)
    with pytest.raises(TypeError, match="window: must be a driftwatch Window"):
        clocked.claim_run("churn", (days[0].start, days[0].end), owner="a", lease=LEASE)  # type: ignore[arg-type]
    assert clocked.runs() == []


@pytest.mark.parametrize("outcome", ["failed", "skipped"])
def test_retry_claims_a_new_attempt_after_one_that_did_not_succeed(clocked: Store, clock, days, outcome: str) -> None:
    if outcome == "skipped":
        first = clocked.skip_run("churn", days[0], owner="sched", reason="too old")
    else:
        first = clocked.claim_run("churn", days[0], owner="sched", lease=LEASE)
        clocked.fail_run(first, "boom")  # type: ignore[arg-type]
    assert clocked.claim_run("churn", days[0], owner="backfill", lease=LEASE) is None  # without retry: done
    clock.advance(minutes=1)
    again = clocked.claim_run("churn", days[0], owner="backfill", lease=LEASE, retry=True)
    assert again is not None and again != first
    record = clocked.run(again)
    assert record is not None
    assert (record.attempt, record.status, record.owner, record.lease_expires_at) == (
        2, "running", "backfill", clock.now + LEASE)
    # The new attempt is an ordinary claim: live, it is not claimed again; expired, it is taken over.
    assert clocked.claim_run("churn", days[0], owner="other", lease=LEASE, retry=True) is None
    clock.advance(minutes=6)
    assert clocked.claim_run("churn", days[0], owner="other", lease=LEASE, retry=True) == again
    clocked.fail_run(again, "boom again", owner="other")
    third = clocked.claim_run("churn", days[0], owner="backfill", lease=LEASE, retry=True)
    assert clocked.run(third).attempt == 3  # type: ignore[arg-type,union-attr]


def test_retry_leaves_succeeded_windows_alone(clocked: Store, days: list[Window]) -> None:
    run_id = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    assert run_id is not None
    clocked.finish_run(run_id, [], rows_reference=None, rows_current=None, owner="a")
    assert clocked.claim_run("churn", days[0], owner="b", lease=LEASE, retry=True) is None
    assert clocked.claim_run("churn", days[1], owner="b", lease=LEASE, retry=True) is not None  # new window: attempt 1
    assert [(r.window, r.attempt) for r in clocked.runs("churn")] == [(days[1], 1), (days[0], 1)]


def test_concurrent_retries_have_one_winner(clocked: Store, days: list[Window]) -> None:
    failed = clocked.claim_run("churn", days[0], owner="a", lease=LEASE)
    clocked.fail_run(failed, "boom")  # type: ignore[arg-type]
    ids = in_threads(8, lambda i: clocked.claim_run("churn", days[0], owner=f"b{i}", lease=LEASE, retry=True))
    winners = [got for got in ids if got is not None]
    assert len(winners) == 1
    assert sorted((r.attempt, r.status) for r in clocked.runs("churn")) == [(1, "failed"), (2, "running")]
