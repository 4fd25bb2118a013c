"""The scheduler in-process: ``Runner.tick`` under an injected clock (first tick, catch-up, lease
takeover), retention as a daily singleton (R36), and the ``Daemon``'s APScheduler set-up (R24).

Real parts only: SQLite files in ``tmp_path``, a file connector over a CSV with a
``timestamp_column``, and a real ``BackgroundScheduler`` ticking 1-second windows.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from driftwatch.config import load
from driftwatch.model import Window
from driftwatch.runner import RETENTION, Heartbeat, Runner
from driftwatch.scheduler import INTERNAL, Daemon, start_offset
from driftwatch.store import Store

from .conftest import wait_for

UTC = timezone.utc
#: The injected clock starts 30 s after a whole minute.
T0 = datetime(2026, 11, 2, 0, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

MONITOR = """
[[monitors]]
name = "{name}"
window = "{window}"
schedule = "{schedule}"
max_catchup = {max_catchup}
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "data.csv"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
"""


class Clock:
    """A settable clock shared by the store and the runner."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def write_data(folder: Path, start: datetime, end: datetime, step: timedelta) -> None:
    """``ref.csv`` (no timestamps) and ``data.csv`` with three rows every ``step`` in [start, end)."""
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.uniform(0, 10, 300).round(3), "c": rng.choice(["a", "b"], 300)}).to_csv(
        folder / "ref.csv", index=False)
    stamps = []
    moment = start
    while moment < end:
        stamps += [moment.isoformat()] * 3
        moment += step
    pd.DataFrame({"ts": stamps, "x": rng.uniform(0, 10, len(stamps)).round(3),
                  "c": rng.choice(["a", "b"], len(stamps))}).to_csv(folder / "data.csv", index=False)


def write_config(folder: Path, monitors: list[dict[str, object]], *, daemon: str = "") -> Path:
    text = f'[store]\nurl = "sqlite:///{folder / "dw.db"}"\n[daemon]\n{daemon}\n'
    for monitor in monitors:
        fields: dict[str, object] = {"window": "1m", "schedule": "1m", "max_catchup": 24, **monitor}
        text += MONITOR.format(**fields)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def minute_project(tmp_path: Path) -> Path:
    """One monitor ``m`` with 1-minute windows; data for 2026-11-01 22:00 .. 11-02 04:00."""
    write_data(tmp_path, datetime(2026, 11, 1, 22, tzinfo=UTC), datetime(2026, 11, 2, 4, tzinfo=UTC),
               timedelta(seconds=20))
    write_config(tmp_path, [{"name": "m"}])
    return tmp_path


def runner_for(folder: Path, clock: Clock, owner: str) -> Runner:
    settings = load(folder / "config.toml")
    store = Store(settings.store.url.reveal(), clock=clock)
    store.create_all()
    return Runner(store, settings, owner=owner, clock=clock)


def window_ending(end: datetime, length: timedelta = MINUTE) -> Window:
    return Window(end - length, end)


# -- Runner.tick with an injected clock --------------------------------------------------------


def test_first_tick_runs_only_the_latest_due_window(minute_project: Path, clock: Clock) -> None:
    runner = runner_for(minute_project, clock, "A")
    outcomes = runner.tick(runner.settings.monitor("m"))
    assert [(o.window, o.status) for o in outcomes] == [(window_ending(T0 - timedelta(seconds=30)), "succeeded")]
    runs = runner.store.runs("m")
    assert [(r.window_start, r.status, r.attempt, r.owner) for r in runs] == [
        (datetime(2026, 11, 2, 0, 0, tzinfo=UTC) - MINUTE, "succeeded", 1, "A")]
    assert runner.store.results(run_id=runs[0].id), "a succeeded run stores its results"
    # the same minute again: nothing new is due
    assert runner.tick(runner.settings.monitor("m")) == []
    assert len(runner.store.runs("m")) == 1


def test_catch_up_after_downtime_runs_24_oldest_first_and_records_6_skipped(minute_project: Path,
                                                                            clock: Clock) -> None:
    runner = runner_for(minute_project, clock, "A")
    monitor = runner.settings.monitor("m")
    assert monitor.max_catchup == 24
    first = runner.tick(monitor)
    assert len(first) == 1
    clock.advance(30 * MINUTE)  # down for 30 windows
    outcomes = runner.tick(monitor)
    last_end = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
    expected = [window_ending(last_end - k * MINUTE) for k in range(23, -1, -1)]
    assert [o.window for o in outcomes] == expected  # the newest 24, oldest first
    assert {o.status for o in outcomes} == {"succeeded"}
    runs = runner.store.runs("m", limit=1000)
    skipped = sorted(r.window_start for r in runs if r.status == "skipped")
    assert skipped == [datetime(2026, 11, 2, 0, k, tzinfo=UTC) for k in range(6)]
    assert all("max_catchup=24" in (r.error or "") for r in runs if r.status == "skipped")
    assert len(runs) == 31
    # every window from the first tick's to now has exactly one run: nothing lost, nothing doubled
    starts = sorted(r.window_start for r in runs)
    assert starts == [datetime(2026, 11, 1, 23, 59, tzinfo=UTC) + k * MINUTE for k in range(31)]


