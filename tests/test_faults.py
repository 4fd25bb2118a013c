"""Faults under a running driftwatch (issue 12, "Keep it proven"): PostgreSQL restarted under
the daemon, a webhook receiver that fails, trickles and recovers, and a store whose disk turns
read-only.

Each fault is real, not mocked: a throwaway PostgreSQL cluster the test creates on a free port
and stops and starts under a ``driftwatch run`` process; an HTTP server on 127.0.0.1 that answers
500, then sends its status line one byte a second, then 204; a tmpfs remounted read-only, and
store files made immutable (``chattr +i``) under a running ``check`` (root ignores file modes,
not these). A fault the machine cannot make skips with the reason. Everything is seeded; waits
poll with ``wait_for``.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.alerts.dispatcher import Dispatcher
from driftwatch.model import Result, Window
from driftwatch.secrets import Secret
from driftwatch.store import Store
from driftwatch.store import outbox as store_outbox
from driftwatch.webhooks import verify

from .alerts.test_dispatcher import Clock  # the dispatcher's clock, moved only by the test
from .conftest import PG_ENV, free_port, wait_for
from .test_daemon import DRIFTWATCH, Daemon, Project, aware, write_data

UTC = timezone.utc
SECOND = timedelta(seconds=1)


def tracebacks(log: str) -> int:
    return log.count("Traceback (most recent call last)")


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.match(r"\S+ \S+ ERROR ", line)]


def writer_once_read(fifo: Path, timeout: float, what: str) -> int:
    """Wait until a run opens ``fifo`` to read it; return the write end, opened without blocking.
    The run then waits for what the test writes, so "mid-run" is a state the test holds."""
    fds: list[int] = []

    def opened() -> bool:
        try:
            fds.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody reads it yet
                raise
        return bool(fds)

    wait_for(opened, timeout, what)
    return fds[0]


# -- 1. PostgreSQL restarted under a running daemon ----------------------------------------------


def pg_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if p.parent.parent.name.isdigit()]
    return max(versions, key=lambda p: int(p.parent.name)) if versions else None


@dataclass
class Cluster:
    """A PostgreSQL cluster in ``folder`` listening on 127.0.0.1:``port``; ``user`` prefixes its
    commands (``runuser -u postgres --`` under root: PostgreSQL refuses to run as root)."""

    bin: Path
    folder: Path
    port: int
    user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*self.user, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-t", "60",
                        "-l", str(self.folder / "server.log"), "-o", options, *args],
                       check=True, capture_output=True, timeout=90)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A fresh cluster on a free port (not the shared server), stopped and removed at the end."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL tests are off on this machine")
    binaries = pg_bin()
    if binaries is None:
        pytest.skip("initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin")
    user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="dw-pg-"))  # not tmp_path: its parents are root's, mode 0700
    if os.geteuid() == 0:
        try:
            shutil.chown(folder, "postgres", "postgres")
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.skip(f"running as root and no 'postgres' OS user to run a cluster as ({exc})")
        user = ["runuser", "-u", "postgres", "--"]
    made = Cluster(binaries, folder, free_port(), user)
    try:
        subprocess.run([*user, str(binaries / "initdb"), "-D", str(folder / "data"), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True, timeout=120)
        made.ctl("start")
        yield made
    finally:
        subprocess.run([*user, str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


#: How long PostgreSQL stays down: several of the monitor's 1-second windows come due meanwhile.
OUTAGE = timedelta(seconds=3)


def test_postgresql_restarted_under_a_running_daemon_loses_no_window_and_logs_no_flood(
        tmp_path: Path, cluster: Cluster) -> None:
    """The restart is made slow enough to matter: the server stops (``-m fast``) while a run is
    in flight and stays down for several windows before it starts again. The run in flight cannot
    store its outcome, so its window is left ``running`` and taken over when its lease expires;
    the windows due during the outage are caught up; the daemon says so in a few lines."""
    write_data(tmp_path)
    project = Project(tmp_path, cluster.url)
    with Store(cluster.url) as store:  # the tables exist before the first poll
        store.create_all()
    project.slow_folder()
    config = project.write_config({"m": "slow/*.csv"})  # 1-second windows, lease 2 s
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: project.succeeded("m") >= 2, 30, "two windows before the restart")
        fifo = project.block()
        fd = writer_once_read(fifo, 20, "a run reading the FIFO")
        os.unlink(fifo)  # the next runs read data.csv alone
        (in_flight,) = project.running("m")
        log_before = len(daemon.log())
        cluster.ctl("stop", "-m", "fast")
        stopped = time.monotonic()
        os.write(fd, b"ts,x,c\n")  # the run in flight goes on and tries to store its outcome
        os.close(fd)
        wait_for(lambda: "ERROR driftwatch.scheduler" in daemon.log()[log_before:], 20,
                 "the daemon to find the store gone")
        wait_for(lambda: time.monotonic() >= stopped + OUTAGE.total_seconds(), 10, "the outage to last")
        assert daemon.alive(), daemon.log()
        cluster.ctl("start")
        back = datetime.now(UTC)

        def caught_up() -> bool:
            rows = project.runs("m")
            done = {aware(r.window_start) for r in rows if r.status == "succeeded"}
            return aware(in_flight.window_start) in done and any(aware(r.window_end) > back + 3 * SECOND
                                                                 for r in rows if r.status == "succeeded")

        wait_for(caught_up, 30, "the window in flight taken over and three windows after the restart")
        assert daemon.alive(), daemon.log()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(30) == 0, daemon.log()
    finally:
        daemon.kill()

    log = daemon.log()
    rows = project.runs("m")
    try:
        # Each window exactly one run, succeeded: none lost during the outage, none doubled.
        per_window = Counter(aware(r.window_start) for r in rows)
        assert [w for w, n in per_window.items() if n > 1] == [], "a window ran twice"
        assert Counter(r.status for r in rows) == Counter(succeeded=len(rows))
        starts = sorted(per_window)
        assert starts == [starts[0] + k * SECOND for k in range(len(starts))], "a window is missing"
        assert aware(in_flight.window_start) in starts
        taken_over = [r for r in rows if r.id == in_flight.id]
        assert [r.status for r in taken_over] == ["succeeded"]
        # A few lines for the whole outage, not a traceback per tick.
        assert tracebacks(log) == 0
        assert len(error_lines(log)) <= 4, error_lines(log)
        assert f"run {in_flight.id}: the store could not record its outcome" in log
        assert "the store answers again" in log
    except AssertionError as exc:
        dump = "\n".join(map(str, rows))
        raise AssertionError(f"{exc}\nin flight: {in_flight}\nruns:\n{dump}\nlog:\n{log}") from exc


# -- 2. a webhook receiver: 500, then a trickle, then 204 ----------------------------------------


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TIMEOUT = 1.0
#: The trickled answer: 46 bytes at one a second, far beyond ``TIMEOUT``.
TRICKLE = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"


@dataclass
class Seen:
    headers: dict[str, str]
    verified: bool


@dataclass
class Flaky:
    """Answers the 1st request 500, trickles the 2nd one byte a second, answers the rest 204."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    trickle_ended: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    state = Flaky()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verify(SECRET, headers, body)
                verified = True
            except Exception:
                verified = False
            state.seen.append(Seen(headers, verified))
            if len(state.seen) == 1:
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()
            elif len(state.seen) == 2:
                self.close_connection = True
                try:
                    for byte in TRICKLE:
                        self.wfile.write(bytes([byte]))
                        if state.stop.wait(1.0):
                            break
                except OSError:  # the client hung up at its deadline
                    pass
                state.trickle_ended.set()
            else:
                self.send_response(204)
                self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def test_a_receiver_that_fails_then_trickles_then_recovers_gets_the_row_once_with_one_webhook_id(
        tmp_path: Path, flaky: Flaky, no_proxy: None) -> None:
    store = Store(f"sqlite:///{tmp_path / 'dw.db'}")
    store.create_all()
    clock = Clock()
    sink = WebhookSubscription(url=Secret(flaky.url), secret=Secret(SECRET), timeout=TIMEOUT)
    dispatcher = Dispatcher(store, {}, {"sink": sink}, owner="faults", clock=clock, rng=random.Random(12))
    key = "msg_sink_fault_0001"
    payload = json.dumps({"type": "run.failed", "id": key, "timestamp": "2026-11-01T10:00:05Z",
                          "data": {"monitor": "churn", "run_id": 7, "reason": "boom"}})
    try:
        with store.engine.begin() as conn:
            assert store_outbox.enqueue(conn, kind="event", target="sink", monitor="churn", run_id=7,
                                        event_type="run.failed", key=key, payload=payload, now=clock(),
                                        deadline=timedelta(hours=24))
        (row,) = store_outbox.list_outbox(store.engine)
        outcomes = []
        for _ in range(3):  # one pass per attempt, the clock moved to each retry's time
            outcomes += [(o.outcome, o.status) for o in dispatcher.run_once(wait=True)]
            current = store_outbox.get(store.engine, row.id)
            assert current is not None
            if current.state != "pending":
                break
            clock.now = current.next_attempt_at + SECOND
        clock.now += timedelta(days=2)  # long past any retry: nothing more is sent
        assert dispatcher.run_once(wait=True) == []
        wait_for(flaky.trickle_ended.is_set, 10, "the trickling handler to notice the hang-up")
    finally:
        dispatcher.close()
        store.dispose()

    assert outcomes == [("retry", "500"), ("retry", "timeout"), ("delivered", "204")]
    done = store_outbox.get(store.engine, row.id)
    assert done is not None and (done.state, done.attempts) == ("delivered", 3)
    log = store_outbox.attempts(store.engine, row.id)
    assert [(a.attempt, a.outcome, a.status) for a in log] == [(1, "retry", "500"), (2, "retry", "timeout"),
                                                                (3, "delivered", "204")]
    # The trickle would hold the attempt ~38 s; the deadline ends it after about ``timeout``.
    trickled = log[1]
    assert TIMEOUT * 1000 * 0.9 <= trickled.latency_ms < TIMEOUT * 1000 + 3000, trickled
    assert f"timed out after {TIMEOUT:g} s" in (trickled.error or "")
    # Three requests, all signed, all carrying the row's one webhook-id; one 204: delivered once.
    assert len(flaky.seen) == 3
    assert [s.headers["webhook-id"] for s in flaky.seen] == [key] * 3
    assert all(s.verified for s in flaky.seen)


