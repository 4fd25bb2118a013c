"""``driftwatch.store.outbox`` on SQLite and PostgreSQL: enqueue, lease claims, attempts, release,
retry, listing and counts (R17, R28).

Every test runs on a SQLite file and, when ``DRIFTWATCH_TEST_POSTGRES_URL`` is set, on a fresh
PostgreSQL database. Claims are checked for what R28 names: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (a row locked elsewhere is skipped, not waited for), a conditional ``UPDATE`` lease on
SQLite (no ``FOR UPDATE`` sent), and no row ever claimed by two owners at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from driftwatch.store import Store
from driftwatch.store import outbox as ob
from driftwatch.store.alert_tables import notify_groups, outbox
from driftwatch.store.outbox import Attempt, OutboxRow

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
DAY = timedelta(hours=24)
LEASE = timedelta(minutes=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outbox.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    made = Store(url)
    made.create_all()
    yield made
    made.dispose()


@pytest.fixture
def pg_store(postgres_database: str) -> Iterator[Store]:
    made = Store(postgres_database)
    made.create_all()
    yield made
    made.dispose()


def put(store: Store, target: str, key: str, *, now: datetime = T0, kind: str = "event", payload: str = "{}",
        deadline: timedelta = DAY, monitor: str = "churn") -> bool:
    with store.engine.begin() as conn:
        return ob.enqueue(conn, kind=kind, target=target, monitor=monitor, run_id=7,
                          event_type="run.failed" if kind == "event" else None, key=key, payload=payload, now=now,
                          deadline=deadline)


def by_key(store: Store, key: str, target: str | None = None) -> OutboxRow:
    [found] = [r for r in ob.list_outbox(store.engine, limit=10_000) if r.key == key and target in (None, r.target)]
    return found


def lease_of(store: Store, row_id: int) -> tuple[str | None, datetime | None]:
    with store.engine.connect() as conn:
        got = conn.execute(sa.select(outbox.c.lease_owner, outbox.c.lease_expires_at).where(outbox.c.id == row_id)).one()
    return got.lease_owner, got.lease_expires_at


def attempt(outcome: str, *, at: datetime = T0, n: int = 1, request: str = "body", status: str | None = "200",
            error: str | None = None) -> Attempt:
    return Attempt(attempt=n, at=at, outcome=outcome, status=status, error=error, latency_ms=12.5, request=request)


# -- enqueue ------------------------------------------------------------------------------------


def test_R17_enqueue_makes_a_pending_row_due_now_with_its_deadline_and_refuses_a_second_copy_of_a_key(
        store: Store) -> None:
    assert put(store, "sink", "msg_a", payload='{"x": 1}') is True
    again = put(store, "sink", "msg_a", payload='{"x": 2}')  # the same event of a rerun window
    assert again is False
    assert put(store, "other", "msg_a") is True  # the same key for another target is its own row
    assert sorted((r.target, r.key) for r in ob.list_outbox(store.engine)) == [("other", "msg_a"), ("sink", "msg_a")]
    row = by_key(store, "msg_a", "sink")
    assert (row.state, row.attempts, row.kind, row.event_type, row.payload) == (
        "pending", 0, "event", "run.failed", '{"x": 1}')
    assert (row.created_at, row.next_attempt_at, row.deadline_at) == (T0, T0, T0 + DAY)
    assert row.delivered_at is None and row.last_status is None and row.last_error is None
    assert lease_of(store, row.id) == (None, None)


def test_R11_enqueue_on_postgresql_reports_a_duplicate_target_and_key_as_not_queued(pg_store: Store) -> None:
    assert put(pg_store, "sink", "msg_a") is True
    assert put(pg_store, "sink", "msg_a") is False
    assert len(ob.list_outbox(pg_store.engine)) == 1


def test_R8_enqueue_is_part_of_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        ob.enqueue(conn, kind="message", target="team", monitor="churn", run_id=7, event_type=None, key="msg_x",
                   payload="{}", now=T0, deadline=DAY)
        raise RuntimeError("the run's transaction fails after queueing")
    assert ob.list_outbox(store.engine) == []


# -- claim --------------------------------------------------------------------------------------


def test_R28_claim_takes_due_rows_oldest_first_under_a_lease_and_leaves_busy_targets_and_future_rows(
        store: Store) -> None:
    put(store, "a", "k1", now=T0 + timedelta(seconds=2))
    put(store, "a", "k2", now=T0)
    put(store, "b", "k3", now=T0 + timedelta(seconds=1))
    put(store, "a", "k4", now=T0 + timedelta(minutes=5))  # not due yet
    put(store, "c", "k5", now=T0)

    got = ob.claim(store.engine, owner="one", now=T0 + timedelta(seconds=3), lease=LEASE, limit=10,
                   skip_targets={"c"})
    assert [r.key for r in got] == ["k2", "k3", "k1"]
    for r in got:
        assert lease_of(store, r.id) == ("one", T0 + timedelta(seconds=3) + LEASE)
    assert lease_of(store, by_key(store, "k5").id) == (None, None)
    # Leased rows are nobody else's until the lease runs out; k5 is free for another owner.
    assert [r.key for r in ob.claim(store.engine, owner="two", now=T0 + timedelta(seconds=4), lease=LEASE)] == ["k5"]
    # k4 came due at +5 min; the rows "one" holds are still leased at +10 min
    assert [r.key for r in ob.claim(store.engine, owner="two", now=T0 + LEASE, lease=LEASE)] == ["k4"]
    # once the lease of "one" has run out its rows go to "two"; k5's lease ends exactly now: still held
    taken = ob.claim(store.engine, owner="two", now=T0 + timedelta(seconds=4) + LEASE, lease=LEASE)
    assert [r.key for r in taken] == ["k2", "k3", "k1"]
    assert all(lease_of(store, r.id)[0] == "two" for r in taken)


def test_R28_claim_respects_its_limit(store: Store) -> None:
    for i in range(5):
        put(store, "a", f"k{i}")
    first = ob.claim(store.engine, owner="one", now=T0, lease=LEASE, limit=2)
    second = ob.claim(store.engine, owner="two", now=T0, lease=LEASE, limit=2)
    third = ob.claim(store.engine, owner="one", now=T0, lease=LEASE, limit=2)
    assert [r.key for r in first + second + third] == ["k0", "k1", "k2", "k3", "k4"]


def test_R28_claim_uses_for_update_skip_locked_on_postgresql_and_a_plain_conditional_update_on_sqlite(
        store: Store) -> None:
    put(store, "a", "k1")
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.upper().split()))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert len(ob.claim(store.engine, owner="one", now=T0, lease=LEASE)) == 1
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.startswith("SELECT") and "FROM OUTBOX" in s]
    updates = [s for s in statements if s.startswith("UPDATE OUTBOX")]
    assert selects and updates
    if store.engine.dialect.name == "postgresql":
        assert any(s.endswith("FOR UPDATE SKIP LOCKED") for s in selects)
    else:
        assert not any("FOR UPDATE" in s for s in statements)
        # the lease is conditional: the UPDATE re-checks that the row is still pending, due and unleased
        assert all("STATE" in u and "LEASE_EXPIRES_AT" in u.split("WHERE", 1)[1] for u in updates)


def test_R28_postgresql_claim_skips_a_row_locked_by_another_transaction_instead_of_waiting(
        pg_store: Store, postgres_database: str) -> None:
    store, url = pg_store, postgres_database
    for i in range(3):
        put(store, "a", f"k{i}")
    locked_id = by_key(store, "k0").id
    other = sa.create_engine(url)
    try:
        with other.begin() as conn:
            conn.execute(sa.select(outbox.c.id).where(outbox.c.id == locked_id).with_for_update())
            started = time.monotonic()
            got = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
            assert time.monotonic() - started < 2.0
            assert [r.key for r in got] == ["k1", "k2"]
        assert [r.key for r in ob.claim(store.engine, owner="two", now=T0, lease=LEASE)] == ["k0"]
    finally:
        other.dispose()


def test_R28_concurrent_claims_from_four_owners_are_disjoint_and_cover_every_row(store: Store, url: str) -> None:
    with store.engine.begin() as conn:
        for i in range(200):
            ob.enqueue(conn, kind="event", target=f"t{i % 3}", monitor="churn", run_id=None, event_type="run.failed",
                       key=f"k{i:03d}", payload="{}", now=T0, deadline=DAY)
    engines = [Store(url) for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in engines]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def work(i: int) -> None:
        try:
            barrier.wait()
            while True:
                got = ob.claim(engines[i].engine, owner=f"owner-{i}", now=T0, lease=LEASE, limit=7)
                if not got:
                    return
                claimed[i].extend(r.id for r in got)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(engines))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for made in engines:
            made.dispose()
    assert not errors, errors
    every = [row_id for ids in claimed for row_id in ids]
    assert len(every) == len(set(every)) == 200
    owners = {}
    for i, ids in enumerate(claimed):
        for row_id in ids:
            owners[row_id] = f"owner-{i}"
    assert all(lease_of(store, row_id)[0] == owner for row_id, owner in owners.items())


# -- finish_attempt, release, retry ---------------------------------------------------------------


def test_R17_finish_attempt_records_each_attempt_and_moves_the_row(store: Store) -> None:
    put(store, "a", "k1")
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
    later = T0 + timedelta(seconds=11)
    assert ob.finish_attempt(store.engine, row, owner="one", next_attempt_at=later,
                             attempt=attempt("retry", status="500", error="HTTP 500", request="x" * 5000))
    current = by_key(store, "k1")
    assert (current.state, current.attempts, current.next_attempt_at) == ("pending", 1, later)
    assert (current.last_status, current.last_error) == ("500", "HTTP 500")
    assert lease_of(store, row.id) == (None, None)

    assert ob.claim(store.engine, owner="one", now=later - timedelta(seconds=1), lease=LEASE) == []
    [row] = ob.claim(store.engine, owner="two", now=later, lease=LEASE)
    assert row.attempts == 1
    assert ob.finish_attempt(store.engine, row, owner="two", next_attempt_at=None,
                             attempt=attempt("delivered", at=later, n=2, status="200"))
    done = by_key(store, "k1")
    assert (done.state, done.attempts, done.delivered_at, done.last_status, done.last_error) == (
        "delivered", 2, later, "200", None)
    log = ob.attempts(store.engine, row.id)
    assert [(a.attempt, a.outcome, a.status, a.at) for a in log] == [(1, "retry", "500", T0),
                                                                     (2, "delivered", "200", later)]
    assert log[0].request == "x" * 1024 and log[0].error == "HTTP 500" and log[0].latency_ms == 12.5
    # a delivered row is never claimed again
    assert ob.claim(store.engine, owner="one", now=later + DAY * 10, lease=LEASE) == []


def test_R17_a_dead_attempt_ends_the_row_and_an_owner_without_the_lease_writes_nothing(store: Store) -> None:
    put(store, "a", "k1")
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
    assert ob.finish_attempt(store.engine, row, owner="intruder", attempt=attempt("delivered"),
                             next_attempt_at=None) is False
    assert by_key(store, "k1").state == "pending" and ob.attempts(store.engine, row.id) == []
    assert ob.finish_attempt(store.engine, row, owner="one", attempt=attempt("dead", status="410", error="gone"),
                             next_attempt_at=None) is True
    dead = by_key(store, "k1")
    assert (dead.state, dead.attempts, dead.last_status, dead.last_error) == ("dead", 1, "410", "gone")
    # a second report for the same claim is refused: the row is no longer pending and leased
    assert ob.finish_attempt(store.engine, row, owner="one", attempt=attempt("retry"), next_attempt_at=T0) is False
    assert len(ob.attempts(store.engine, row.id)) == 1
    assert ob.claim(store.engine, owner="one", now=T0 + DAY * 2, lease=LEASE) == []


def test_R6_a_delivered_message_stamps_its_groups_last_successful_send(store: Store) -> None:
    put(store, "team", "k1", kind="message", monitor="churn")
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
    sent_at = T0 + timedelta(seconds=3)
    assert ob.finish_attempt(store.engine, row, owner="one", attempt=attempt("delivered", at=sent_at),
                             next_attempt_at=None)
    with store.engine.connect() as conn:
        groups = conn.execute(sa.select(notify_groups.c.monitor, notify_groups.c.channel,
                                        notify_groups.c.last_sent_at)).all()
    assert [tuple(g) for g in groups] == [("churn", "team", sent_at)]


def test_R15_release_gives_a_row_back_untried_with_no_attempt_counted(store: Store) -> None:
    put(store, "a", "k1")
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
    hold = T0 + timedelta(seconds=30)
    assert ob.release(store.engine, row, owner="two", next_attempt_at=hold) is False
    assert ob.release(store.engine, row, owner="one", next_attempt_at=hold) is True
    back = by_key(store, "k1")
    assert (back.state, back.attempts, back.next_attempt_at) == ("pending", 0, hold)
    assert lease_of(store, row.id) == (None, None) and ob.attempts(store.engine, row.id) == []
    assert ob.claim(store.engine, owner="two", now=hold - timedelta(seconds=1), lease=LEASE) == []
    assert [r.key for r in ob.claim(store.engine, owner="two", now=hold, lease=LEASE)] == ["k1"]


def test_R17_retry_requeues_a_dead_row_now_with_a_fresh_deadline_and_the_same_key(store: Store) -> None:
    put(store, "a", "msg_same", payload='{"v": 1}')
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE)
    ob.finish_attempt(store.engine, row, owner="one", attempt=attempt("dead", status="410"), next_attempt_at=None)
    later = T0 + timedelta(days=3)
    again = ob.retry(store.engine, row.id, now=later, deadline=timedelta(hours=2))
    assert again is not None
    assert (again.id, again.key, again.payload, again.state) == (row.id, "msg_same", '{"v": 1}', "pending")
    assert (again.next_attempt_at, again.deadline_at, again.delivered_at) == (later, later + timedelta(hours=2), None)
    [claimed] = ob.claim(store.engine, owner="two", now=later, lease=LEASE)
    assert claimed.key == "msg_same"
    assert ob.retry(store.engine, 999_999, now=later, deadline=DAY) is None


# -- list_outbox, attempts, counts ---------------------------------------------------------------


def test_R17_list_outbox_is_newest_first_filters_by_state_and_counts_group_by_target_and_state(store: Store) -> None:
    for i in range(4):
        put(store, "a" if i < 3 else "b", f"k{i}")
    [first] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE, limit=1)
    ob.finish_attempt(store.engine, first, owner="one", attempt=attempt("dead"), next_attempt_at=None)
    [second] = ob.claim(store.engine, owner="one", now=T0, lease=LEASE, limit=1)
    ob.finish_attempt(store.engine, second, owner="one", attempt=attempt("delivered"), next_attempt_at=None)

    assert [r.key for r in ob.list_outbox(store.engine)] == ["k3", "k2", "k1", "k0"]
    assert [r.key for r in ob.list_outbox(store.engine, limit=2)] == ["k3", "k2"]
    assert [r.key for r in ob.list_outbox(store.engine, state="dead")] == ["k0"]
    assert [r.key for r in ob.list_outbox(store.engine, state="delivered")] == ["k1"]
    assert [r.key for r in ob.list_outbox(store.engine, state="pending")] == ["k3", "k2"]
    with pytest.raises(ValueError, match="^state: must be one of pending, delivered, dead"):
        ob.list_outbox(store.engine, state="failed")
    assert ob.counts(store.engine) == {("a", "dead"): 1, ("a", "delivered"): 1, ("a", "pending"): 1,
                                       ("b", "pending"): 1}
    assert ob.attempts(store.engine, by_key(store, "k3").id) == []


# -- a race between two owners finishing at once (PostgreSQL) -------------------------------------


def test_R28_two_owners_finishing_the_first_deliveries_of_one_group_at_once_both_record_them(
        pg_store: Store, postgres_database: str) -> None:
    store, url = pg_store, postgres_database  # SQLite serialises writers: the race needs PostgreSQL
    put(store, "team", "k1", kind="message")
    put(store, "team", "k2", kind="message")
    a, b = Store(url), Store(url)
    [row_a] = ob.claim(a.engine, owner="a", now=T0, lease=LEASE, limit=1)
    [row_b] = ob.claim(b.engine, owner="b", now=T0, lease=LEASE, limit=1)
    a_inserted, b_touched = threading.Event(), threading.Event()

    def a_after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFY_GROUPS"):
            a_inserted.set()
            b_touched.wait(5)  # hold A's transaction open until B has looked for the group row

    def b_before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFY_GROUPS"):
            b_touched.set()

    def b_after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE NOTIFY_GROUPS"):
            b_touched.set()

    event.listen(a.engine, "after_cursor_execute", a_after)
    event.listen(b.engine, "before_cursor_execute", b_before)
    event.listen(b.engine, "after_cursor_execute", b_after)
    results: dict[str, object] = {}

    def finish_a() -> None:
        try:
            results["a"] = ob.finish_attempt(a.engine, row_a, owner="a", attempt=attempt("delivered"),
                                             next_attempt_at=None)
        except Exception as exc:  # reported below
            results["a"] = exc

    thread = threading.Thread(target=finish_a)
    try:
        thread.start()
        a_inserted.wait(5)
        try:
            results["b"] = ob.finish_attempt(b.engine, row_b, owner="b", attempt=attempt("delivered"),
                                             next_attempt_at=None)
        except Exception as exc:  # the bug: a unique violation on notify_groups
            results["b"] = exc
        thread.join(10)
    finally:
        a.dispose()
        b.dispose()
    assert results == {"a": True, "b": True}
    assert [r.state for r in ob.list_outbox(store.engine)] == ["delivered", "delivered"]


def test_starting_an_attempt_counts_it_and_renews_the_lease_so_no_other_replica_sends_it_meanwhile(
        store: Store) -> None:
    # issue 12, defect 2: rows queued behind a slow one must not expire while it is being sent
    put(store, "sink", "k1")
    [row] = ob.claim(store.engine, owner="one", now=T0, lease=timedelta(minutes=1), limit=5)
    later = T0 + timedelta(seconds=50)
    assert ob.start_attempt(store.engine, row, owner="one", at=later, lease=timedelta(minutes=1)) is True
    assert lease_of(store, row.id) == ("one", later + timedelta(minutes=1))
    assert by_key(store, "k1").attempts == 1
    assert ob.claim(store.engine, owner="two", now=T0 + timedelta(seconds=70), lease=timedelta(minutes=1),
                    limit=5) == []  # the claim's own minute is over, the renewed one is not
    assert [a.outcome for a in ob.attempts(store.engine, row.id)] == ["started"]
    assert ob.start_attempt(store.engine, row, owner="two", at=later, lease=timedelta(minutes=1)) is False