def test_expired_claim_of_another_owner_is_taken_over_once_and_a_live_one_is_left_alone(
        minute_project: Path, clock: Clock) -> None:
    runner = runner_for(minute_project, clock, "A")
    monitor = runner.settings.monitor("m")
    runner.tick(monitor)  # window ending 00:00
    # another process claims the window ending 00:01 with a 5-minute lease, then dies
    clock.now = datetime(2026, 11, 2, 0, 1, 5, tzinfo=UTC)
    stale = window_ending(datetime(2026, 11, 2, 0, 1, tzinfo=UTC))
    other = runner.store.claim_run("m", stale, owner="B", lease=timedelta(minutes=5))
    assert other is not None
    clock.now = datetime(2026, 11, 2, 0, 1, 10, tzinfo=UTC)
    assert runner.tick(monitor) == []  # its lease is live: left alone
    held = runner.store.run(other)
    assert held is not None and (held.status, held.owner) == ("running", "B")
    clock.now = datetime(2026, 11, 2, 0, 6, 6, tzinfo=UTC)  # the lease ran out at 00:06:05
    outcomes = runner.tick(monitor)
    assert outcomes[0].window == stale and outcomes[0].run_id == other and outcomes[0].status == "succeeded"
    assert [o.window.end.minute for o in outcomes[1:]] == [2, 3, 4, 5, 6]
    taken = runner.store.run(other)
    assert taken is not None
    assert (taken.status, taken.owner, taken.attempt) == ("succeeded", "A", 1)
    # another tick and a second runner change nothing: the window ends succeeded exactly once
    assert runner.tick(monitor) == []
    assert runner_for(minute_project, clock, "C").tick(monitor) == []
    rows = [r for r in runner.store.runs("m", limit=1000) if r.window_start == stale.start]
    assert [(r.id, r.status) for r in rows] == [(other, "succeeded")]
    assert len(runner.store.results(run_id=other)) > 0