# -- 3. the store's disk read-only ----------------------------------------------------------------


CHECK_MONITOR = """
[store]
url = "sqlite:///{store}"
[[monitors]]
name = "m"
window = "1h"
[monitors.schema]
numeric = ["x"]
categorical = ["c"]
[monitors.current]
type = "file"
path = "{current}"
timestamp_column = "ts"
[monitors.reference]
type = "file"
path = "ref.csv"
[[monitors.detectors]]
type = "drift"
"""


def check_project(folder: Path, store: Path, current: str) -> Path:
    """ref.csv, cur/data.csv (rows every 10 s over the last 3 hours) and a config whose one
    hourly monitor reads ``current`` and keeps its results in ``store``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(12)
    pd.DataFrame({"x": rng.uniform(0, 10, 300).round(3), "c": rng.choice(["a", "b"], 300)}).to_csv(
        folder / "ref.csv", index=False)
    (folder / "cur").mkdir()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    stamps = [(start + k * 10 * SECOND).isoformat() for k in range(3 * 360)]
    pd.DataFrame({"ts": stamps, "x": rng.uniform(0, 10, len(stamps)).round(3),
                  "c": rng.choice(["a", "b"], len(stamps))}).to_csv(folder / "cur" / "data.csv", index=False)
    config = folder / "config.toml"
    config.write_text(CHECK_MONITOR.format(store=store, current=current), encoding="utf-8")
    return config


def check(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([DRIFTWATCH, "check", "--config", str(config)], cwd=config.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored(path: Path, *, disk_read_only: bool = False) -> tuple[list[tuple[Any, ...]], int, int]:
    """(runs as (id, status, attempt), results count, results whose run did not succeed), read
    without writing. On a read-only disk SQLite cannot make its shared-memory index: read the file
    as immutable there (the store was closed cleanly before, so it holds everything)."""
    uri = f"file:{path}?mode=ro" + ("&immutable=1" if disk_read_only else "")
    with sqlite3.connect(uri, uri=True) as conn:
        runs = conn.execute("SELECT id, status, attempt FROM runs ORDER BY id").fetchall()
        results = conn.execute("SELECT count(*) FROM results").fetchone()[0]
        orphans = conn.execute("SELECT count(*) FROM results r LEFT JOIN runs u ON u.id = r.run_id "
                               "WHERE u.status IS NULL OR u.status != 'succeeded'").fetchone()[0]
    return runs, results, orphans


def one_clear_line(stderr: str, store: Path) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and str(store) in lines[0], stderr


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs mounted at ``tmp_path / 'disk'`` (skips where mounting is not permitted)."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a read-only disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root in a namespace that allows it): {made.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_store_on_a_read_only_disk_fails_check_in_one_line_and_keeps_its_history(
        tmp_path: Path, tmpfs: Path) -> None:
    path = tmpfs / "dw.db"
    config = check_project(tmp_path, path, "cur/*.csv")
    window = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC))
    with Store(f"sqlite:///{path}") as store:  # some history: one succeeded run with one result
        store.create_all()
        run_id = store.start_run("m", window, owner="before")
        assert run_id is not None
        store.finish_run(run_id, [Result("m", run_id, window.start, window.end, "drift", "x", "ks", 0.1, 0.5, 0.05,
                                         "ok", {})], rows_reference=300, rows_current=360)
    before = stored(path, disk_read_only=True)
    remount = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    assert remount.returncode == 0, remount.stderr
    proc = check(config)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    one_clear_line(err, path)
    assert f"{tmpfs} is read-only" in err, err
    assert stored(path, disk_read_only=True) == before == ([(run_id, "succeeded", 1)], 1, 0)


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Paths added to the list are made immutable by the test; made mutable again at the end."""
    paths: list[Path] = []
    yield paths
    subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)


