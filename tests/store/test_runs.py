"""Runs: the claim, reruns, and finishing or failing a run in one transaction."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from driftwatch.model import Result, Window
from driftwatch.store import RunStateError, Store

from .conftest import in_threads


def test_claim_conflict_returns_none(store: Store, days: list[Window]) -> None:
    first = store.start_run("churn", days[0], owner="a", rerun=False)
    second = store.start_run("churn", days[0], owner="b", rerun=False)
    assert isinstance(first, int)
    assert second is None
    records = store.runs("churn")
    assert [(r.id, r.attempt, r.owner, r.status) for r in records] == [(first, 1, "a", "running")]
    # Another window or monitor is a separate claim.
    assert store.start_run("churn", days[1], owner="a", rerun=False) is not None
    assert store.start_run("fraud", days[0], owner="a", rerun=False) is not None


def test_concurrent_claims_have_one_winner(store: Store, days: list[Window]) -> None:
    ids = in_threads(8, lambda i: store.start_run("churn", days[0], owner=f"replica-{i}", rerun=False))
    winners = [run_id for run_id in ids if run_id is not None]
    assert len(winners) == 1
    assert [r.id for r in store.runs("churn")] == winners


def test_rerun_gives_next_attempt(store: Store, days: list[Window]) -> None:
    first = store.start_run("churn", days[0], owner="a", rerun=False)
    assert first is not None
    store.finish_run(first, [], rows_reference=1, rows_current=1)
    second = store.start_run("churn", days[0], owner="a")  # rerun=True is the default
    third = store.start_run("churn", days[0], owner="a", rerun=True)
    attempts = {r.id: r.attempt for r in store.runs("churn")}
    assert attempts == {first: 1, second: 2, third: 3}
    assert store.start_run("churn", days[1], owner="a", rerun=True) is not None
    assert store.runs("churn", limit=1)[0].attempt == 1  # a new window starts at attempt 1


def test_concurrent_reruns_all_get_distinct_attempts(store: Store, days: list[Window]) -> None:
    ids = in_threads(8, lambda i: store.start_run("churn", days[0], owner=f"r{i}", rerun=True))
    assert all(isinstance(run_id, int) for run_id in ids)
    assert sorted(r.attempt for r in store.runs("churn")) == list(range(1, 9))


def test_finish_run_stores_results_and_status(store: Store, days: list[Window], make_result) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    results = [make_result(days[0], feature="age", run_id=None),
               make_result(days[0], feature="", metric="share_drifted", run_id=999_999, p_value=None)]
    store.finish_run(run_id, results, rows_reference=1000, rows_current=250)
    record = store.run(run_id)
    assert record is not None
    assert record.status == "succeeded"
    assert record.finished_at is not None and record.finished_at.tzinfo is timezone.utc
    assert record.finished_at >= record.started_at
    assert (record.rows_reference, record.rows_current, record.error) == (1000, 250, None)
    stored = store.results(run_id=run_id)
    assert [r.run_id for r in stored] == [run_id, run_id]  # stamped from the argument
    assert [(r.feature, r.metric, r.p_value) for r in stored] == [("age", "ks", 0.01), ("", "share_drifted", None)]


def test_finish_run_takes_the_window_of_the_run_when_a_result_has_none(store: Store, days, make_result) -> None:
    run_id = store.start_run("churn", days[1], owner="a")
    assert run_id is not None
    bare = Result("churn", None, None, None, "quality", "age", "missing_share", 0.0, None, 0.1, "ok")
    store.finish_run(run_id, [bare], rows_reference=None, rows_current=None)
    (stored,) = store.results(run_id=run_id)
    assert (stored.window_start, stored.window_end) == (days[1].start, days[1].end)


def test_finish_run_is_atomic_on_unserialisable_details(store: Store, days, make_result) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    good = make_result(days[0], feature="age")
    bad = make_result(days[0], feature="income", details={"histogram": {"edges": [object()]}})
    with pytest.raises(TypeError, match=r"details\.histogram\.edges\[0\]: object"):
        store.finish_run(run_id, [good, bad], rows_reference=10, rows_current=10)
    record = store.run(run_id)
    assert record is not None
    assert (record.status, record.finished_at, record.rows_reference) == ("running", None, None)
    assert store.results(run_id=run_id) == []


def test_finish_run_is_atomic_on_database_error(store: Store, days, make_result) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    good = make_result(days[0], feature="age")
    bad = make_result(days[0], feature="income", status="bogus")  # violates the status check
    with pytest.raises(IntegrityError):
        store.finish_run(run_id, [good, bad], rows_reference=10, rows_current=10)
    record = store.run(run_id)
    assert record is not None and record.status == "running"
    assert store.results(monitor="churn") == []
    # The run can still be finished properly afterwards.
    store.finish_run(run_id, [good], rows_reference=10, rows_current=10)
    assert len(store.results(run_id=run_id)) == 1


def test_finish_run_only_once(store: Store, days: list[Window]) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    store.finish_run(run_id, [], rows_reference=None, rows_current=None)
    with pytest.raises(RunStateError, match=f"run_id: run {run_id} is succeeded, not running"):
        store.finish_run(run_id, [], rows_reference=None, rows_current=None)
    with pytest.raises(RunStateError, match=f"run {run_id} is succeeded"):
        store.fail_run(run_id, "late failure")
    with pytest.raises(RunStateError, match="run_id: run 424242 does not exist"):
        store.finish_run(424242, [], rows_reference=None, rows_current=None)
    record = store.run(run_id)
    assert record is not None and (record.status, record.error) == ("succeeded", None)


def test_fail_run_records_error_and_results(store: Store, days: list[Window]) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    error_result = Result("churn", None, days[0].start, days[0].end, "engine", "", "run_error", None, None,
                          None, "error", {"error": "ConnectorError: boom"})
    store.fail_run(run_id, "ConnectorError: boom\n" + "x" * 5000, [error_result])
    record = store.run(run_id)
    assert record is not None
    assert record.status == "failed"
    assert record.finished_at is not None and record.finished_at.tzinfo is timezone.utc
    assert record.error is not None and len(record.error) == 2000
    assert record.error.startswith("ConnectorError: boom\nxxx") and record.error.endswith("…")
    (stored,) = store.results(run_id=run_id)
    assert (stored.status, stored.metric, stored.details) == ("error", "run_error", {"error": "ConnectorError: boom"})


def test_fail_run_short_error_kept_whole(store: Store, days: list[Window]) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    store.fail_run(run_id, "timeout")
    record = store.run(run_id)
    assert record is not None and (record.status, record.error) == ("failed", "timeout")
    assert store.results(run_id=run_id) == []


def test_runs_newest_first_filtered_and_limited(store: Store, days: list[Window]) -> None:
    ids = [store.start_run("churn", days[0], owner="a"), store.start_run("fraud", days[0], owner="a"),
           store.start_run("churn", days[1], owner="a"), store.start_run("churn", days[2], owner="a")]
    assert [r.id for r in store.runs()] == ids[::-1]
    assert [r.id for r in store.runs("churn")] == [ids[3], ids[2], ids[0]]
    assert [r.id for r in store.runs("churn", limit=2)] == [ids[3], ids[2]]
    assert store.runs("nobody") == []
    record = store.runs("fraud")[0]
    assert record.window == days[0] and record.monitor == "fraud"
    with pytest.raises(ValueError, match="limit: must be a positive integer"):
        store.runs(limit=0)


def test_run_missing_is_none(store: Store) -> None:
    assert store.run(987654) is None


def test_clock_is_used_for_started_and_finished(store_url: str, days: list[Window]) -> None:
    times = iter([datetime(2026, 11, 2, 0, 5, tzinfo=timezone.utc), datetime(2026, 11, 2, 0, 7, tzinfo=timezone.utc)])
    with Store(store_url, clock=lambda: next(times)) as store:
        store.create_all()
        run_id = store.start_run("churn", days[0], owner="a")
        assert run_id is not None
        store.finish_run(run_id, [], rows_reference=None, rows_current=None)
        record = store.run(run_id)
    assert record is not None
    assert (record.started_at.minute, record.finished_at and record.finished_at.minute) == (5, 7)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"monitor": "", "owner": "a"}, "monitor: must be a non-empty string"),
    ({"monitor": "churn", "owner": ""}, "owner: must be a non-empty string"),
])
def test_start_run_checks_arguments(store: Store, days: list[Window], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.start_run(kwargs["monitor"], days[0], owner=kwargs["owner"])
    assert store.runs() == []


def test_finish_run_checks_row_counts(store: Store, days: list[Window]) -> None:
    run_id = store.start_run("churn", days[0], owner="a")
    assert run_id is not None
    with pytest.raises(ValueError, match="rows_current: must be a non-negative integer"):
        store.finish_run(run_id, [], rows_reference=1, rows_current=-1)
    record = store.run(run_id)
    assert record is not None and record.status == "running"
