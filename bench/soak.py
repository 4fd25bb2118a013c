"""Soak: real daemon replicas under SIGKILL, a signed-webhook receiver, and a table of what was lost.

Issue 12, "Keep it proven". The bench starts ``--replicas`` ``driftwatch run`` processes (3 on one
PostgreSQL database it creates and drops, or 1 on SQLite with ``--store sqlite``) with two
monitors on ``--window``-second windows, a webhook subscription to every event type, and a
receiver on 127.0.0.1 (a thread of this process) that verifies every signature (an HMAC-SHA256
written here, and the ``standardwebhooks`` package when it is installed) and records every
delivery by ``webhook-id``. Then, for ``--minutes``/``--seconds``:

* **Data that drifts and comes back.** Each monitor reads one folder per window through the file
  connector (``data/<monitor>/{start:%Y%m%dT%H%M%S}``): ``rows.csv`` drawn from the reference's
  distribution (clean) or shifted (drift) in seeded alternating stretches of 1-3 windows, and now
  and then a window whose CSV cannot be parsed (a failed run: ``run.failed``). Monitor ``soak-a``
  fires and resolves on one run with retraining on the drift share; ``soak-b`` needs two runs.
* **Runs slow enough to be killed.** Each window folder also holds ``aa-gate.csv``, a FIFO read
  before the rows: a thread here answers every reader only after a seeded 50-75 % of the window
  (the header, no rows), so a run outlives ``daemon.lease`` (40 % of the window) and most of the
  time some replica is mid-run. No CPU is burnt to make runs slow. Once the kills are over,
  readers are answered at once, so the replicas catch up and a quiet moment to stop comes.
* **SIGKILL every 20-60 s (seeded)**, each aimed at a moment: *mid-run* (a replica owning a
  ``running`` run), *mid-send* (the replica whose dispatcher's request the receiver is holding:
  found from the outbox row's ``lease_owner``), or any replica; the killed replica is restarted
  1-5 s later. The receiver holds each request a seeded 0.5-2.5 s, and answers 500 to the first
  attempt of a few ids (retried after ~10 s).
* **A clean stop**: kills end ``lease + window + 3 s`` before the end; at the end, once every
  window due has a finished run, no run is running, the outbox has no pending row and no window
  is about to fall due, every replica gets SIGTERM and must exit 0.

Then the store is read back and a table printed:

* windows expected (every window from each monitor's first to the last one due before the stop) /
  succeeded / failed (and how many were planned to fail) / duplicated (more than one succeeded run)
  / missing / left running; ``late`` counts runs the daemon stored without moving alerts (their
  window was older than one already judged; see ``late_run_ids``), ``out of order`` judged runs
  that moved alerts after a newer window had;
* events expected: the judged runs' stored results replayed per monitor in window order through
  the daemon's own state machine (``driftwatch.alerts.state``) with the monitor's policy, and the
  events that ``driftwatch.alerts.evaluate`` derives from each step (``replay``), each named by its
  ``webhook-id``; delivered (distinct ids the receiver accepted) / duplicated by id (acceptances
  beyond the first: at-least-once, counted, allowed) / missing / extra / content differs (same id,
  other run, window or figures); alert states at the end that differ from the replay's;
* signature failures, outbox rows left pending or dead, replicas that exited on their own or did
  not exit 0 on SIGTERM.

Target: every count of loss, duplication and disorder 0, except deliveries duplicated with the
same id. The exit status is 1 when a target is missed (the failing rows are named), 0 otherwise.

Run:   python bench/soak.py --minutes 10 [--store postgres|sqlite] [--replicas 3] [--seed 1]
                            [--postgres-url URL] [--keep]
Quick: python bench/soak.py --quick [--store sqlite]   (the seeded 40-second variant the test suite runs)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from driftwatch.alerts.evaluate import ENGINE_DETECTOR, RUN_FAILED
from driftwatch.alerts.state import AlertKey, AlertState, Observation, Policy, observe, step
from driftwatch.config import MonitorSettings, load
from driftwatch.scheduler import start_offset
from driftwatch.store import Store
from driftwatch.webhooks import message_id

UTC = timezone.utc
DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MONITORS = ("soak-a", "soak-b")
#: A failed run moves only this alert, with this policy (as ``alerts.evaluate`` does).
RUN_FAILED_POLICY = Policy(for_runs=1, keep_firing_runs=1)
COLUMNS = ("x", "y", "c")
#: What the kills aim at, in turn: a replica mid-run, one mid-send, any replica.
KILL_MODES = ("run", "send", "run", "any")
RUNNING = "SELECT id, monitor, window_start, owner FROM runs WHERE status = 'running'"
CATEGORIES = ("a", "b", "c", "d")


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Soak:
    """One soak's knobs; ``parse_args`` fills them in from the command line."""

    store: str = "postgres"
    seconds: float = 600.0
    replicas: int = 3
    seed: int = 1
    window: int = 30
    lease: float = 12.0
    run: tuple[float, float] = (15.0, 22.5)
    kill_every: tuple[float, float] = (20.0, 60.0)
    restart_after: tuple[float, float] = (1.0, 5.0)
    receiver_delay: tuple[float, float] = (0.5, 2.5)
    receiver_errors: float = 0.05
    broken_share: float = 0.07
    rows: int = 400
    postgres_url: str = DEFAULT_POSTGRES
    keep: bool = False

    @property
    def settle(self) -> float:
        """Seconds before the end when kills stop: time for the last killed run's lease to expire,
        the next tick to take it over and its events to be sent."""
        return self.lease + self.window + 3.0


#: The short seeded variant (``--quick``, and ``tests/test_soak.py``): ~40 s of 6-second windows.
QUICK = {"seconds": 40.0, "window": 6, "lease": 4.0, "run": (2.5, 3.8), "kill_every": (6.0, 10.0),
         "restart_after": (0.5, 1.5), "receiver_delay": (0.3, 1.0), "receiver_errors": 0.0,
         "broken_share": 0.1, "rows": 300}