def test_racing_runners_take_over_an_expired_claim_exactly_once(minute_project: Path, clock: Clock) -> None:
    runners = [runner_for(minute_project, clock, f"R{k}") for k in range(4)]
    monitor = runners[0].settings.monitor("m")
    runners[0].tick(monitor)
    stale = window_ending(datetime(2026, 11, 2, 0, 1, tzinfo=UTC))
    clock.now = datetime(2026, 11, 2, 0, 1, 1, tzinfo=UTC)
    run_id = runners[0].store.claim_run("m", stale, owner="dead", lease=timedelta(seconds=30))
    clock.now = datetime(2026, 11, 2, 0, 1, 40, tzinfo=UTC)
    barrier = threading.Barrier(len(runners))
    took: list[int | None] = []

    def race(runner: Runner) -> None:
        barrier.wait()
        outcome = runner.run_window(monitor, stale)
        took.append(None if outcome is None else outcome.run_id)

    threads = [threading.Thread(target=race, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(took, key=lambda v: v is None) == [run_id, None, None, None]
    final = runners[0].store.run(run_id) if run_id is not None else None
    assert final is not None and final.status == "succeeded" and final.owner in {"R0", "R1", "R2", "R3"}


def test_a_lost_lease_is_named_only_when_another_process_has_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                   clock: Clock) -> None:
    """The heartbeat can beat between the run's commit and its own stop: a run this process
    finished is not "lost to another process" (the soak bench saw that line beside "succeeded")."""
    store = Store(f"sqlite:///{tmp_path / 'dw.db'}", clock=clock)
    store.create_all()
    lease = timedelta(minutes=1)
    windows = [Window(clock.now - timedelta(minutes=n + 1), clock.now - timedelta(minutes=n)) for n in (0, 1)]
    mine, theirs = (store.claim_run("m", w, owner="a", lease=lease) for w in windows)
    assert mine is not None and theirs is not None
    store.finish_run(mine, [], rows_reference=1, rows_current=1, owner="a")
    clock.advance(timedelta(minutes=2))
    assert store.claim_run("m", windows[1], owner="b", lease=lease) == theirs  # taken over
    with caplog.at_level(logging.WARNING, logger="driftwatch"):
        for run_id in (mine, theirs):
            assert not store.renew_lease(run_id, owner="a", lease=lease)
            Heartbeat(store, run_id, "a", lease)._say_why_lost()
    assert [r.getMessage() for r in caplog.records] == [f"run {theirs}: lease lost to another process (b)"]
    store.dispose()


def test_a_stopping_runner_claims_nothing(minute_project: Path, clock: Clock) -> None:
    runner = runner_for(minute_project, clock, "A")
    runner.stopping.set()
    assert runner.tick(runner.settings.monitor("m")) == []
    assert runner.store.runs("m") == []


# -- R36: retention ----------------------------------------------------------------------------


def test_r36_retention_deletes_old_runs_and_results_once_a_day(tmp_path: Path, clock: Clock) -> None:
    write_data(tmp_path, datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 11, 2, 1, tzinfo=UTC),
               timedelta(minutes=30))
    write_config(tmp_path, [{"name": "m", "window": "1h", "schedule": "1h"}], daemon='retention = "1d"')
    runner = runner_for(tmp_path, clock, "A")
    monitor = runner.settings.monitor("m")
    old = [Window(datetime(2026, 10, 29, h, tzinfo=UTC), datetime(2026, 10, 29, h + 1, tzinfo=UTC)) for h in range(3)]
    new = [Window(datetime(2026, 11, 1, h, tzinfo=UTC), datetime(2026, 11, 1, h + 1, tzinfo=UTC)) for h in (20, 21)]
    for window in old + new:
        outcome = runner.run_window(monitor, window)
        assert outcome is not None and outcome.status == "succeeded"
    old_results = sum(len(runner.store.results(run_id=r.id)) for r in runner.store.runs("m") if r.window_end <= old[-1].end)
    assert old_results > 0

    deleted = runner.retention()
    assert deleted is not None
    assert deleted["runs"] == 3 and deleted["results"] == old_results
    left = runner.store.runs("m")
    assert sorted(r.window_start for r in left) == [w.start for w in new]
    assert all(runner.store.results(run_id=r.id) for r in left)
    assert runner.store.results(monitor="m", until=old[-1].end) == []
    marker = [r for r in runner.store.runs(RETENTION)]
    assert [(r.status, r.window_start) for r in marker] == [("succeeded", datetime(2026, 11, 2, tzinfo=UTC))]

    # another replica later the same day does nothing, even with something old to delete
    runner.store.skip_run("m", Window(datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 10, 30, 1, tzinfo=UTC)),
                          owner="x", reason="test")
    clock.advance(timedelta(hours=6))
    replica = runner_for(tmp_path, clock, "B")
    assert replica.retention() is None
    assert len(replica.store.runs("m")) == 3
    # the next day it runs again: the cutoff (2026-11-02 06:30) now takes the 11-01 windows too
    clock.advance(timedelta(days=1))
    again = replica.retention()
    assert again is not None and again["runs"] == 3
    assert replica.store.runs("m") == []
    assert len(replica.store.runs(RETENTION)) == 2


def test_retention_unset_keeps_everything(minute_project: Path, clock: Clock) -> None:
    runner = runner_for(minute_project, clock, "A")
    runner.store.skip_run("m", Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)),
                          owner="x", reason="test")
    assert runner.retention() is None
    assert len(runner.store.runs("m")) == 1
    assert runner.store.runs(RETENTION) == []


# -- R24: the daemon's APScheduler ---------------------------------------------------------------


@pytest.fixture
def second_project(tmp_path: Path) -> Path:
    now = datetime.now(UTC).replace(microsecond=0)
    write_data(tmp_path, now - timedelta(minutes=2), now + timedelta(minutes=5), timedelta(seconds=1))
    return tmp_path


def test_r24_memory_job_store_coalesce_max_instances_and_misfire_grace(second_project: Path) -> None:
    write_config(second_project, [{"name": "quarter", "window": "15m", "schedule": "15m"},
                                  {"name": "hourly", "window": "1h", "schedule": "0 * * * *"},
                                  {"name": "daily", "window": "1d", "schedule": "30 6 * * 1-5"}])
    daemon = Daemon(second_project / "config.toml", web=False)
    daemon.start()
    try:
        stores = daemon.scheduler._jobstores
        assert list(stores) == ["default"] and isinstance(stores["default"], MemoryJobStore)
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert {"monitor:quarter", "monitor:hourly", "monitor:daily"} <= set(jobs)
        expected = {"monitor:quarter": 900, "monitor:hourly": 3600, "monitor:daily": 86400}
        for job_id, grace in expected.items():
            job = jobs[job_id]
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, grace), job_id
    finally:
        daemon.stop()


