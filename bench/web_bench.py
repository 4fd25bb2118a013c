"""How fast are the pages with a big store? p50/p99 of ``/``, a monitor page and a run page.

Fills a store with ``--monitors`` × ``--runs`` × ``--features`` (default 500 × 1,000 × 50, as
issue 6 asks): per run one drift result per feature (KS, with reference and current bins in
``details`` as the drift detector stores them), the data-set ``drift_share`` and the quality
``row_count``; 1 % of runs failed with an error; a few firing alerts, silences and dead outbox
rows per monitor. Rows go in in batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL),
window by window across all monitors, as a daemon writes them, so one monitor's rows are spread
through the tables; the indexes are built after the fill.

Then it starts ``driftwatch serve`` on 127.0.0.1 in a process of its own and requests each page
``--requests`` times over loopback with httpx (a random monitor / run each time, after a warm-up
of five). It prints p50 / p99 / max beside the target (p99 < 150 ms) and the first request's
time: for ``/`` that is the cold case, when every monitor's sparkline and the page are drawn
anew (as after a round of runs ends); later requests reuse them while nothing shown changes.
Finally it prints the plan of every statement the pages send (``reports.statements``):
``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL, and names every statement that reads
a table in full (on small tables the PostgreSQL planner rightly prefers a sequential scan; the
outbox has no index by monitor).

Run:    python bench/web_bench.py [--monitors 500] [--runs 1000] [--features 50] [--requests 200]
                                  [--sqlite PATH] [--postgres-url URL] [--keep] [--reuse]
Quick:  python bench/web_bench.py --monitors 50 --runs 100 --features 20
PostgreSQL too:  --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
(the PostgreSQL run creates a database ``dw_web_bench_<pid>`` next to the given one and drops it
unless ``--keep``; ``--reuse`` measures the database at ``--postgres-url`` itself)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from driftwatch.store import Store
from driftwatch.store.alert_tables import alert_states, outbox, silences
from driftwatch.store.reports import statements
from driftwatch.store.tables import results, runs

UTC = timezone.utc
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TARGET_MS = 150.0
LABELS = ["< 0", "[0, 1)", "[1, 2)", "[2, 3)", "[3, 4)", "[4, 5)", "[5, 6)", "[6, 7)", "[7, 8)", "> 8"]


def monitor_name(m: int) -> str:
    return f"model-{m:04d}"


RUN_COLUMNS = ("id", "monitor", "window_start", "window_end", "attempt", "status", "owner", "started_at",
               "finished_at", "lease_expires_at", "rows_reference", "rows_current", "error")
RESULT_COLUMNS = ("id", "run_id", "monitor", "window_start", "window_end", "detector", "feature", "metric",
                  "value", "p_value", "threshold", "status", "details")
ERROR = "ConnectorError: warehouse timed out after 30 s"


class Writer:
    """Bulk rows straight to the driver, bypassing SQLAlchemy's per-value processing (which would
    take most of the fill time for 26 million rows): ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL. Timestamps are given as each dialect stores a ``UTCDateTime``."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    def moment(self, value: datetime) -> Any:
        return value.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else value

    def write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
            return
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def details_pool(rng: random.Random, size: int = 101) -> list[str]:
    """Histogram details as the drift detector stores them, drawn once: 26 million rows need
    realistic sizes, not 26 million distinct JSON documents."""
    ref = [0.1] * 10
    pool = []
    for _ in range(size):
        cur = [round(max(0.0, v + rng.uniform(-0.03, 0.03)), 6) for v in ref]
        pool.append(json.dumps({"kind": "numeric", "n_ref": 100_000, "n_cur": 10_000,
                                "bins": {"labels": LABELS, "ref": ref, "cur": cur}}))
    return pool


