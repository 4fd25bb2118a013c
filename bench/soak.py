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

This file is the script: the settings from the command line, the soak loop, the kills and the
stop. The parts it drives are modules beside it, one job each: ``soak_settings`` (the ``Soak``
record), ``soak_data`` (window folders, gates, config), ``soak_receiver`` (the verifying webhook
endpoint), ``soak_replicas`` (the daemon processes), ``soak_store`` (the database and its raw
reads), ``soak_replay`` (the events expected) and ``soak_report`` (the table).

Run:   python bench/soak.py --minutes 10 [--store postgres|sqlite] [--replicas 3] [--seed 1]
                            [--postgres-url URL] [--keep]
Quick: python bench/soak.py --quick [--store sqlite]   (the seeded 40-second variant the test suite runs)
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from soak_data import MONITORS, Data, Gates, epoch_floor, write_config, write_data
from soak_receiver import Receiver
from soak_replicas import Replica, Replicas
from soak_report import Report, collect
from soak_settings import DEFAULT_POSTGRES, QUICK, Soak
from soak_store import aware, query, soak_database

from driftwatch.config import load
from driftwatch.scheduler import start_offset
from driftwatch.store import Store

UTC = timezone.utc
#: What the kills aim at, in turn: a replica mid-run, one mid-send, any replica.
KILL_MODES = ("run", "send", "run", "any")
RUNNING = "SELECT id, monitor, window_start, owner FROM runs WHERE status = 'running'"


# -- settings -------------------------------------------------------------------------------------


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


# -- the soak -------------------------------------------------------------------------------------


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
