"""Does scheduling overhead matter? The real daemon, N monitors on 1-minute schedules, for M minutes.

Builds a config of ``--monitors`` monitors (default 500) in a temp dir: each reads a tiny seeded
CSV (200 rows: 2 numeric, 1 categorical column) as reference and as current window through the
file connector, with ``schedule = "1m"``, the default detectors (drift, quality) and a SQLite
store in the temp dir (``--store-url`` for PostgreSQL: monitor names then carry a per-run tag so
an existing database is not disturbed). It starts ``driftwatch.scheduler.Daemon`` in this
process with the web server off, one or two seconds after a minute turns:

* warm-up  — the start-up catch-up round (each monitor runs its latest finished window) and the
  rest of that minute;
* measured — the next ``--minutes`` minute boundaries B1..BM; the figures cover the ``--minutes``
  minutes from just before B1 to just before B(M+1), when the daemon is stopped.

No library code is changed: after the stop the ``runs`` rows of windows ending at B1..BM are
read back, and a run's lag is ``started_at - planned``: planned is ``window_end`` plus the
monitor's fixed start offset within ``daemon.spread`` (``scheduler.start_offset``; ``delay`` is 0
here), and ``started_at`` is stamped when ``Runner.run_window`` claims the window. The lag is split in two by
timing the entry of each ``Runner.tick`` (an instance attribute set before the jobs are added):
*queue* (fire time to a worker thread picking the tick up) and *in tick* (the tick's own reads
before the claim). ``--history`` first writes past runs, as a daemon that has been up that long
has them. CPU share is ``time.process_time`` over wall time (1.00 = one core busy), plus the
``APScheduler`` thread's own share from ``/proc/self/task/<tid>/stat``; RSS comes from
``/proc/self/statm`` every ``--sample`` seconds. Targets (issue 4, "Speed") are printed beside
the figures, never asserted.

Run:  python bench/scheduler_bench.py [--monitors 500] [--minutes 5] [--seed 42] [--store-url URL]
                                      [--workers N] [--history RUNS] [--spread 15s]
Quick run:  python bench/scheduler_bench.py --minutes 1
Steady state after a day of 1-minute runs:  python bench/scheduler_bench.py --minutes 2 --history 1440
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert, select

from driftwatch.config import MonitorSettings
from driftwatch.engine import RunOutcome
from driftwatch.scheduler import Daemon, start_offset
from driftwatch.store import Store
from driftwatch.store.tables import runs

ROWS = 200
TARGET_P99_LAG = 1.0   # seconds
TARGET_RSS_GROWTH = 0  # bytes after warm-up
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def write_data(folder: Path, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(shift, 1.0, ROWS), "y": rng.exponential(1.0 + shift, ROWS),
                             "c": rng.choice(["a", "b", "c", "d"], ROWS, p=[0.4, 0.3, 0.2, 0.1])})

    reference, current = folder / "reference.csv", folder / "current.csv"
    frame(0.0).to_csv(reference, index=False)
    frame(0.1).to_csv(current, index=False)
    return reference, current


def write_config(folder: Path, names: list[str], store_url: str, workers: int | None, seed: int,
                 spread: str | None = None) -> Path:
    reference, current = write_data(folder, seed)
    q = json.dumps  # a JSON string is a TOML basic string
    lines = ["[store]", f"url = {q(store_url)}", "", "[daemon]", 'lease = "5m"']
    if spread is not None:
        lines.append(f"spread = {q(spread)}")
    if workers:
        lines.append(f"workers = {workers}")
    lines.append("")
    for name in names:
        lines += ["[[monitors]]", f"name = {q(name)}", 'schedule = "1m"',
                  "[monitors.schema]", 'numeric = ["x", "y"]', 'categorical = ["c"]',
                  "[monitors.current]", 'type = "file"', f"path = {q(str(current))}",
                  "[monitors.reference]", 'type = "file"', f"path = {q(str(reference))}", ""]
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_history(url: str, names: list[str], b0: datetime, count: int) -> None:
    """``count`` succeeded 1-minute runs per monitor ending one minute before ``b0``: the state of a
    daemon that has run that long (``Runner.tick`` reads a monitor's recent runs on every tick)."""
    store = Store(url)
    store.create_all()
    for name in names:
        rows = [{"monitor": name, "window_start": end - timedelta(minutes=1), "window_end": end, "attempt": 1,
                 "status": "succeeded", "owner": "history", "started_at": end, "finished_at": end,
                 "rows_reference": ROWS, "rows_current": ROWS}
                for end in (b0 - timedelta(minutes=k) for k in range(count, 0, -1))]
        with store.engine.begin() as conn:
            conn.execute(insert(runs), rows)
    store.dispose()


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def thread_cpu(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process; 0 when it is gone."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)


class Sampler(threading.Thread):
    """RSS every ``every`` seconds, as (seconds since start, bytes)."""

    def __init__(self, every: float) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.every, self.samples, self.stop = every, [], threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self.t0, rss()))
            if self.stop.wait(self.every):
                return