def fill(store: Store, monitors: int, n_runs: int, features: int, seed: int) -> None:
    """Write the synthetic history; ids are given explicitly so results can name their run.

    The ``runs`` and ``results`` indexes are dropped for the fill and built again at the end
    (one sort each instead of 26 million scattered B-tree inserts); the schema is the same after.
    """
    rng = random.Random(seed)
    started = time.perf_counter()
    pool = details_pool(rng)
    names = [monitor_name(m) for m in range(monitors)]
    feature_names = [f"feature_{f:02d}" for f in range(features)]
    share_details = json.dumps({"drifted": [], "columns": features})
    error_details = json.dumps({"error": ERROR})
    total = monitors * n_runs
    run_id = result_id = 0
    batch_runs: list[tuple[Any, ...]] = []
    batch_results: list[tuple[Any, ...]] = []
    indexes = [index for table in (runs, results) for index in table.indexes]
    with store.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000000")  # 2 GB of page cache for the index builds
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")  # no per-row foreign-key trigger
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for index in indexes:
            index.drop(conn)
        conn.commit()
        writer = Writer(conn)

        def flush() -> None:
            writer.write(runs, RUN_COLUMNS, batch_runs)
            writer.write(results, RESULT_COLUMNS, batch_results)
            batch_runs.clear()
            batch_results.clear()
            conn.commit()  # one transaction per batch: SQLite's WAL stays small, as a daemon's would

        for i in range(n_runs):
            start, end = writer.moment(T0 + timedelta(hours=i)), writer.moment(T0 + timedelta(hours=i + 1))
            finished = writer.moment(T0 + timedelta(hours=i + 1, seconds=2))
            for name in names:
                run_id += 1
                failed = rng.random() < 0.01
                batch_runs.append((run_id, name, start, end, 1, "failed" if failed else "succeeded", "bench",
                                   end, finished, None, 100_000, 10_000, ERROR if failed else None))
                if failed:
                    result_id += 1
                    batch_results.append((result_id, run_id, name, start, end, "engine", "", "run", None, None,
                                          None, "error", error_details))
                    continue
                drifted = 0
                for feature in feature_names:
                    p = rng.random() ** 3
                    alert = p < 0.01
                    drifted += alert
                    result_id += 1
                    batch_results.append((result_id, run_id, name, start, end, "drift", feature, "ks",
                                          rng.random() * 0.2, p, 0.05, "alert" if alert else "ok",
                                          pool[result_id % len(pool)]))
                share = drifted / features
                batch_results.append((result_id + 1, run_id, name, start, end, "drift", "", "drift_share", share,
                                      None, 0.5, "alert" if share >= 0.5 else "ok", share_details))
                batch_results.append((result_id + 2, run_id, name, start, end, "quality", "", "row_count",
                                      10_000.0, None, 30.0, "ok", "{}"))
                result_id += 2
            if len(batch_results) >= 50_000:
                flush()
            if (i + 1) % max(1, n_runs // 10) == 0:
                print(f"  {(i + 1) * monitors:,}/{total:,} runs, {result_id:,} results, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
        flush()
        print(f"  rows written in {time.perf_counter() - started:.0f} s; building indexes", flush=True)
        for index in indexes:
            index.create(conn)
        conn.commit()
        add_alerts(conn, names, T0 + timedelta(hours=n_runs), run_id)
        if not sqlite:
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
            for table in ("runs", "results"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT MAX(id) FROM {table}))")
        conn.commit()
    settle(store)
    print(f"filled {total:,} runs, {result_id:,} results in {time.perf_counter() - started:.0f} s")


def settle(store: Store) -> None:
    """Statistics for the planner, then every written page on disk before timing starts.

    Without the checkpoint and sync, the write-back of the fill (and of VACUUM's hint bits, which
    touch every page of a fresh PostgreSQL table) runs during the measurement: on this machine it
    put 400 ms stalls into PostgreSQL run pages that a settled server does not have."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()


def add_alerts(conn: sa.Connection, names: list[str], end: datetime, last_run_id: int) -> None:
    """Three firing alerts, a silence and two dead outbox rows per monitor."""
    for m, name in enumerate(names):
        for k in range(3):
            conn.execute(insert(alert_states).values(
                fingerprint=f"{m:08x}{k:08x}", monitor=name, detector="drift", feature=f"feature_{k:02d}",
                metric="ks", state="firing", severity="alert", value=0.3, threshold=0.05, p_value=0.001,
                active_since=end, last_run_id=last_run_id, last_window_end=end, updated_at=end))
        conn.execute(insert(silences).values(monitor=name, feature="feature_00", starts_at=end,
                                             ends_at=end + timedelta(days=1), created_by="bench",
                                             comment="bench", created_at=end))
        for k in range(2):
            conn.execute(insert(outbox).values(
                kind="message", target="slack", monitor=name, run_id=None, event_type=None, key=f"{m}-{k}",
                payload="{}", state="dead", attempts=9, created_at=end, next_attempt_at=end,
                deadline_at=end, last_status="HTTP 500", last_error="bench"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(store: Store, monitors: int, requests: int, seed: int) -> None:
    """Serve the app and time each page ``requests`` times."""
    rng = random.Random(seed)
    with store.engine.connect() as conn:
        max_run = int(conn.execute(select(sa.func.max(runs.c.id))).scalar_one())
    port = free_port()
    # The server is its own process, as `driftwatch serve` runs: a server thread in this process
    # would share the GIL with the timing client and add its pauses to the figures.
    folder = Path(tempfile.mkdtemp(prefix="web-bench-"))
    config = folder / "config.toml"
    url = store.engine.url.render_as_string(hide_password=False)
    config.write_text(f'[store]\nurl = {json.dumps(url)}\n[web]\nhost = "127.0.0.1"\nport = {port}\n',
                      encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "driftwatch.cli", "serve", "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=(folder / "serve.log").open("wb"))
    base = f"http://127.0.0.1:{port}"
    pages = {
        "/": lambda: "/",
        "/monitors/{name}": lambda: f"/monitors/{monitor_name(rng.randrange(monitors))}",
        "/runs/{id}": lambda: f"/runs/{rng.randint(1, max_run)}",
    }
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(400):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            print(f"\n{'page':<20} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'KiB':>6}  "
                  f"target p99 < {TARGET_MS:.0f} ms")
            for label, path in pages.items():
                t = time.perf_counter()
                client.get(path())
                first = (time.perf_counter() - t) * 1000
                for _ in range(4):
                    client.get(path())
                times, size = [], 0
                for _ in range(requests):
                    t = time.perf_counter()
                    answer = client.get(path())
                    times.append((time.perf_counter() - t) * 1000)
                    assert answer.status_code == 200, (label, answer.status_code)
                    size = max(size, len(answer.content))
                times.sort()
                p50 = statistics.median(times)
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                verdict = "ok" if p99 < TARGET_MS else "OVER"
                print(f"{label:<20} {p50:8.1f} {p99:8.1f} {times[-1]:8.1f} {size / 1024:6.0f}  {verdict}"
                      f"  (first request: {first:.0f} ms)")
    finally:
        server.terminate()
        server.wait(30)


def explain(store: Store, monitors: int) -> list[str]:
    """Print the plan of every page statement; the labels of those that read a table in full."""
    dialect = store.engine.dialect
    sqlite = dialect.name == "sqlite"
    moment = T0 + timedelta(hours=10)
    scans = []
    print(f"\nquery plans ({'EXPLAIN QUERY PLAN' if sqlite else 'EXPLAIN'}):")
    with store.engine.connect() as conn:
        for label, statement in statements(monitor_name(monitors // 2), 1, moment):
            sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            plan = [" ".join(str(c) for c in row[3:] if c is not None) if sqlite else str(row[0])
                    for row in conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql)]
            full = sorted({table for line in plan if (table := _full_scan(line, sqlite))})
            if full:
                scans.append(f"{label} ({', '.join(full)})")
            print(f"-- {label}{'   <-- reads in full: ' + ', '.join(full) if full else ''}")
            for line in plan:
                print(f"   {line}")
    print(f"\npage queries reading a table in full: {'; '.join(scans) if scans else 'none'}")
    return scans


#: Names the page statements give their CTEs (scanning those is not reading a table).
_CTES = {"names", "cut"}


def _full_scan(line: str, sqlite: bool) -> str | None:
    """The table a plan line reads without an index, or None."""
    words = line.split()
    if sqlite:
        if len(words) >= 2 and words[0] == "SCAN" and words[1] not in _CTES and "INDEX" not in line:
            return words[1]
        return None
    if "Seq Scan on" in line:
        return line.split("Seq Scan on", 1)[1].split()[0]
    return None


def postgres_database(url: str, *, keep: bool) -> Iterator[str]:
    """A fresh database beside ``url``'s, dropped afterwards unless ``keep``."""
    name = f"dw_web_bench_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        yield bench_url
    finally:
        if keep:
            print(f"kept {bench_url} (measure it again with --reuse --no-sqlite --postgres-url URL)")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def bench(url: str, args: argparse.Namespace) -> None:
    print(f"\n== {make_url(url).get_backend_name()}: {args.monitors} monitors × {args.runs} runs × "
          f"{args.features} features")
    store = Store(url)
    store.create_all()
    if args.reuse:
        settle(store)
    else:
        fill(store, args.monitors, args.runs, args.features, args.seed)
    measure(store, args.monitors, args.requests, args.seed)
    explain(store, args.monitors)
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sqlite", type=Path, help="the SQLite file (default: a temp dir)")
    parser.add_argument("--postgres-url", help="also bench PostgreSQL (a fresh database beside this one)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and the PostgreSQL database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the stores given by --sqlite and --postgres-url as they are "
                             "(filled by an earlier --keep run)")
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite or Path(tmp) / "bench.db"
            if path.exists() != args.reuse:
                raise SystemExit(f"{path}: exists; give a new file" if not args.reuse
                                 else f"{path}: --reuse needs an existing file")
            bench(f"sqlite:///{path}", args)
            if args.keep and args.sqlite is None:
                kept = Path.cwd() / "web_bench.db"
                os.replace(path, kept)
                print(f"kept {kept}")
    if args.postgres_url and args.reuse:
        bench(args.postgres_url, args)
    elif args.postgres_url:
        for url in postgres_database(args.postgres_url, keep=args.keep):
            bench(url, args)


if __name__ == "__main__":
    main()