def test_a_store_made_read_only_under_a_running_check_fails_in_one_line_and_writes_nothing_half(
        tmp_path: Path, immutable: list[Path]) -> None:
    """The disk cannot be remounted read-only while the store is open for writing, so its files
    are made immutable instead (``chattr +i``, which binds root too and fails writes on open
    files). Not the ``-shm`` file: SQLite maps it into memory, and a write to an immutable
    mapping kills the process with SIGBUS, which no program can turn into a message."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr: cannot make the store's files immutable")
    folder = tmp_path / "store"
    folder.mkdir()
    probe = folder / "probe"
    probe.touch()
    made = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not supported here (a file system without it, or no CAP_LINUX_IMMUTABLE): "
                    f"{made.stderr.strip()}")
    subprocess.run(["chattr", "-i", str(probe)], check=True, capture_output=True)
    probe.unlink()
    path = folder / "dw.db"
    config = check_project(tmp_path, path, "cur/*.csv")
    fifo = tmp_path / "cur" / "zz-block.csv"
    os.mkfifo(fifo)  # the run blocks reading it until the test writes
    proc = check(config)
    try:
        fd = writer_once_read(fifo, 60, "the check's run to read the FIFO")
        runs, _, _ = stored(path)
        assert [status for _, status, _ in runs] == ["running"]
        targets = [path, path.with_name("dw.db-wal"), folder]
        immutable.extend(targets)
        subprocess.run(["chattr", "+i", *map(str, targets)], check=True, capture_output=True)
        os.write(fd, b"ts,x,c\n")
        os.close(fd)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        subprocess.run(["chattr", "-i", *map(str, immutable)], check=True, capture_output=True)
    assert proc.returncode > 0, (proc.returncode, err)  # an error status, not killed by a signal
    one_clear_line(err, path)
    runs, results, orphans = stored(path)
    # The run never claimed success and left no result behind: it is still "running" (nothing
    # could be written to say otherwise) and has no results.
    assert [status for _, status, _ in runs] == ["running"]
    assert (results, orphans) == (0, 0)