def sleep_until(moment: datetime) -> None:
    while (left := (moment - datetime.now(timezone.utc)).total_seconds()) > 0:
        time.sleep(min(left, 1.0))


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); no interpolation, so p99 is a real run."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(np.ceil(q / 100 * len(ordered))) - 1))]


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def main(args: argparse.Namespace) -> None:
    now = datetime.now(timezone.utc)
    tag = now.strftime("%Y%m%dT%H%M%S")
    names = [f"bench-{tag}-{i:04d}" if args.store_url else f"bench-{i:04d}" for i in range(args.monitors)]
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
        folder = Path(tmp)
        url = args.store_url or f"sqlite:///{folder / 'driftwatch.db'}"
        config = write_config(folder, names, url, args.workers, args.seed, args.spread)

        b0 = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        print(f"{args.monitors} monitors, schedule 1m, {ROWS}-row CSV reference and current, "
              f"store {'sqlite (temp dir)' if not args.store_url else 'from --store-url'}, seed {args.seed}")
        print(f"waiting {(b0 - now).total_seconds() + args.phase:.0f} s for the minute to turn; "
              f"then ~60 s warm-up + {args.minutes} measured minute(s)", flush=True)
        sleep_until(b0 + timedelta(seconds=args.phase))

        if args.history:
            write_history(url, names, b0, args.history)
        sampler = Sampler(args.sample)
        sampler.start()
        daemon = Daemon(config, web=False)
        # Observe, not change: the jobs call runner.tick as looked up when they are added, so an
        # instance attribute set before start() sees when each tick leaves the executor's queue.
        entered: list[tuple[str, datetime]] = []
        tick = daemon.runner.tick

        def observed_tick(monitor: MonitorSettings) -> list[RunOutcome]:
            entered.append((monitor.name, datetime.now(timezone.utc)))
            return tick(monitor)

        daemon.runner.tick = observed_tick  # type: ignore[method-assign]
        started = time.perf_counter()
        daemon.start()
        workers = daemon.settings.daemon.workers or min(32, args.monitors)  # as Daemon sizes its pool
        aps = next((t for t in threading.enumerate() if t.name == "APScheduler"), None)
        aps_id = aps.native_id if aps is not None else None
        print(f"daemon started in {time.perf_counter() - started:.2f} s, {workers} worker threads", flush=True)

        b1 = b0 + timedelta(minutes=1)
        bends = [b1 + timedelta(minutes=k) for k in range(args.minutes)]
        # RSS just before each measured round and just before the round after the last one
        edges = [b - timedelta(seconds=1) for b in [*bends, bends[-1] + timedelta(minutes=1)]]
        rss_edges: list[int] = []
        for k, edge in enumerate(edges):
            sleep_until(edge)
            rss_edges.append(rss())
            if k == 0:
                rss_warm, cpu0, aps0, wall0 = rss_edges[0], time.process_time(), thread_cpu(aps_id), time.monotonic()
                threads_warm = threading.active_count()
                print(f"warm-up done: RSS {mib(rss_warm)}, {threads_warm} threads; measuring "
                      f"{edges[0]:%H:%M:%S} .. {edges[-1]:%H:%M:%S} UTC", flush=True)
        rss_end, cpu1, aps1, wall1 = rss_edges[-1], time.process_time(), thread_cpu(aps_id), time.monotonic()
        threads_end = threading.active_count()
        daemon.stop()
        sampler.stop.set()
        sampler.join()

        reader = Store(url)
        with reader.engine.connect() as conn:
            rows = conn.execute(select(runs.c.monitor, runs.c.window_end, runs.c.status, runs.c.started_at,
                                       runs.c.finished_at)
                                .where(runs.c.monitor.in_(names) & (runs.c.window_end >= bends[0])
                                       & (runs.c.window_end <= bends[-1]))).all()
            catchup = conn.execute(select(runs.c.started_at, runs.c.finished_at)
                                   .where(runs.c.monitor.in_(names) & (runs.c.window_end == b0))).all()
        reader.dispose()

    # The planned start is the window end plus the monitor's fixed offset within daemon.spread.
    spread = daemon.settings.daemon.spread
    assert isinstance(spread, timedelta)
    offset = {name: start_offset(name, timedelta(minutes=1), spread).total_seconds() for name in names}
    lags = [(r.started_at - r.window_end).total_seconds() - offset[r.monitor] for r in rows]
    # a run's lag = queue (fire time to tick entry: APScheduler + the worker pool's queue)
    #             + tick (tick entry to claim: Runner.tick's reads before run_window claims)
    entries: dict[str, list[datetime]] = {}
    for name, moment in entered:
        entries.setdefault(name, []).append(moment)
    queue, in_tick = [], []
    for r in rows:
        entry = next((e for e in entries.get(r.monitor, []) if r.window_end <= e <= r.started_at), None)
        if entry is not None:
            queue.append((entry - r.window_end).total_seconds() - offset[r.monitor])
            in_tick.append((r.started_at - entry).total_seconds())
    durations = [(r.finished_at - r.started_at).total_seconds() for r in rows if r.finished_at is not None]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    expected = args.monitors * args.minutes
    wall, cpu, aps_cpu = wall1 - wall0, cpu1 - cpu0, aps1 - aps0
    print()
    print(f"daemon.spread        {spread.total_seconds():g} s (planned start = window end + a fixed offset "
          f"in [0, {min(spread, timedelta(seconds=15)).total_seconds():g}) s per monitor)")
    print(f"runs measured        {len(rows)} of {expected} expected "
          f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})")
    if catchup:
        c_end = max((r.finished_at or r.started_at) for r in catchup)
        c_start = min(r.started_at for r in catchup)
        print(f"warm-up catch-up     {len(catchup)} runs in {(c_end - c_start).total_seconds():.1f} s")
    if lags:
        print(f"lag p50 / p99 / max  {pct(lags, 50):.3f} / {pct(lags, 99):.3f} / {max(lags):.3f} s   "
              f"(target: p99 < {TARGET_P99_LAG:.0f} s)")
        if queue:
            print(f"  queue p50 / p99     {pct(queue, 50):.3f} / {pct(queue, 99):.3f} s   "
                  f"(fire time -> tick starts on a worker; {len(queue)} runs matched)")
            print(f"  in tick p50 / p99   {pct(in_tick, 50):.3f} / {pct(in_tick, 99):.3f} s   "
                  f"(tick starts -> window claimed)")
        print(f"run wall p50 / p99   {pct(durations, 50) * 1000:.0f} / {pct(durations, 99) * 1000:.0f} ms "
              f"(claim to finish)")
        for bend in bends:
            of_round = [r for r in rows if r.window_end == bend]
            last = max((r.finished_at or r.started_at) for r in of_round) if of_round else None
            print(f"round {bend:%H:%M}          {len(of_round)} runs, last finished "
                  f"{(last - bend).total_seconds() if last else float('nan'):.1f} s after the minute")
    print(f"CPU share (process)  {cpu / wall:.3f} of one core over {wall:.0f} s "
          f"({cpu:.1f} CPU s; {os.cpu_count()} cores)")
    print(f"CPU share (APScheduler thread) {aps_cpu / wall:.4f}")
    if rows:
        print(f"per-run cost         {cpu / len(rows) * 1000:.1f} ms CPU, "
              f"{statistics.fmean(durations) * 1000:.0f} ms wall (mean)")
    print(f"RSS warm-up end      {mib(rss_warm)} ({threads_warm} threads)")
    print(f"RSS end              {mib(rss_end)} ({threads_end} threads)")
    print(f"RSS growth           {mib(rss_end - rss_warm)} after warm-up   (target: {TARGET_RSS_GROWTH} MiB)")
    peak = max(s[1] for s in sampler.samples)
    print(f"RSS peak             {mib(peak)} ({len(sampler.samples)} samples every {args.sample:g} s)")
    print(f"RSS before each round {' -> '.join(mib(v) for v in rss_edges)}")
    if daemon.events:
        print(f"scheduler events     {dict(daemon.events)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=5, help="measured minutes after the warm-up minute")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--store-url", default=None, help="e.g. postgresql+psycopg://user@host/db (default: SQLite)")
    parser.add_argument("--workers", type=int, default=None, help="daemon.workers (default: the daemon's own)")
    parser.add_argument("--history", type=int, default=0,
                        help="succeeded past runs per monitor written before the start (e.g. 1440 = one day)")
    parser.add_argument("--spread", default=None, help="daemon.spread, e.g. 0s or 15s (default: the daemon's own)")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between RSS samples")
    parser.add_argument("--phase", type=float, default=2.0, help="start this many seconds after a minute turns")
    args = parser.parse_args()
    if args.minutes < 1 or args.monitors < 1 or args.history < 0:
        parser.error("--minutes and --monitors must be at least 1, --history at least 0")
    return args


if __name__ == "__main__":
    main(parse_args())