def test_r24_a_raising_job_is_counted_and_logged_and_other_monitors_keep_running(
        second_project: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_config(second_project, [{"name": "good", "window": "1s", "schedule": "1s"},
                                  {"name": "bad", "window": "1s", "schedule": "1s"}],
                 daemon='shutdown_grace = "5s"')
    daemon = Daemon(second_project / "config.toml", web=False)
    real = daemon.store.last_window_end

    def failing(monitor: str) -> datetime | None:
        if monitor == "bad":
            raise RuntimeError("injected: the store failed for bad")
        return real(monitor)

    daemon.store.last_window_end = failing  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="driftwatch")
    daemon.start()
    try:
        wait_for(lambda: daemon.events["error"] >= 3, 10, "three job errors")
        count = len([r for r in daemon.store.runs("good") if r.status == "succeeded"])
        wait_for(lambda: len([r for r in daemon.store.runs("good") if r.status == "succeeded"]) >= count + 2, 10,
                 "the good monitor to keep running")
        assert daemon.scheduler.running
    finally:
        daemon.stop()
    assert daemon.store.runs("bad") == []
    assert any("job monitor:bad raised" in r.getMessage() and "injected" in r.getMessage()
               for r in caplog.records if r.levelno == logging.ERROR)


def test_r24_a_job_still_running_counts_max_instances(second_project: Path) -> None:
    write_config(second_project, [{"name": "slow", "window": "1s", "schedule": "1s"}],
                 daemon='shutdown_grace = "5s"')
    daemon = Daemon(second_project / "config.toml", web=False)
    real = daemon.store.last_window_end

    def slow(monitor: str) -> datetime | None:
        time.sleep(2.5)
        return real(monitor)

    daemon.store.last_window_end = slow  # type: ignore[method-assign]
    daemon.start()
    try:
        wait_for(lambda: daemon.events["max_instances"] >= 1, 10, "a max_instances event")
    finally:
        daemon.stop()
    assert daemon.events["error"] == 0


# -- daemon.spread: monitors on one schedule start at fixed offsets ----------------------------


def test_start_offsets_are_fixed_per_name_spread_over_the_span_and_capped_by_the_period() -> None:
    spread, hour = timedelta(seconds=15), timedelta(hours=1)
    offsets = [start_offset(f"monitor-{i}", hour, spread) for i in range(500)]
    assert offsets == [start_offset(f"monitor-{i}", hour, spread) for i in range(500)]  # same every time
    assert all(timedelta(0) <= o < spread for o in offsets)
    seconds = np.array([o.total_seconds() for o in offsets])
    # roughly uniform over [0, 15): every 1.5 s tenth of the span holds some of the 500
    assert np.histogram(seconds, bins=10, range=(0, 15))[0].min() > 20
    assert all(start_offset(f"monitor-{i}", timedelta(seconds=1), spread) <= timedelta(seconds=0.25)
               for i in range(50))
    assert start_offset("monitor-1", hour, timedelta(0)) == timedelta(0)


@pytest.mark.parametrize("spread", ["0s", "15s"])
def test_each_job_fires_at_its_instant_plus_its_offset(second_project: Path, spread: str) -> None:
    write_config(second_project, [{"name": "hourly", "window": "1h", "schedule": "0 * * * *"}],
                 daemon=f'spread = "{spread}"')
    daemon = Daemon(second_project / "config.toml", web=False)
    daemon.start()
    try:
        job = daemon.scheduler.get_job("monitor:hourly")
        now = datetime.now(UTC)
        top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        offset = start_offset("hourly", timedelta(hours=1), timedelta(seconds=int(spread[:-1])))
        assert (spread == "0s") == (offset == timedelta(0))
        assert job.trigger.get_next_fire_time(None, now) == top + offset
        # the tick sees the same offset: the window ending at `top` is not due before top + offset
        monitor = job.args[0]
        assert monitor.schedule.latest_end(top + offset) == top
        if offset:
            assert monitor.schedule.latest_end(top + offset - timedelta(milliseconds=1)) == top - timedelta(hours=1)
    finally:
        daemon.stop()


def test_the_daemons_own_jobs_run_on_their_own_executor_apart_from_the_monitors(second_project: Path) -> None:
    """A pool busy with monitors (daemon.workers = 1 here) must not hold back notifications."""
    write_config(second_project, [{"name": "m"}], daemon="workers = 1")
    daemon = Daemon(second_project / "config.toml", web=False)
    daemon.start()
    try:
        executors = {job.id: job.executor for job in daemon.scheduler.get_jobs()}
        assert executors == {"monitor:m": "default", "reload-check": INTERNAL, "retention": INTERNAL,
                             "dispatcher": INTERNAL}
        assert daemon.scheduler._lookup_executor("default")._pool._max_workers == 1
    finally:
        daemon.stop()