def _span(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    pair = (float(low), float(high or low))
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH seconds with 0 <= LOW <= HIGH, got {text!r}")
    return pair


def parse_args(argv: Sequence[str] | None = None) -> Soak:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long the soak runs (default 10)")
    length.add_argument("--seconds", type=float, help="the same in seconds")
    parser.add_argument("--quick", action="store_true",
                        help="the short seeded variant: 40 s, 6-second windows, lease 4 s, kills every 6-10 s")
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--replicas", type=int, help="daemon processes (default 3 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--window", type=int, help="window length in seconds (default 30; 6 with --quick)")
    parser.add_argument("--lease", type=float, help="daemon.lease in seconds (default 40 %% of the window)")
    parser.add_argument("--run", type=_span, help="seconds a run is held at its gate, LOW-HIGH "
                                                  "(default 50-75 %% of the window)")
    parser.add_argument("--kill-every", type=_span, help="seconds between kills, LOW-HIGH (default 20-60)")
    parser.add_argument("--receiver-errors", type=float, help="share of ids whose first attempt gets 500")
    parser.add_argument("--postgres-url", default=os.environ.get("DRIFTWATCH_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="a PostgreSQL URL whose server the soak database is created on (and dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (config, data, replica logs)")
    args = parser.parse_args(argv)
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    if args.minutes is not None or args.seconds is not None:
        values["seconds"] = args.seconds if args.seconds is not None else args.minutes * 60
    if args.window or not args.quick:  # lease and runs follow the window
        window = args.window or 30
        values.update(window=window, lease=round(0.4 * window, 1), run=(0.5 * window, 0.75 * window))
    for key in ("lease", "run", "kill_every", "receiver_errors"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    values["replicas"] = args.replicas or (3 if args.store == "postgres" else 1)
    soak = Soak(store=args.store, seed=args.seed, postgres_url=args.postgres_url, keep=args.keep, **values)
    if soak.replicas < 1 or soak.window < 2 or soak.seconds <= soak.settle:
        parser.error(f"need --replicas >= 1, --window >= 2 and a soak longer than {soak.settle:g} s "
                     "(lease + window + 3 s: the quiet time before the stop)")
    return soak


# -- the data -------------------------------------------------------------------------------------


def phases(seed: int, monitor: str, count: int, broken_share: float) -> list[str]:
    """``clean``/``drift``/``broken`` for ``count`` windows: alternating stretches of 1-3 windows,
    clean first, a few windows broken (never the first, never two in a row)."""
    rng = random.Random(f"{seed}:{monitor}")
    out: list[str] = []
    kind = "clean"
    while len(out) < count:
        out += [kind] * rng.randint(1, 3)
        kind = "drift" if kind == "clean" else "clean"
    out = out[:count]
    for i in range(1, count):
        if out[i - 1] != "broken" and rng.random() < broken_share:
            out[i] = "broken"
    return out


def frame(rng: np.random.Generator, rows: int, drift: bool) -> pd.DataFrame:
    """Clean rows follow the reference; drifting ones move every column (a data-set drift)."""
    shift = 1.0 if drift else 0.0
    shares = [0.1, 0.2, 0.3, 0.4] if drift else [0.4, 0.3, 0.2, 0.1]
    return pd.DataFrame({"x": rng.normal(shift, 1.0, rows).round(4), "y": rng.exponential(1.0 + shift, rows).round(4),
                         "c": rng.choice(CATEGORIES, rows, p=shares)})


@dataclass
class Data:
    """The data folders of every window the soak may read, and the plan of each."""

    folder: Path
    window: int
    plan: dict[tuple[str, datetime], str] = field(default_factory=dict)  # (monitor, window start) -> phase
    gates: list[tuple[str, datetime, Path]] = field(default_factory=list)

    def path(self, monitor: str) -> str:
        return str(self.folder / monitor / "{start:%Y%m%dT%H%M%S}")


def write_data(folder: Path, soak: Soak, first: datetime, last: datetime) -> Data:
    """A reference per monitor and a folder for every window starting in ``[first, last]``."""
    data = Data(folder, soak.window)
    step_ = timedelta(seconds=soak.window)
    count = int((last - first) / step_) + 1
    for m, monitor in enumerate(MONITORS):
        base = folder / monitor
        base.mkdir(parents=True)
        frame(np.random.default_rng([soak.seed, m, 0]), 2000, drift=False).to_csv(base / "reference.csv", index=False)
        for k, phase in enumerate(phases(soak.seed, monitor, count, soak.broken_share)):
            start = first + k * step_
            here = base / f"{start:%Y%m%dT%H%M%S}"
            here.mkdir()
            if phase == "broken":  # an unterminated quote: the connector fails, the run fails
                (here / "rows.csv").write_text('x,y,c\n1,2,"unterminated\n', encoding="utf-8")
            else:
                rng = np.random.default_rng([soak.seed, m, k + 1])
                frame(rng, soak.rows, drift=phase == "drift").to_csv(here / "rows.csv", index=False)
            gate = here / "aa-gate.csv"  # read first (files are read in name order)
            os.mkfifo(gate)
            data.plan[(monitor, start)] = phase
            data.gates.append((monitor, start, gate))
    return data


class Gates(threading.Thread):
    """Holds every reader of a window's FIFO gate for a seeded time, then gives it a header.

    A reader is noticed by opening the FIFO for writing without blocking (ENXIO while nobody
    reads). A reader killed while held leaves a broken pipe, which is ignored; the next reader
    (the replica that takes the run over) is held again.
    """

    def __init__(self, data: Data, soak: Soak) -> None:
        super().__init__(name="soak-gates", daemon=True)
        self.data = data
        self.stop = threading.Event()
        #: How long a reader is held, LOW-HIGH seconds; (0, 0) once kills are over, so the replicas
        #: catch up at once and the soak can stop at a quiet moment.
        self.hold = soak.run
        self.served = 0
        self.broken = 0
        self._held: dict[Path, tuple[int, float]] = {}
        self._rng = random.Random(f"{soak.seed}:gates")

    def run(self) -> None:
        header = (",".join(COLUMNS) + "\n").encode()
        while not self.stop.wait(0.05):
            now = time.monotonic()
            wall = datetime.now(UTC)
            for _, start, gate in self.data.gates:
                held = self._held.get(gate)
                if held is not None:
                    fd, until = held
                    if now >= until:
                        del self._held[gate]
                        # A fresh FIFO takes the path before this reader is let go, so the next
                        # reader (a take-over) waits for its own turn, and this one, still open,
                        # can never be mistaken for a new reader.
                        fresh = gate.with_name(".aa-gate.tmp")
                        os.mkfifo(fresh)
                        os.replace(fresh, gate)
                        try:
                            os.write(fd, header)
                            self.served += 1
                        except OSError:  # the reader was killed while held
                            self.broken += 1
                        finally:
                            os.close(fd)
                    continue
                if start > wall:
                    continue
                try:
                    fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # ENXIO: no reader now
                    continue
                os.set_blocking(fd, True)
                self._held[gate] = (fd, now + self._rng.uniform(*self.hold))
        for fd, _ in self._held.values():
            os.close(fd)


# -- the receiver ---------------------------------------------------------------------------------


def hmac_verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> str | None:
    """``None`` if a ``v1`` signature of ``headers`` is HMAC-SHA256(key, "id.timestamp.body") in
    base64, with the timestamp within ``tolerance`` seconds; else why not. Written from the
    Standard Webhooks spec, not with driftwatch's ``verify``."""
    msg_id, stamp, signatures = (headers.get(k, "") for k in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "missing header"
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return f"bad timestamp {stamp!r}"
    raw = secret.removeprefix("whsec_")
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "no matching v1 signature"


def library_verify(secret: str, headers: dict[str, str], body: bytes) -> str | None:
    """The ``standardwebhooks`` package's verdict (``None``: accepted, or not installed)."""
    try:
        from standardwebhooks import Webhook
    except ImportError:
        return None
    try:
        Webhook(secret).verify(body, headers)
    except Exception as exc:  # its WebhookVerificationError, or anything it raises on bad input
        return f"standardwebhooks: {exc}"
    return None


@dataclass(frozen=True)
class Delivery:
    """One request the receiver accepted (verified, answered or not)."""

    id: str
    type: str
    body: dict[str, Any]
    at: float


class Receiver:
    """A webhook endpoint on 127.0.0.1 in threads of this process."""

    def __init__(self, secret: str, soak: Soak) -> None:
        self.secret, self.soak = secret, soak
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.signature_failures: list[str] = []
        self.refused = 0  # 500s given on purpose
        self.inflight: dict[str, float] = {}
        self._attempts: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="soak-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _roll(self, msg_id: str, attempt: int, salt: str) -> float:
        digest = hashlib.sha256(f"{self.soak.seed}:{msg_id}:{attempt}:{salt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        problem = hmac_verify(self.secret, headers, body) or library_verify(self.secret, headers, body)
        event: dict[str, Any] = {}
        if problem is None:
            try:
                event = json.loads(body)
            except ValueError:
                problem = "body is not JSON"
        msg_id = headers.get("webhook-id", "")
        if problem is None and event.get("id") != msg_id:
            problem = f"body id {event.get('id')!r} is not the webhook-id {msg_id!r}"
        status = 200
        with self.lock:
            if problem is not None:
                self.signature_failures.append(f"{msg_id or '?'}: {problem}")
                status = 401
            else:
                self._attempts[msg_id] += 1
                attempt = self._attempts[msg_id]
                if attempt == 1 and self._roll(msg_id, attempt, "error") < self.soak.receiver_errors:
                    self.refused += 1
                    status = 500
                else:
                    self.deliveries.append(Delivery(msg_id, str(event.get("type")), event, time.monotonic()))
                    self.inflight[msg_id] = time.monotonic()
        if status == 200:
            low, high = self.soak.receiver_delay
            time.sleep(low + (high - low) * self._roll(msg_id, self._attempts[msg_id], "delay"))
            with self.lock:
                self.inflight.pop(msg_id, None)
        try:
            request.send_response(status)
            request.send_header("content-length", "0")
            request.end_headers()
        except OSError:  # the sender was killed while its request was held
            pass

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# -- the replicas ---------------------------------------------------------------------------------


@dataclass
class Replica:
    index: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


class Replicas:
    """The ``driftwatch run`` processes: started, killed, restarted, stopped; logs in files."""

    def __init__(self, count: int, config: Path, folder: Path, say: Callable[[str], None]) -> None:
        self.config, self.say = config, say
        self.replicas = [Replica(i, folder / f"replica-{i}.log") for i in range(count)]
        self.unexpected_exits: list[str] = []
        self.exit_codes: dict[int, int | None] = {}
        # A DRIFTWATCH_<SECTION>__<KEY> in our environment would override the soak's config.
        self.env = {k: v for k, v in os.environ.items() if not (k.startswith("DRIFTWATCH_") and "__" in k)}

    def start(self, replica: Replica) -> None:
        with replica.log.open("ab") as log:
            replica.proc = subprocess.Popen([DRIFTWATCH, "run", "--config", str(self.config), "--no-web"],
                                            stdout=subprocess.DEVNULL, stderr=log, env=self.env,
                                            start_new_session=True)
        replica.restart_at = None

    def by_pid(self, pid: int) -> Replica | None:
        return next((r for r in self.replicas if r.pid == pid), None)

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.pid is not None]

    def kill(self, replica: Replica, restart_in: float) -> None:
        assert replica.proc is not None
        replica.proc.kill()
        replica.proc.wait()
        replica.restart_at = time.monotonic() + restart_in

    def poll(self) -> None:
        """Restart what is due; notice a replica that died on its own (and restart it)."""
        now = time.monotonic()
        for r in self.replicas:
            if r.restart_at is not None and now >= r.restart_at:
                self.start(r)
                self.say(f"restart replica {r.index} (pid {r.pid})")
            elif r.proc is not None and r.restart_at is None and r.proc.poll() is not None:
                self.unexpected_exits.append(f"replica {r.index} (pid {r.proc.pid}) exited {r.proc.returncode}")
                self.say(f"replica {r.index} exited on its own with {r.proc.returncode}; restarting")
                self.start(r)

    def terminate(self, grace: float) -> None:
        """SIGTERM every live replica at once (one killed a moment ago is started first), then wait."""
        for r in self.replicas:
            if r.restart_at is not None:
                self.start(r)
                time.sleep(3.0)  # let it get past start-up before it is asked to stop
        for r in self.replicas:
            if r.pid is not None:
                assert r.proc is not None
                r.proc.send_signal(signal.SIGTERM)
        for r in self.replicas:
            if r.proc is None:
                continue
            try:
                self.exit_codes[r.index] = r.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.exit_codes[r.index] = None
                r.proc.kill()
                r.proc.wait()

    def kill_all(self) -> None:
        """Last resort (an exception in the bench): no replica outlives it."""
        for r in self.replicas:
            if r.pid is not None:
                assert r.proc is not None
                r.proc.kill()
                r.proc.wait()
            r.restart_at = None


# -- the store ------------------------------------------------------------------------------------


@contextmanager
def soak_database(soak: Soak, folder: Path) -> Iterator[str]:
    """The store URL: a fresh PostgreSQL database ``soak_<random>`` dropped afterwards (kept with
    ``--keep``), or SQLite in ``folder``."""
    if soak.store == "sqlite":
        yield f"sqlite:///{folder / 'soak.db'}"
        return
    name = f"soak_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(soak.postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(soak.postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if soak.keep:
            print(f"kept database {name} (DROP DATABASE \"{name}\" when done)")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def late_run_ids(engine: sa.Engine) -> set[int]:
    """Runs the daemon stored without moving alert states because their window was older than one
    it had already judged (issue 12, defect 1). The one place that knows how they are marked:
    a ``late_runs`` table keyed by ``run_id``, or a boolean ``late`` column of ``runs``; before
    that fix there is no marker and every judged run counts."""
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        if inspector.has_table("late_runs"):
            return {int(row[0]) for row in conn.execute(sa.text("SELECT run_id FROM late_runs"))}
        if "late" in {c["name"] for c in inspector.get_columns("runs")}:
            return {int(row[0]) for row in conn.execute(sa.text("SELECT id FROM runs WHERE late"))}
    return set()


def aware(value: datetime | str) -> datetime:
    """A timestamp read with raw SQL (SQLite gives text or naive values) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def query(engine: sa.Engine, sql: str, **params: Any) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


# -- the replay -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    detector: str
    feature: str
    metric: str
    status: str
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class Judged:
    """A finished run: its window, and its figures (``error`` set: it failed)."""

    run_id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    finished_at: datetime
    error: str | None
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Expected:
    """One webhook event the replay says must be delivered."""

    monitor: str
    window_start: datetime
    type: str
    run_id: int
    labels: frozenset[tuple[str, str, str]]

    @property
    def id(self) -> str:
        return message_id(self.monitor, self.window_start, self.type)


def replay(monitor: MonitorSettings, judged: Sequence[Judged]) -> tuple[list[Expected], dict[str, str]]:
    """The events of ``judged`` (one monitor's runs that moved alerts) taken in window order, and
    the alert states it ends with (fingerprint -> state).

    Each run steps every alert with ``driftwatch.alerts.state`` as ``alerts.evaluate`` does (a
    failed run only ``run_failed``; states that stay ``ok`` are not kept), then names the events
    evaluate queues for it: ``run.failed`` for a failed run; ``alert.firing`` when an alert other
    than ``run_failed`` started firing, ``alert.resolved`` when one resolved; ``retrain.requested``
    when a figure ``[monitors.retrain]`` watches breached for its ``for_runs``-th run in a row.
    The soak sets no silences, so only ``run_failed``'s inhibition applies.
    """
    policy = monitor.alerts.state_policy
    retrain = monitor.retrain
    failed_key = AlertKey(monitor.name, ENGINE_DETECTOR, "", RUN_FAILED)
    stored: dict[str, AlertState] = {}
    events: list[Expected] = []
    for run in sorted(judged, key=lambda r: (r.window_start, r.finished_at)):
        changed: dict[str, tuple[AlertState, str | None]] = {}
        breached: set[str] = set()
        moves = [(failed_key, Observation("breach", "error") if run.error is not None else Observation("clean"),
                  RUN_FAILED_POLICY)]
        if run.error is None:
            moves += [(AlertKey(monitor.name, f.detector, f.feature, f.metric),
                       observe(f.status, f.value, f.threshold, f.p_value, policy), policy) for f in run.figures]
        for key, obs, rule in moves:
            before = stored.get(key.fingerprint) or AlertState(key)
            after, change = step(before, obs, rule, run_id=run.run_id, window_end=run.window_end)
            changed[key.fingerprint] = (after, change)
            if obs.kind == "breach":
                breached.add(key.fingerprint)
            if after.state != "ok" or before.state != "ok":
                stored[key.fingerprint] = after
        news = {fp: change for fp, (_, change) in changed.items() if change in ("new", "resolved")}
        inhibited = stored.get(failed_key.fingerprint, AlertState(failed_key)).state == "firing"
        items: list[tuple[AlertKey, str]] = []
        for fp, state in stored.items():
            said = news.get(fp) or ("still" if state.state == "firing" else None)
            if said is not None and not (inhibited and fp != failed_key.fingerprint):
                items.append((state.key, said))

        found: dict[str, set[tuple[str, str, str]]] = {}
        if run.error is not None and any(k == failed_key for k, _ in items):
            found["run.failed"] = {label(failed_key)}
        found["alert.firing"] = {label(k) for k, c in items if c == "new" and k.detector != ENGINE_DETECTOR}
        found["alert.resolved"] = {label(k) for k, c in items if c == "resolved" and k.detector != ENGINE_DETECTOR}
        if retrain is not None and run.error is None:
            found["retrain.requested"] = {
                label(state.key) for fp, (state, _) in changed.items()
                if fp in breached and state.breaching_runs == retrain.for_runs
                and retrain.matches(state.key.detector, state.key.metric)}
        events += [Expected(monitor.name, run.window_start, kind, run.run_id, frozenset(labels))
                   for kind, labels in found.items() if labels]
    return events, {fp: state.state for fp, state in stored.items()}


def out_of_order(judged: Sequence[Judged], slack: timedelta = timedelta(seconds=1)) -> list[Judged]:
    """Runs that moved alerts although a newer window's run had finished more than ``slack``
    before them: alert history rewritten by a stale window. (``finished_at`` is stamped just
    before the commit, so two commits within ``slack`` may be stamped in either order.)"""
    return [r for r in judged if any(o.window_start > r.window_start and o.finished_at < r.finished_at - slack
                                     for o in judged)]


def label(key: AlertKey) -> tuple[str, str, str]:
    return key.detector, key.feature, key.metric


def judged_runs(engine: sa.Engine, monitor: str, exclude: set[int]) -> list[Judged]:
    """``monitor``'s succeeded and failed runs with their figures, leaving out ``exclude``."""
    runs = [r for r in query(engine, "SELECT id, window_start, window_end, status, finished_at, error FROM runs "
                                     "WHERE monitor = :m AND status IN ('succeeded', 'failed')", m=monitor)
            if int(r.id) not in exclude]
    figures: dict[int, list[Figure]] = {}
    for row in query(engine, "SELECT run_id, detector, feature, metric, status, value, threshold, p_value "
                             "FROM results WHERE monitor = :m ORDER BY id", m=monitor):
        figures.setdefault(int(row.run_id), []).append(Figure(row.detector, row.feature, row.metric, row.status,
                                                              row.value, row.threshold, row.p_value))
    return [Judged(int(r.id), monitor, aware(r.window_start), aware(r.window_end), aware(r.finished_at),
                   (r.error or "failed") if r.status == "failed" else None, tuple(figures.get(int(r.id), ())))
            for r in runs]


# -- the table ------------------------------------------------------------------------------------


@dataclass
class Report:
    """Every count the table prints; ``missed`` names the targets that were not met."""

    windows_expected: int = 0
    succeeded: int = 0
    failed: int = 0
    failed_planned: int = 0
    failed_unplanned: int = 0
    duplicated: int = 0
    missing: int = 0
    left_running: int = 0
    outside: int = 0
    late: int = 0
    out_of_order: int = 0
    events_expected: int = 0
    delivered: int = 0
    duplicated_by_id: int = 0
    events_missing: int = 0
    extra: int = 0
    differs: int = 0
    states_differ: int = 0
    signature_failures: int = 0
    outbox_pending: int = 0
    outbox_dead: int = 0
    unexpected_exits: int = 0
    unclean_stops: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    event_types: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def missed(self) -> list[str]:
        zero = ("failed_unplanned", "duplicated", "missing", "left_running", "outside", "out_of_order",
                "events_missing", "extra", "differs", "states_differ", "signature_failures", "outbox_pending",
                "outbox_dead", "unexpected_exits", "unclean_stops")
        return [f"{name.replace('_', ' ')} = {getattr(self, name)}" for name in zero if getattr(self, name)]

    def table(self) -> str:
        def rows(header: Sequence[str], values: Sequence[object]) -> list[str]:
            widths = [max(len(h), len(str(v))) for h, v in zip(header, values)]
            return ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
                    "  ".join(str(v).rjust(w) for v, w in zip(values, widths))]

        lines = ["windows", *rows(
            ["expected", "succeeded", "failed (planned)", "duplicated", "missing", "left running", "late",
             "out of order"],
            [self.windows_expected, self.succeeded, f"{self.failed} ({self.failed_planned})", self.duplicated,
             self.missing, self.left_running, self.late, self.out_of_order])]
        lines += ["events", *rows(
            ["expected", "delivered", "duplicated by id", "missing", "extra", "content differs", "states differ"],
            [self.events_expected, self.delivered, self.duplicated_by_id, self.events_missing, self.extra,
             self.differs, self.states_differ])]
        lines += ["other", *rows(
            ["signature failures", "outbox pending", "outbox dead", "exits on their own", "unclean stops"],
            [self.signature_failures, self.outbox_pending, self.outbox_dead, self.unexpected_exits,
             self.unclean_stops])]
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.event_types.items()))
        kills = ", ".join(f"{n} {k}" for k, n in sorted(self.kills.items()))
        lines.append(f"events by type: {kinds or 'none'}; kills: {sum(self.kills.values())} ({kills or 'none'})")
        lines.append("counted, not targets: late (stored without moving alerts, by design), duplicated by id "
                     "(at-least-once), failed as planned")
        lines += self.notes
        missed = self.missed()
        lines.append("targets: all met" if not missed else f"targets MISSED: {'; '.join(missed)}")
        return "\n".join(lines)


def collect(engine: sa.Engine, config: Path, data: Data, receiver: Receiver, t_stop: datetime,
            first_due: dict[str, datetime]) -> Report:
    """Read the store back after the stop and count everything the table shows."""
    settings = load(config)
    spread = settings.daemon.spread
    assert isinstance(spread, timedelta)
    period = timedelta(seconds=data.window)
    report = Report()
    late = late_run_ids(engine)
    report.late = len(late)
    expected: list[Expected] = []
    for monitor in settings.monitors:
        offset = start_offset(monitor.name, period, spread)
        by_window: dict[datetime, list[str]] = {}
        for row in query(engine, "SELECT window_start, status FROM runs WHERE monitor = :m", m=monitor.name):
            by_window.setdefault(aware(row.window_start), []).append(row.status)
        first = min(by_window, default=first_due[monitor.name])
        last = epoch_floor(t_stop - offset, period) - period  # the start of the last window due
        windows = [first + k * period for k in range(int((last - first) / period) + 1)]
        report.windows_expected += len(windows)
        report.outside += sum(1 for w in by_window if w > last)
        for w in windows:
            statuses = Counter(by_window.get(w, []))
            planned = data.plan.get((monitor.name, w)) == "broken"
            report.succeeded += statuses["succeeded"] > 0
            report.duplicated += statuses["succeeded"] > 1
            report.failed += statuses["failed"] > 0 and statuses["succeeded"] == 0
            report.failed_planned += planned
            finished = statuses["succeeded"] + statuses["failed"]
            report.failed_unplanned += (statuses["failed"] > 0 and not planned) or (statuses["succeeded"] > 0
                                                                                    and planned)
            report.missing += finished == 0 and statuses["running"] == 0
            report.left_running += finished == 0 and statuses["running"] > 0
        judged = judged_runs(engine, monitor.name, late)
        report.out_of_order += len(out_of_order(judged))
        events, states = replay(monitor, judged)
        expected += events
        stored = {row.fingerprint: row.state for row in
                  query(engine, "SELECT fingerprint, state FROM alert_states WHERE monitor = :m", m=monitor.name)}
        differ = sorted(fp for fp in set(stored) | set(states) if stored.get(fp, "ok") != states.get(fp, "ok"))
        report.states_differ += len(differ)
        report.notes += [f"alert state differs: {monitor.name} {fp} stored {stored.get(fp, 'ok')}, "
                         f"replay {states.get(fp, 'ok')}" for fp in differ[:3]]
    by_id = {e.id: e for e in expected}
    report.events_expected = len(by_id)
    report.event_types = Counter(e.type for e in by_id.values())
    received = Counter(d.id for d in receiver.deliveries)
    bodies: dict[str, list[dict[str, Any]]] = {}
    for d in receiver.deliveries:
        bodies.setdefault(d.id, []).append(d.body)
    report.delivered = len(received)
    report.duplicated_by_id = sum(received.values()) - len(received)
    report.events_missing = len(set(by_id) - set(received))
    report.extra = len(set(received) - set(by_id))
    for msg_id in sorted(set(by_id) & set(received)):
        wrong = [body for body in bodies[msg_id] if not same_event(by_id[msg_id], body)]
        report.differs += bool(wrong)
        report.notes += [f"content differs: {describe(wrong[0])}, expected run {by_id[msg_id].run_id} "
                         f"{sorted(by_id[msg_id].labels)}"] if wrong else []
    for msg_id in sorted(set(by_id) - set(received))[:5]:
        e = by_id[msg_id]
        report.notes.append(f"missing: {e.type} {e.monitor} window {e.window_start:%H:%M:%S} run {e.run_id}")
    report.notes += [f"extra: {describe(bodies[msg_id][0])}" for msg_id in sorted(set(received) - set(by_id))[:5]]
    report.signature_failures = len(receiver.signature_failures)
    report.notes += [f"signature failure: {s}" for s in receiver.signature_failures[:5]]
    outbox = Counter(r.state for r in query(engine, "SELECT state FROM outbox"))
    report.outbox_pending, report.outbox_dead = outbox["pending"], outbox["dead"]
    return report


def describe(body: dict[str, Any]) -> str:
    """``alert.firing soak-a window 12:00:30 run 7 [labels]``: a delivered event in one line."""
    data = body.get("data", {})
    start = str(data.get("window", {}).get("start", "?"))[11:19]
    labels = sorted((r["detector"], r["feature"], r["metric"]) for r in data.get("results", []))
    return f"{body.get('type')} {data.get('monitor')} window {start} run {data.get('run_id')} {labels}"


def same_event(expected: Expected, body: dict[str, Any]) -> bool:
    """Whether a delivered body says what the replay says: type, monitor, window, run, figures."""
    data = body.get("data", {})
    labels = {(r["detector"], r["feature"], r["metric"]) for r in data.get("results", [])}
    whole = labels == expected.labels if not data.get("truncated_results") else labels <= expected.labels
    return (body.get("type") == expected.type and data.get("monitor") == expected.monitor
            and data.get("run_id") == expected.run_id and whole
            and data.get("window", {}).get("start") == expected.window_start.isoformat().replace("+00:00", "Z"))


def epoch_floor(moment: datetime, period: timedelta) -> datetime:
    """The latest multiple of ``period`` since the epoch at or before ``moment`` (windows align so
    when the period divides a day)."""
    seconds = period.total_seconds()
    return datetime.fromtimestamp(math.floor(moment.timestamp() / seconds) * seconds, UTC)


# -- the soak -------------------------------------------------------------------------------------


def write_config(folder: Path, soak: Soak, url: str, data: Data, hook: str, secret: str) -> Path:
    q = json.dumps  # a JSON string is a TOML basic string
    timeout = min(5.0, soak.lease / 2)
    lines = ["[store]", f"url = {q(url)}", "", "[daemon]", f'lease = "{soak.lease:g}s"', 'shutdown_grace = "20s"',
             "", "[alerts]", 'dispatch_interval = "1s"', "", "[webhooks.soak]", f"url = {q(hook)}",
             f"secret = {q(secret)}", f"timeout = {timeout:g}", ""]
    for monitor in MONITORS:
        lines += ["[[monitors]]", f"name = {q(monitor)}", f'window = "{soak.window}s"',
                  "[monitors.schema]", 'numeric = ["x", "y"]', 'categorical = ["c"]',
                  "[monitors.current]", 'type = "file"', f"path = {q(data.path(monitor))}",
                  "[monitors.reference]", 'type = "file"', f"path = {q(str(data.folder / monitor / 'reference.csv'))}"]
        if monitor == "soak-b":  # two runs to fire, two to resolve, retrain on the second breach
            lines += ["[monitors.alerts]", "for_runs = 2", "keep_firing_runs = 2",
                      "[monitors.retrain]", 'on = ["drift.drift_share"]', "for_runs = 2"]
        else:
            lines += ["[monitors.retrain]", 'on = ["drift.drift_share"]', "for_runs = 1"]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Clock:
    """Seconds since the soak began, for progress lines."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.t0

    def say(self, text: str) -> None:
        print(f"t+{self():6.1f} s  {text}", flush=True)


def find_target(engine: sa.Engine, mode: str, replicas: Replicas, receiver: Receiver) -> tuple[Replica, str] | None:
    """A replica that is mid-run or mid-send right now, and what it holds; None if none is."""
    if mode == "run":
        rows = query(engine, RUNNING)
        holders = [(replicas.by_pid(owner_pid(r.owner)), f"run {r.id} ({r.monitor} {aware(r.window_start):%H:%M:%S})")
                   for r in rows]
    else:
        with receiver.lock:
            ids = sorted(receiver.inflight)
        if not ids:
            return None
        rows = query(engine, "SELECT key, lease_owner, event_type FROM outbox WHERE state = 'pending'")
        holders = [(replicas.by_pid(owner_pid(r.lease_owner)), f"send of {r.event_type} {r.key}")
                   for r in rows if r.key in ids]
    found = sorted(((r, what) for r, what in holders if r is not None), key=lambda h: (h[0].index, h[1]))
    return found[0] if found else None


def owner_pid(owner: str | None) -> int:
    """The process id in an owner string ``host/instance:pid`` (-1 when there is none)."""
    tail = (owner or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else -1


@contextmanager
def work_folder(soak: Soak) -> Iterator[Path]:
    """A temporary folder for config, data, store and logs; kept with ``--keep``."""
    if soak.keep:
        yield Path(tempfile.mkdtemp(prefix="driftwatch-soak-"))
        return
    with tempfile.TemporaryDirectory(prefix="driftwatch-soak-") as tmp:
        yield Path(tmp)


def run(soak: Soak) -> Report:
    """One soak from start to table; see the module docstring."""
    period = timedelta(seconds=soak.window)
    with work_folder(soak) as folder:
        now = datetime.now(UTC)
        first = epoch_floor(now, period) - 3 * period
        last = epoch_floor(now + timedelta(seconds=soak.seconds * 1.5 + 120), period)
        data = write_data(folder / "data", soak, first, last)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        with soak_database(soak, folder) as url, Receiver(secret, soak) as receiver:
            config = write_config(folder, soak, url, data, receiver.url, secret)
            with Store(url) as store:  # the tables exist before the replicas race to make them
                store.create_all()
            engine = sa.create_engine(url)
            try:
                return soak_on(soak, engine, folder, data, config, receiver)
            finally:
                engine.dispose()


def soak_on(soak: Soak, engine: sa.Engine, folder: Path, data: Data, config: Path, receiver: Receiver) -> Report:
    """Start the replicas, kill and restart them, stop them, and count."""
    clock = Clock()
    rng = random.Random(soak.seed)
    gates = Gates(data, soak)
    gates.start()
    replicas = Replicas(soak.replicas, config, folder, clock.say)
    try:
        clock.say(f"{soak.replicas} replica(s) on {soak.store}, {len(MONITORS)} monitors, window {soak.window} s, "
                  f"lease {soak.lease:g} s, runs held {soak.run[0]:g}-{soak.run[1]:g} s, kills every "
                  f"{soak.kill_every[0]:g}-{soak.kill_every[1]:g} s, seed {soak.seed}; work folder {folder}")
        started = datetime.now(UTC)
        for replica in replicas.replicas:
            replicas.start(replica)
        kills = kill_phase(soak, clock, rng, engine, replicas, receiver)
        gates.hold = (0.0, 0.0)
        t_stop = settle(soak, clock, engine, replicas, receiver, config)
        replicas.terminate(grace=30.0)
        clock.say(f"stopped: exit codes {replicas.exit_codes}")
    except BaseException:
        replicas.kill_all()
        raise
    finally:
        gates.stop.set()
        gates.join()
    first_due = {m: epoch_floor(started, timedelta(seconds=soak.window)) - timedelta(seconds=soak.window)
                 for m in MONITORS}
    report = collect(engine, config, data, receiver, t_stop, first_due)
    report.kills = Counter(kill.aim for kill in kills)
    report.notes.append(taken_over(engine, kills))
    report.unexpected_exits = len(replicas.unexpected_exits)
    report.unclean_stops = sum(1 for code in replicas.exit_codes.values() if code != 0)
    report.notes += replicas.unexpected_exits
    report.notes.append(f"receiver: {len(receiver.deliveries)} requests accepted, {receiver.refused} refused with "
                        f"500 on purpose; gates: {gates.served} reads released, {gates.broken} readers killed "
                        "while held")
    report.notes += log_findings(replicas)
    return report


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: what it aimed at, and the runs its replica held (id, owner) at that moment."""

    aim: str
    replica: int
    runs: tuple[tuple[int, str], ...]


def kill_phase(soak: Soak, clock: Clock, rng: random.Random, engine: sa.Engine, replicas: Replicas,
               receiver: Receiver) -> list[Kill]:
    """Seeded SIGKILLs until ``soak.settle`` seconds before the end, their aims in turn from
    ``KILL_MODES``: each waits (up to half a window, a window for a send) for a replica that is
    mid-run or mid-send as its aim says, else takes any replica."""
    kills: list[Kill] = []
    end = soak.seconds - soak.settle
    next_kill = clock() + rng.uniform(*soak.kill_every)
    hunting: tuple[str, float] | None = None
    while clock() < end:
        replicas.poll()
        if hunting is None and clock() >= next_kill:
            mode = KILL_MODES[len(kills) % len(KILL_MODES)]
            hunting = (mode, clock() + soak.window * (1 if mode == "send" else 0.5))
            # The next kill is planned from this one's planned time, however long this one hunts
            # (but never before the replica it kills is back: see below).
            next_kill += rng.uniform(*soak.kill_every)
        if hunting is not None:
            mode, give_up = hunting
            found = find_target(engine, mode, replicas, receiver) if mode != "any" else None
            if found is None and (mode == "any" or clock() >= give_up):
                alive = replicas.alive()
                found = (rng.choice(alive), "whatever it was doing") if alive else None
                mode = "any"
            if found is not None:
                target, what = found
                pid = target.pid
                held = tuple((int(r.id), str(r.owner)) for r in query(engine, RUNNING) if owner_pid(r.owner) == pid)
                clock.say(f"SIGKILL replica {target.index} (pid {pid}) mid-{mode}: {what}")
                replicas.kill(target, rng.uniform(*soak.restart_after))
                kills.append(Kill(f"mid-{mode}" if mode != "any" else "any time", target.index, held))
                hunting = None
                next_kill = max(next_kill, clock() + soak.restart_after[1] + 1)
        time.sleep(0.05)
    return kills


def taken_over(engine: sa.Engine, kills: Sequence[Kill]) -> str:
    """How many runs the kills cut off, and how many of them another process finished."""
    cut = {run_id: owner for kill in kills for run_id, owner in kill.runs}
    finished = {int(r.id): str(r.owner) for r in query(engine, "SELECT id, owner FROM runs WHERE status IN "
                                                               "('succeeded', 'failed')")}
    done = sum(1 for run_id, owner in cut.items() if run_id in finished and finished[run_id] != owner)
    return f"runs cut off by the kills: {len(cut)}, finished by another process: {done}"


def settle(soak: Soak, clock: Clock, engine: sa.Engine, replicas: Replicas, receiver: Receiver,
           config: Path) -> datetime:
    """Wait (no more kills) until the soak's time is up, every due window has finished, nothing
    runs, the outbox is empty and no window falls due in the next second; return the moment to
    stop. Gives up a window and a lease past the planned end."""
    settings = load(config)
    spread = settings.daemon.spread
    assert isinstance(spread, timedelta)
    period = timedelta(seconds=soak.window)
    offsets = {m.name: start_offset(m.name, period, spread) for m in settings.monitors}
    give_up = soak.seconds + soak.window + soak.lease + 10
    clock.say("kills over, runs no longer held; then a stop once every due window has finished "
              "and the outbox is empty")
    while True:
        replicas.poll()
        now = datetime.now(UTC)
        quiet = all(r.restart_at is None for r in replicas.replicas)
        soon = any((epoch_floor(now - off, period) + period + off - now).total_seconds() < 1.0
                   for off in offsets.values())
        if clock() >= soak.seconds and quiet and not soon and not receiver.inflight \
                and caught_up(engine, now, period, offsets):
            clock.say("settled")
            return now
        if clock() > give_up:
            clock.say("not settled in time; stopping anyway")
            return now
        time.sleep(0.2)


def caught_up(engine: sa.Engine, now: datetime, period: timedelta, offsets: dict[str, timedelta]) -> bool:
    if query(engine, "SELECT id FROM runs WHERE status = 'running'"):
        return False
    if query(engine, "SELECT id FROM outbox WHERE state = 'pending'"):
        return False
    for monitor, offset in offsets.items():
        due = epoch_floor(now - offset, period) - period  # the start of the last window due
        row = query(engine, "SELECT MAX(window_start) AS w FROM runs WHERE monitor = :m "
                            "AND status IN ('succeeded', 'failed')", m=monitor)
        if not row or row[0].w is None or aware(row[0].w) < due:
            return False
    return True


def log_findings(replicas: Replicas) -> list[str]:
    """ERROR lines and tracebacks in the replicas' logs, counted, the first few quoted."""
    errors: list[str] = []
    tracebacks = lost = 0
    for r in replicas.replicas:
        if not r.log.exists():
            continue
        for line in r.log.read_text(encoding="utf-8", errors="replace").splitlines():
            tracebacks += line.startswith("Traceback")
            lost += "lease lost" in line
            if " ERROR " in line or " CRITICAL " in line:
                errors.append(f"replica {r.index}: {line.strip()[:200]}")
    notes = [f"replica logs: {len(errors)} ERROR line(s), {tracebacks} traceback(s), {lost} 'lease lost' warning(s)"]
    return notes + errors[:5]


def main(argv: Sequence[str] | None = None) -> int:
    soak = parse_args(argv)
    started = time.monotonic()
    report = run(soak)
    print()
    print(f"soak: {soak.store}, {soak.replicas} replica(s), {soak.seconds:g} s, seed {soak.seed}, window "
          f"{soak.window} s, lease {soak.lease:g} s ({time.monotonic() - started:.0f} s in all)")
    print(report.table(), flush=True)
    return 1 if report.missed() else 0


if __name__ == "__main__":
    sys.exit(main())
