"""``driftwatch run`` as real processes: replicas on one PostgreSQL (R26), ``kill -9`` and
restart (R27), SIGTERM / SIGINT / SIGHUP and config reload (R29), JSON logs.

Every daemon is the installed ``driftwatch`` console script with 1-second windows over a file
connector with a ``timestamp_column``: ``data.csv`` has rows for every second of the next
minutes, written up front. A run is made to take as long as a test needs with a FIFO among the
files a monitor reads: reading it blocks until the test writes to it (or removes it before a
restart), so "mid-run" is a state the test controls rather than a race it hopes to win.
Logs go to files (no pipe can fill up); rows are read straight from the ``runs`` and
``results`` tables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from driftwatch.store import Store

from .conftest import wait_for

UTC = timezone.utc
SECOND = timedelta(seconds=1)
DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))

MONITOR = """
[[monitors]]
name = "{name}"
window = "1s"
schedule = "1s"
max_catchup = 1000
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "{path}"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
"""


# -- helpers ------------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Project:
    folder: Path
    url: str

    @property
    def config(self) -> Path:
        return self.folder / "config.toml"

    def write_config(self, monitors: dict[str, str], *, grace: str = "20s", reload_check: str = "1h",
                     raw: str = "") -> Path:
        """``monitors``: name -> current path; ``raw`` is appended as it is."""
        text = (f'[store]\nurl = "{self.url}"\n[daemon]\nlease = "2s"\nshutdown_grace = "{grace}"\n'
                f'reload_check = "{reload_check}"\n')
        text += "".join(MONITOR.format(name=name, path=path) for name, path in monitors.items()) + raw
        self.config.write_text(text, encoding="utf-8")
        return self.config

    def slow_folder(self) -> Path:
        """``slow/`` holding a copy of the data and ``zz-block.csv``, a FIFO: a run reading
        ``slow/*.csv`` blocks until the FIFO is fed (``feed``) or removed before a restart."""
        folder = self.folder / "slow"
        folder.mkdir(exist_ok=True)
        (folder / "data.csv").write_bytes((self.folder / "data.csv").read_bytes())
        return folder

    def block(self) -> Path:
        fifo = self.folder / "slow" / "zz-block.csv"
        os.mkfifo(fifo)
        return fifo

    def feed(self) -> None:
        with (self.folder / "slow" / "zz-block.csv").open("w") as fifo:
            fifo.write("ts,x,c\n")

    # -- the database ----------------------------------------------------------------------

    def query(self, sql: str, **params: Any) -> list[sa.Row[Any]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(sql), params))
        finally:
            engine.dispose()

    def runs(self, monitor: str | None = None) -> list[sa.Row[Any]]:
        rows = self.query("SELECT id, monitor, window_start, window_end, attempt, status, owner, started_at, "
                          "lease_expires_at FROM runs WHERE monitor NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY id")
        return [r for r in rows if monitor is None or r.monitor == monitor]

    def succeeded(self, monitor: str) -> int:
        return sum(1 for r in self.runs(monitor) if r.status == "succeeded")

    def running(self, monitor: str) -> list[sa.Row[Any]]:
        return [r for r in self.runs(monitor) if r.status == "running"]


def aware(value: datetime | str) -> datetime:
    """A timestamp read back with raw SQL (SQLite gives strings or naive values): aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def write_data(folder: Path) -> None:
    """``ref.csv`` and ``data.csv`` with two rows for every second from a minute ago to 5 minutes on."""
    rng = np.random.default_rng(7)
    pd.DataFrame({"x": rng.uniform(0, 10, 300).round(3), "c": rng.choice(["a", "b"], 300)}).to_csv(
        folder / "ref.csv", index=False)
    start = now().replace(microsecond=0) - timedelta(minutes=1)
    stamps = [(start + k * SECOND).isoformat() for k in range(6 * 60) for _ in range(2)]
    pd.DataFrame({"ts": stamps, "x": rng.uniform(0, 10, len(stamps)).round(3),
                  "c": rng.choice(["a", "b"], len(stamps))}).to_csv(folder / "data.csv", index=False)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    write_data(tmp_path)
    made = Project(tmp_path, f"sqlite:///{tmp_path / 'dw.db'}")
    with Store(made.url) as store:  # the tables exist before the first poll
        store.create_all()
    return made


class Daemon:
    """One ``driftwatch run --no-web`` process logging to a file."""

    def __init__(self, config: Path, log: Path, *options: str) -> None:
        self.log_path = log
        with log.open("ab") as handle:
            self.proc = subprocess.Popen([DRIFTWATCH, *options, "run", "--config", str(config), "--no-web"],
                                         stdout=subprocess.DEVNULL, stderr=handle)

    @property
    def owner_suffix(self) -> str:
        return f":{self.proc.pid}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        assert self.alive(), f"the daemon exited early:\n{self.log()}"
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Started daemons go in this list; any still running at the end is killed."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def check_every_window_once(rows: list[sa.Row[Any]]) -> list[datetime]:
    """One run per window, all ``succeeded`` (attempt 1), consecutive 1-s windows: none lost,
    none doubled. The window starts, oldest first."""
    per_window = Counter(aware(r.window_start) for r in rows)
    assert [w for w, n in per_window.items() if n > 1] == []
    assert Counter(r.status for r in rows) == Counter(succeeded=len(rows)), [r for r in rows if r.status != "succeeded"]
    assert {r.attempt for r in rows} == {1}
    starts = sorted(per_window)
    assert starts == [starts[0] + k * SECOND for k in range(len(starts))], "a window is missing"
    assert all(aware(r.window_end) - aware(r.window_start) == SECOND for r in rows)
    return starts


# -- R26: two replicas on one PostgreSQL ----------------------------------------------------------


@pytest.mark.acceptance
def test_r26_two_replicas_on_postgresql_run_each_window_exactly_once(tmp_path: Path, postgres_database: str,
                                                                     daemons: list[Daemon]) -> None:
    write_data(tmp_path)
    project = Project(tmp_path, postgres_database)
    config = project.write_config({"m": "data.csv"})
    subprocess.run([DRIFTWATCH, "db", "upgrade", "--config", str(config)], check=True, capture_output=True)
    daemons += [Daemon(config, tmp_path / f"replica{k}.log") for k in range(2)]
    wait_for(lambda: project.succeeded("m") >= 1, 30, "the first run")
    time.sleep(60)  # R26: a minute of 1-second windows with both replicas competing
    for daemon in daemons:
        daemon.signal(signal.SIGTERM)
    for daemon in daemons:
        assert daemon.wait(30) == 0, daemon.log()

    rows = project.runs("m")
    starts = check_every_window_once(rows)
    assert len(starts) >= 55, f"only {len(starts)} windows in a minute"
    owners = Counter(r.owner for r in rows)
    assert all(o.endswith(tuple(d.owner_suffix for d in daemons)) for o in owners), owners
    results = project.query("SELECT r.run_id, r.detector, r.feature, r.metric, u.status, u.monitor, "
                            "r.window_start AS rs, u.window_start AS us FROM results r JOIN runs u ON u.id = r.run_id")
    assert results, "succeeded runs store results"
    assert {r.status for r in results} == {"succeeded"}
    assert all(aware(r.rs) == aware(r.us) for r in results)
    keys = Counter((r.run_id, r.feature, r.metric) for r in results)
    assert [k for k, n in keys.items() if n > 1] == []
    assert {r.run_id for r in results} == {r.id for r in rows}, "every succeeded run has its results"
    orphans = project.query("SELECT count(*) AS n FROM results WHERE run_id NOT IN (SELECT id FROM runs)")
    assert orphans[0].n == 0


# -- R27: kill -9 mid-run and restart ------------------------------------------------------------


def test_r27_kill_9_mid_run_then_restart_every_window_succeeds_exactly_once(project: Project,
                                                                           daemons: list[Daemon]) -> None:
    project.slow_folder()
    config = project.write_config({"m": "slow/*.csv"})
    first = Daemon(config, project.folder / "first.log")
    daemons.append(first)
    wait_for(lambda: project.succeeded("m") >= 2, 30, "two runs")
    project.block()

    def stuck() -> list[sa.Row[Any]]:  # running for over a second, its lease renewed meanwhile
        return [r for r in project.running("m") if now() - aware(r.started_at) > 1.2 * SECOND]

    wait_for(lambda: bool(stuck()), 20, "a run blocked on the FIFO")
    (held,) = stuck()
    assert aware(held.lease_expires_at) > aware(held.started_at) + 2 * SECOND, "the heartbeat renews the lease"
    first.proc.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    killed_at = now()
    (left,) = project.running("m")
    assert left.id == held.id and left.owner.endswith(first.owner_suffix)
    expiry = aware(left.lease_expires_at)

    (project.folder / "slow" / "zz-block.csv").unlink()  # the restarted daemon can read the window
    second = Daemon(config, project.folder / "second.log")
    daemons.append(second)

    def taken_over() -> bool:
        run = [r for r in project.runs("m") if r.id == held.id][0]
        return run.status == "succeeded"

    wait_for(taken_over, 30, "the stale run to be taken over")
    count = len(project.runs("m"))
    wait_for(lambda: len(project.runs("m")) >= count + 3, 20, "the daemon to go on")
    second.signal(signal.SIGTERM)
    assert second.wait(30) == 0, second.log()

    rows = project.runs("m")
    try:
        starts = check_every_window_once(rows)
        final = [r for r in rows if r.id == held.id][0]
        assert final.owner.endswith(second.owner_suffix)
        assert aware(final.started_at) > expiry, "taken over only after the lease expired"
        assert aware(final.started_at) > killed_at
        # the windows while the first daemon was blocked and down were caught up, not skipped
        assert aware(held.window_start) in starts and starts[-1] >= aware(held.window_start) + 3 * SECOND
        before = [r for r in rows if r.owner.endswith(first.owner_suffix)]
        after = [r for r in rows if r.owner.endswith(second.owner_suffix)]
        assert len(before) >= 2 and len(after) >= 3 and len(before) + len(after) == len(rows)
    except AssertionError as exc:  # keep what is needed to tell a flake from a bug
        dump = "\n".join(map(str, rows))
        raise AssertionError(f"{exc}\nheld={held}\nrows:\n{dump}\nfirst:\n{first.log()}\nsecond:\n{second.log()}") from exc


# -- R29: signals and reload ---------------------------------------------------------------------


def test_r29_sigterm_stops_claiming_lets_the_running_run_finish_and_exits_0(project: Project,
                                                                           daemons: list[Daemon]) -> None:
    project.slow_folder()
    project.block()
    config = project.write_config({"fast": "data.csv", "slow": "slow/*.csv"})
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("fast") >= 2 and bool(project.running("slow")), 30,
             "fast runs and a blocked slow run")
    signalled = now()
    sent = time.monotonic()
    daemon.signal(signal.SIGTERM)
    time.sleep(2.5)
    assert daemon.alive(), "SIGTERM must wait for the running run (shutdown_grace = 20s)"
    late = [r for r in project.runs() if aware(r.started_at) > signalled + timedelta(seconds=0.3)]
    assert late == [], "no run is claimed after SIGTERM"
    project.feed()
    assert daemon.wait(15) == 0, daemon.log()
    assert time.monotonic() - sent < 20
    slow = project.runs("slow")
    assert [r.status for r in slow] == ["succeeded"], "the running run finished"
    assert [r for r in project.runs() if aware(r.started_at) > signalled + timedelta(seconds=0.3)] == []
    assert project.running("fast") == []
    assert "shutting down" in daemon.log()


def test_r29_sigint_exits_0_and_leaves_nothing_running(project: Project, daemons: list[Daemon]) -> None:
    config = project.write_config({"m": "data.csv"})
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("m") >= 2, 30, "two runs")
    signalled = now()
    daemon.signal(signal.SIGINT)
    assert daemon.wait(10) == 0, daemon.log()
    assert project.running("m") == []
    assert [r for r in project.runs() if aware(r.started_at) > signalled + timedelta(seconds=0.3)] == []
    assert "Traceback" not in daemon.log() and "KeyboardInterrupt" not in daemon.log()


def test_r29_sigterm_after_shutdown_grace_exits_0_leaving_the_run_to_its_lease(project: Project,
                                                                              daemons: list[Daemon]) -> None:
    project.slow_folder()
    project.block()
    config = project.write_config({"slow": "slow/*.csv"}, grace="2s")
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: bool(project.running("slow")), 30, "a blocked run")
    sent = time.monotonic()
    daemon.signal(signal.SIGTERM)
    try:
        code: int | None = daemon.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - sent
    log = daemon.log()
    if daemon.alive():  # unblock it so that it can be cleaned up
        project.feed()
        daemon.wait(10)
    assert "still going" in log, log
    assert code == 0, f"no exit {took:.1f}s after SIGTERM with shutdown_grace = 2s:\n{log}"
    assert 1.8 <= took < 8, took
    assert [r.status for r in project.runs("slow")] == ["running"], "left for another process to take over"


def test_r29_sighup_reloads_the_config_and_a_new_monitor_runs(project: Project, daemons: list[Daemon]) -> None:
    config = project.write_config({"m1": "data.csv"})
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("m1") >= 2, 30, "m1 runs")
    time.sleep(1.5)
    assert project.runs("m2") == []
    project.write_config({"m1": "data.csv", "m2": "data.csv"})
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: project.succeeded("m2") >= 2, 10, "m2's windows")
    count = project.succeeded("m1")
    wait_for(lambda: project.succeeded("m1") >= count + 1, 5, "m1 to go on")
    assert daemon.alive()
    assert "reload: 2 monitor(s)" in daemon.log()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.log()
    check_every_window_once(project.runs("m2"))


def test_r29_invalid_config_on_sighup_is_logged_and_the_old_monitors_keep_running(
        project: Project, daemons: list[Daemon]) -> None:
    config = project.write_config({"m1": "data.csv"})
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("m1") >= 2, 30, "m1 runs")
    project.write_config({"m1": "data.csv", "m2": "data.csv"}, raw='\n[[monitors]]\nname = "bad"\nwindow = "soon"\n')
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "invalid" in daemon.log(), 5, "the reload error in the log")
    count = project.succeeded("m1")
    wait_for(lambda: project.succeeded("m1") >= count + 3, 8, "m1 to keep running")
    assert daemon.alive()
    log = daemon.log()
    assert "config is invalid, keeping the running one" in log
    assert "window" in log.split("config is invalid", 1)[1], "the log names the problem"
    assert project.runs("m2") == []
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.log()


def test_r29_a_changed_config_file_is_reloaded_without_a_signal(project: Project, daemons: list[Daemon]) -> None:
    config = project.write_config({"m1": "data.csv"}, reload_check="1s")
    daemon = Daemon(config, project.folder / "daemon.log")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("m1") >= 2, 30, "m1 runs")
    # an invalid file first: logged, m1 goes on
    config.write_text(config.read_text() + '\n[[monitors]]\nname = "bad"\nwindow = "soon"\n', encoding="utf-8")
    wait_for(lambda: "config is invalid" in daemon.log(), 8, "the invalid config to be noticed")
    count = project.succeeded("m1")
    wait_for(lambda: project.succeeded("m1") >= count + 2, 6, "m1 to keep running")
    # then a valid one with a second monitor
    time.sleep(0.05)  # a new mtime even on coarse clocks
    project.write_config({"m1": "data.csv", "m2": "data.csv"}, reload_check="1s")
    wait_for(lambda: project.succeeded("m2") >= 2, 10, "m2 to run after the file changed")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.log()


# -- structured logs -----------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


def test_json_log_lines_carry_monitor_window_and_run_id(project: Project, daemons: list[Daemon]) -> None:
    config = project.write_config({"m": "data.csv"})
    daemon = Daemon(config, project.folder / "daemon.log", "--log-format", "json")
    daemons.append(daemon)
    wait_for(lambda: project.succeeded("m") >= 3, 30, "three runs")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.log()
    records = json_lines(daemon.log())
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    run_lines = [r for r in records if "run_id" in r]
    assert len(run_lines) >= 3
    rows = {r.id: r for r in project.runs("m")}
    for record in run_lines:
        row = rows[record["run_id"]]
        assert record["monitor"] == "m"
        assert record["window"] == f"[{aware(row.window_start).isoformat()}, {aware(row.window_end).isoformat()})"
        assert str(record["run_id"]) in record["message"] and "succeeded" in record["message"]
    assert any(r["message"] == "shutting down" for r in records)


def test_json_logs_stay_json_when_apscheduler_warns(project: Project, daemons: list[Daemon]) -> None:
    """A run longer than the period makes APScheduler skip fires (max_instances): those warnings
    must reach stderr as JSON lines too."""
    project.slow_folder()
    project.block()
    config = project.write_config({"slow": "slow/*.csv"})
    daemon = Daemon(config, project.folder / "daemon.log", "--log-format", "json")
    daemons.append(daemon)
    wait_for(lambda: bool(project.running("slow")), 30, "a blocked run")
    time.sleep(2.5)  # two or more fires skipped
    project.feed()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(15) == 0, daemon.log()
    records = json_lines(daemon.log())
    assert any("max_instances" in r["message"] for r in records)
