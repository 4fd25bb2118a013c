"""Profiling a window in its database (``driftwatch.pushdown``) against pulling it: seconds, memory, equality.

For each size (``--rows``, default 1M and 10M; ``--with-100m`` adds 100M) a window of 50 columns
made like ``bench/drift_bench.py``'s current frame — 40 numeric N(0, 1) columns, n0–n4 shifted
by 0.02 sd (must stay ok), n5–n7 by 0.5 sd, 10 categorical columns of 12 levels with c0–c1's mix
reversed (must alert) — is written by DuckDB itself, so 10⁸ rows never pass through pandas:
a counter-based generator (53 bits of ``hash(row, stream, seed)`` → uniform → Box–Muller for
the numbers, the inverse CDF for the levels) gives the same rows on every thread and every run.
The window is then held

* ``duckdb``     — as a table in a DuckDB file;
* ``parquet``    — as Parquet files (exported from that table), behind a DuckDB view over
  ``read_parquet``, so the statements scan the files;
* ``postgresql`` — as a table in a database of its own on the local server (``COPY`` from the
  DuckDB file through a pipe, up to ``--pg-max`` rows; the database is dropped afterwards).

The reference is ``driftwatch.profile`` of 200k rows generated the same way without drift
(another seed). Each measurement runs in a fresh subprocess, so its peak RSS is its own:

* ``pushdown``     — ``profile_window`` over the whole table (DuckDB under ``--memory-limit``,
  as the file connector sets it), timed by phase (``PhaseClock``): the one aggregate
  ``SELECT`` (and the non-finite one when a column needs it), the sorted values (past
  ``--max-sorted`` values the seeded row sample: on DuckDB drawn in the aggregate ``SELECT``, the
  rows keyed by ``rowid`` or, for Parquet, as the file connector keys them; on PostgreSQL its own
  scan; ``ROW_NUMBER`` thinning elsewhere), the ``GROUP BY``s; then the drift and quality
  detectors on the result, against the manifest of which columns moved;
* ``alternatives`` — other ways to the dominant phases' answers, on ``--alt-columns`` columns:
  the same ``ROW_NUMBER`` statements fetched in bulk from the driver, the same order
  statistics by the database's own functions (DuckDB ``quantile_disc(x, list)`` and
  ``approx_quantile``, PostgreSQL ``percentile_disc(array) WITHIN GROUP``), and on PostgreSQL
  the aggregate with ``jit = off`` and in ``COUNT(*) FILTER`` form;
* ``pulled``       — the rows read into pandas (``.df()``, ``read_parquet``, ``read_sql``) and
  profiled by driftwatch with the reference's edges: the whole frame up to ``--frame-max`` rows,
  one column at a time beyond (the frame would not fit); then counts, bins, extremes and
  categories compared for equality, the thinned sorted values against the pulled order
  statistics, and the drift and quality detectors run on both, decision by decision.

Backends holding the same rows are cross-checked too (parquet and postgresql against duckdb).
Figures are printed, never asserted.

Run:  python bench/pushdown_bench.py [--rows 1000000,10000000] [--with-100m] [--backends duckdb,parquet,postgresql]
                                     [--postgres-url URL] [--pg-jit server|off] [--workdir DIR] [--json]
      python bench/pushdown_bench.py --report A.json B.json     (the report of saved --json runs)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftwatch.connectors.file_duckdb import ROW_KEY

NUMERIC, CATEGORICAL, LEVELS = 40, 10, 12
SMALL_SHIFT = [f"n{i}" for i in range(5)]          # 0.02 sd: must stay ok (as in drift_bench.py)
BIG_SHIFT = [f"n{i}" for i in range(5, 8)]         # 0.5 sd: must alert
CAT_SHIFT = [f"c{i}" for i in range(2)]            # mix reversed: must alert
NUMERIC_COLUMNS = [f"n{i}" for i in range(NUMERIC)]
COLUMNS = NUMERIC_COLUMNS + [f"c{i}" for i in range(CATEGORICAL)]
REFERENCE_ROWS, REFERENCE_SEED, CURRENT_SEED = 200_000, 1, 2
BACKENDS = ("duckdb", "parquet", "postgresql")
PHASES = ("aggregate", "sorted", "groupby")
MIB = 2**20


# -- the data ----------------------------------------------------------------------------------
def _uniform(stream: int) -> str:
    """Row ``i``'s uniform draw in (0, 1) from ``stream``: the top 53 bits of a 64-bit hash."""
    return f"(((hash(i, {stream}, $seed) >> 11)::DOUBLE + 0.5) / 9007199254740992.0)"


def generator_sql(drifted: bool) -> str:
    """``SELECT`` of ``$rows`` rows of the 50 columns.

    Numbers: Box–Muller, ``√(−2 ln u₁)·cos(2π u₂)``. Levels: drift_bench's weights
    ``p_k ∝ 1 + 2k/11`` (``linspace(1, 3, 12)``) have the CDF ``F(k) = (k + k(k−1)/11) / 24``,
    so ``k = ⌊(√(100 + 1056 u) − 10) / 2⌋``; a reversed mix is ``11 − k``.
    """
    items = []
    for j, name in enumerate(NUMERIC_COLUMNS):
        shift = (0.02 if name in SMALL_SHIFT else 0.5 if name in BIG_SHIFT else 0.0) if drifted else 0.0
        items.append(f"{shift!r} + sqrt(-2 * ln({_uniform(2 * j)})) * cos(2 * pi() * {_uniform(2 * j + 1)}) AS {name}")
    for j in range(CATEGORICAL):
        name = f"c{j}"
        k = f"least({LEVELS - 1}, floor((sqrt(100 + 1056 * {_uniform(2 * NUMERIC + j)}) - 10) / 2))::INTEGER"
        if drifted and name in CAT_SHIFT:
            k = f"{LEVELS - 1} - {k}"
        items.append(f"'level_' || ({k}) AS {name}")
    return f"SELECT {', '.join(items)} FROM range($rows) AS t(i)"


def build_reference(workdir: Path) -> Path:
    import duckdb

    from driftwatch.profiling import profile

    path = workdir / "reference.profile"  # rebuilt every run: a few seconds, and always this version's format
    con = duckdb.connect()
    frame = con.execute(generator_sql(False), {"rows": REFERENCE_ROWS, "seed": REFERENCE_SEED}).df()
    path.write_bytes(profile(frame).to_bytes())
    con.close()
    return path


def build_duckdb(workdir: Path, rows: int) -> dict[str, float | None]:
    """The DuckDB file and the Parquet files of ``rows`` rows (kept in ``workdir`` for reuse):
    seconds each took, None for one that was there already."""
    import duckdb

    path, parquet = workdir / f"events-{rows}.duckdb", workdir / f"events-{rows}.parquet"
    took: dict[str, float | None] = {"duckdb": None, "parquet": None}
    if not path.exists():
        start = time.perf_counter()
        con = duckdb.connect(str(path) + ".tmp", config={"memory_limit": "4GB"})
        con.execute(f"CREATE TABLE events AS {generator_sql(True)}", {"rows": rows, "seed": CURRENT_SEED})
        con.close()
        Path(str(path) + ".tmp").rename(path)
        took["duckdb"] = time.perf_counter() - start
    if not parquet.exists():
        start = time.perf_counter()
        con = duckdb.connect(str(path), read_only=True, config={"memory_limit": "4GB"})
        con.execute(f"COPY events TO '{_quoted(parquet)}.tmp' (FORMAT parquet, FILE_SIZE_BYTES '256MB')")
        con.close()
        Path(str(parquet) + ".tmp").rename(parquet)
        took["parquet"] = time.perf_counter() - start
    return took


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _conninfo(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A database ``pushdown_bench_<hex>`` of its own on the server behind ``url``, dropped after."""
    import psycopg

    name = f"pushdown_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_conninfo(url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_postgres(url: str, workdir: Path, rows: int) -> float:
    """``COPY`` the DuckDB file's rows into a fresh ``events`` table, then ``VACUUM (FREEZE, ANALYZE)``
    it, so the window is read as a settled table is (hint bits set, statistics known)."""
    import psycopg

    start = time.perf_counter()
    columns = [f"{c} double precision" for c in NUMERIC_COLUMNS] + [f"c{j} text" for j in range(CATEGORICAL)]
    with psycopg.connect(_conninfo(url), autocommit=True) as pg:
        pg.execute("DROP TABLE IF EXISTS events")
        pg.execute(f"CREATE TABLE events ({', '.join(columns)})")
        dump = subprocess.Popen([sys.executable, __file__, "--dump", str(workdir / f"events-{rows}.duckdb")],
                                stdout=subprocess.PIPE)
        assert dump.stdout is not None
        with pg.cursor() as cursor, cursor.copy("COPY events FROM STDIN (FORMAT csv)") as copy:
            while block := dump.stdout.read(1 << 20):
                copy.write(block)
        if dump.wait() != 0:
            raise RuntimeError(f"dumping the DuckDB file failed (exit {dump.returncode})")
        pg.execute("VACUUM (FREEZE, ANALYZE) events")
    return time.perf_counter() - start


def dump_csv(path: str) -> None:
    """The DuckDB table as CSV on stdout (doubles in their shortest exact form)."""
    import duckdb

    con = duckdb.connect(path, read_only=True, config={"memory_limit": "1GB"})
    con.execute("COPY events TO '/dev/stdout' (FORMAT csv, HEADER false)")
    con.close()


# -- one measurement (in a subprocess of its own) ----------------------------------------------
def _peak_rss() -> int:
    """This process's peak RSS in bytes. Linux's ``ru_maxrss`` keeps the high-water mark across
    ``fork``/``execve``, so a child started by a big parent reports the parent's peak; ``VmHWM``
    is the peak of the child's own address space (``ru_maxrss`` where there is no ``/proc``)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _engine(backend: str, rows: int, args: argparse.Namespace) -> sa.Engine:
    config = {"memory_limit": args.memory_limit} if args.memory_limit else {}
    if backend == "duckdb":
        return sa.create_engine(f"duckdb:///{args.workdir}/events-{rows}.duckdb",
                                connect_args={"read_only": True, "config": config})
    if backend == "parquet":
        engine = sa.create_engine("duckdb:///:memory:", connect_args={"config": config})
        glob = _quoted(Path(args.workdir) / f"events-{rows}.parquet") + "/*.parquet"

        @sa.event.listens_for(engine, "connect")
        def _view(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"CREATE VIEW events AS SELECT *, hash(filename, file_row_number) AS {ROW_KEY} "
                                     f"FROM read_parquet('{glob}')")

        return engine
    return sa.create_engine(args.postgres_url, connect_args=_pg_options(args))


def _pg_options(args: argparse.Namespace) -> dict[str, str]:
    """``--pg-jit off`` for every session: while PostgreSQL's JIT compiles the wide aggregate
    (a minute and more) the backend does not answer signal barriers, so any ``DROP DATABASE``
    on the server waits for it — a shared server's other users notice."""
    return {"options": "-c jit=off"} if args.pg_jit == "off" else {}


def _duckdb(backend: str, rows: int, args: argparse.Namespace) -> Any:
    """A native DuckDB connection to the window (``events``), for what SQLAlchemy would only slow."""
    import duckdb

    config = {"memory_limit": args.memory_limit} if args.memory_limit else {}
    if backend == "duckdb":
        return duckdb.connect(f"{args.workdir}/events-{rows}.duckdb", read_only=True, config=config)
    con = duckdb.connect(config=config)
    glob = _quoted(Path(args.workdir) / f"events-{rows}.parquet") + "/*.parquet"
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}')")
    return con


class PhaseClock:
    """Seconds per phase of ``profile_window``, marked where it builds each statement.

    ``profile_window`` looks ``_row_count``, ``numeric_summary``, ``nonfinite_summary``, ``row_sample``,
    ``sorted_values`` and ``category_groups`` up in ``driftwatch.pushdown.window`` when it calls
    them, so wrapping them there marks the start of every statement, whichever way its answer is
    then fetched (SQLAlchemy rows, or DuckDB's ``fetchnumpy`` on the raw connection). A phase
    lasts from its statement's start to the next one's (or the end): the fetching and the Python
    after each statement count too.
    """

    BUILDERS = {"_row_count": "aggregate", "numeric_summary": "aggregate", "nonfinite_summary": "aggregate",
                "row_sample": "sorted",
                "sorted_values": "sorted", "category_groups": "groupby"}

    def __init__(self) -> None:
        from driftwatch.pushdown import window

        self.marks: list[tuple[float, str]] = []
        for name, phase in self.BUILDERS.items():
            if not hasattr(window, name):
                raise RuntimeError(f"driftwatch.pushdown.window.{name} is gone: PhaseClock needs updating")
            setattr(window, name, self._marking(getattr(window, name), phase))

    def _marking(self, build: Any, phase: str) -> Any:
        def marked(*args: Any, **kwargs: Any) -> Any:
            self.marks.append((time.perf_counter(), phase))
            return build(*args, **kwargs)

        return marked

    @contextlib.contextmanager
    def run(self) -> Iterator[dict[str, Any]]:
        self.marks = []
        found: dict[str, Any] = {}
        start = time.perf_counter()
        try:
            yield found
        finally:
            end = time.perf_counter()
        seconds = dict.fromkeys(PHASES, 0.0)
        count = dict.fromkeys(PHASES, 0)
        for (at, phase), (until, _) in zip(self.marks, self.marks[1:] + [(end, "")]):
            seconds[phase] += until - at
            count[phase] += 1
        found.update(seconds=end - start, phases=seconds, statements=count,
                     before_first=(self.marks[0][0] if self.marks else end) - start)


def _dtypes() -> dict[str, str]:
    """What the SQL connector tells ``CurrentData.profiled`` the columns are."""
    from driftwatch.pushdown.types import pandas_dtype

    return {c: pandas_dtype(sa.Float() if c in NUMERIC_COLUMNS else sa.String()) for c in COLUMNS}


def measure_pushdown(backend: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    from driftwatch.api import default_detectors
    from driftwatch.detectors import CurrentData
    from driftwatch.engine import detect
    from driftwatch.profiling import Profile
    from driftwatch.pushdown import Source, profile_window

    reference = Profile.from_bytes(Path(args.workdir, "reference.profile").read_bytes())
    engine = _engine(backend, rows, args)
    clock = PhaseClock()
    baseline = _peak_rss()
    runs = []
    with engine.connect() as conn:
        for _ in range(args.repeat):
            with clock.run() as found:
                # events is a table (PostgreSQL samples it; DuckDB keys its rows by rowid), or a view keyed as
                # the file connector keys Parquet rows
                source = Source(sa.table("events"), table_sample=backend == "postgresql",
                                row_key={"duckdb": "rowid", "parquet": ROW_KEY}.get(backend))
                n_rows, profiles = profile_window(conn, source, reference, COLUMNS, text_columns=set(COLUMNS[NUMERIC:]),
                                                  dtypes=_dtypes(), max_sorted=args.max_sorted)
            runs.append(found)
    engine.dispose()
    peak = _peak_rss()
    window = Profile(schema=reference.schema, n_rows=n_rows, columns=profiles)
    Path(args.workdir, f"pushed-{backend}-{rows}.profile").write_bytes(window.to_bytes())
    findings = detect(reference, CurrentData.profiled(reference, n_rows, profiles, _dtypes()), default_detectors())
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {**best, "n_rows": n_rows, "all_seconds": [r["seconds"] for r in runs], "rss_baseline": baseline,
            "peak_rss": peak, "manifest": manifest({(d, f.feature, f.metric): f for d, f in findings})}


def _ranks(n: int, k: int) -> np.ndarray:
    """The ranks ``profile_window`` keeps past ``k`` values: ``⌈i (n − 1) / (k − 1)⌉``, i = 0 … k − 1."""
    if n <= k:
        return np.arange(n, dtype=np.int64)
    i = np.arange(k, dtype=np.int64)
    return (i * (n - 1) + (k - 2)) // (k - 1)


def measure_alternatives(backend: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    """Other ways to the sorted phase's order statistics, on the first ``--alt-columns`` columns.

    * the very ``ROW_NUMBER`` statement of ``profile_window``, its answer fetched in bulk from
      the driver's cursor (DuckDB ``fetchnumpy``, as ``profile_window`` now does too; psycopg
      ``fetchall``, where ``profile_window`` takes SQLAlchemy rows): what the fetching costs;
    * the database's percentile functions: discrete ones (DuckDB ``quantile_disc``, PostgreSQL
      ``percentile_disc``) return the value at 0-based rank ``⌈q n⌉ − 1``, so ``q = (r + ½) / n``
      asks for rank ``r`` exactly; DuckDB's ``approx_quantile`` (a t-digest) only nearly.
      DuckDB's ``quantile_disc`` over a list costs about ``n·k`` (each quantile selected on its
      own), so it is timed on one column for ``--alt-disc-k`` quantiles only.
    """
    from driftwatch.profiling import Profile
    from driftwatch.pushdown.sql import Source, sorted_values

    pushed = Profile.from_bytes(Path(args.workdir, f"pushed-{backend}-{rows}.profile").read_bytes())
    columns = NUMERIC_COLUMNS[:args.alt_columns]
    n = pushed.columns[columns[0]].n_finite
    probs = ((_ranks(n, args.max_sorted) + 0.5) / n).tolist()
    out: dict[str, Any] = {"columns": len(columns), "k": len(probs)}

    def report(name: str, values: list[Any], seconds: float, *, want: list[np.ndarray] | None = None) -> None:
        want = want if want is not None else [pushed.columns[c].sorted_values for c in columns[:len(values)]]
        got = [np.asarray(v, dtype=np.float64) for v in values]
        out[name] = {"seconds": seconds, "columns": len(values), "per_column": seconds / len(values),
                     "equal_columns": sum(np.array_equal(g, w) for g, w in zip(got, want)),
                     "max_cdf_error": max(_cdf_error(g, w) for g, w in zip(got, want))}

    engine = _engine(backend, rows, args)
    with engine.connect() as conn:
        start, values = time.perf_counter(), []
        for c in columns:
            statement = sorted_values(Source(sa.table("events")), c, n_finite=pushed.columns[c].n_finite,
                                      limit=args.max_sorted, dialect=conn.dialect.name)
            cursor = conn.execute(statement).cursor
            if backend == "postgresql":
                values.append([v for (v,) in cursor.fetchall()])
            else:  # one column, named v past max_sorted values, else after the column
                values.append(next(iter(cursor.fetchnumpy().values())))
        report("ROW_NUMBER, fetched in bulk", values, time.perf_counter() - start)
    engine.dispose()
    if backend in ("duckdb", "parquet"):
        con = _duckdb(backend, rows, args)
        start = time.perf_counter()
        row = con.execute(f"SELECT {', '.join(f'approx_quantile({c}, $p::FLOAT[])' for c in columns)} FROM events",
                          {"p": probs}).fetchone()  # approx_quantile takes single-precision quantiles
        report("approx_quantile, one statement", list(row), time.perf_counter() - start)
        ranks = _ranks(n, args.alt_disc_k)
        start = time.perf_counter()
        found = con.execute(f"SELECT quantile_disc({columns[0]}, $p) FROM events",
                            {"p": ((ranks + 0.5) / n).tolist()}).fetchone()[0]
        seconds = time.perf_counter() - start
        every = np.sort(con.execute(f"SELECT {columns[0]} FROM events").fetchnumpy()[columns[0]])
        report(f"quantile_disc, k = {ranks.size}", [found], seconds, want=[every[ranks]])
        con.close()
    else:
        import psycopg

        with psycopg.connect(_conninfo(args.postgres_url)) as pg:
            if args.pg_jit == "off":
                pg.execute("SET jit = off")
            start, values = time.perf_counter(), []
            for c in columns:
                answer = pg.execute(f"SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY {c}) FROM events",
                                    [probs]).fetchone()
                assert answer is not None
                values.append(answer[0])
            report("percentile_disc, a statement per column", values, time.perf_counter() - start)
    if backend == "postgresql":
        out["aggregate"] = aggregate_alternatives(rows, args, pushed)
    out["peak_rss"] = _peak_rss()
    return out


def aggregate_alternatives(rows: int, args: argparse.Namespace, pushed: Any) -> dict[str, Any]:
    """PostgreSQL's aggregate phase other ways: ``profile_window``'s statement with ``jit = off``
    (PostgreSQL's JIT compiles the wide statement in every worker, at ``jit_above_cost``), and
    ``COUNT(*) FILTER`` figures, each testing only what it needs — ``x < e`` is false for NULL
    and for NaN (sorted above every number) and true for −inf, which is subtracted — instead of
    ``SUM(CASE WHEN <finite> AND x < e …)``; its figures are checked against the profiles.
    (On DuckDB the FILTER form was 15–18× slower than ``profile_window``'s — 31.6 s against
    2.1 s at 1M rows, 380 s against 21 s at 10M — so it is not timed there.)"""
    from driftwatch.profiling import Profile
    from driftwatch.pushdown.sql import Source, numeric_summary

    reference = Profile.from_bytes(Path(args.workdir, "reference.profile").read_bytes())
    shifts = {c: reference.columns[c].mean if math.isfinite(reference.columns[c].mean) else 0.0
              for c in NUMERIC_COLUMNS}  # as profile_window takes them
    params: dict[str, float] = {"inf": math.inf, "neginf": -math.inf, "nan": math.nan}
    items = ["count(*)"]
    for i, c in enumerate(NUMERIC_COLUMNS):
        finite = f"{c} > %(neginf)s AND {c} < %(inf)s"
        params[f"s{i}"] = shifts[c]
        x = f"({c} - %(s{i})s)"
        items += [f"count({c})", f"count(*) FILTER (WHERE {c} = %(nan)s)", f"count(*) FILTER (WHERE {c} = %(inf)s)",
                  f"count(*) FILTER (WHERE {c} = %(neginf)s)", f"min({c}) FILTER (WHERE {finite})",
                  f"max({c}) FILTER (WHERE {finite})", f"sum({x}) FILTER (WHERE {finite})",
                  f"sum({x} * {x}) FILTER (WHERE {finite})"]
        for j, edge in enumerate(reference.columns[c].edges):
            params[f"e{i}_{j}"] = float(edge)
            items.append(f"count(*) FILTER (WHERE {c} < %(e{i}_{j})s)")
    out: dict[str, Any] = {}
    engine = _engine("postgresql", rows, args)
    with engine.connect() as conn:
        conn.exec_driver_sql("SET jit = off")
        statement = numeric_summary(Source(sa.table("events")), NUMERIC_COLUMNS,
                                    {c: reference.columns[c].edges for c in NUMERIC_COLUMNS}, shifts, "postgresql")
        start = time.perf_counter()
        conn.execute(statement).one()
        out["profile_window's statement, jit = off"] = time.perf_counter() - start
        start = time.perf_counter()
        row = conn.exec_driver_sql(f"SELECT {', '.join(items)} FROM events", params).one()
        out["COUNT(*) FILTER form, jit = off"] = time.perf_counter() - start
    engine.dispose()
    width = 8 + len(reference.columns[NUMERIC_COLUMNS[0]].edges)
    out["filter_form_equal"] = all(_filter_figures_match(row[1 + i * width:1 + (i + 1) * width], pushed.columns[c])
                                   for i, c in enumerate(NUMERIC_COLUMNS))
    return out


def _filter_figures_match(figures: Any, profile: Any) -> bool:
    present, nans, posinf, neginf, minimum, maximum = (figures[k] for k in range(6))
    finite = present - nans - posinf - neginf
    below = np.array(figures[8:], dtype=np.int64) - neginf
    bins = np.diff(np.concatenate(([0], below, [finite])))
    bins[0] += neginf
    bins[-1] += posinf
    return bool(finite == profile.n_finite and minimum == profile.minimum and maximum == profile.maximum
                and np.array_equal(bins, profile.bin_counts))


def _cdf_error(values: np.ndarray, exact: np.ndarray) -> float:
    """How far (in CDF units, to 1/k) each value sits from the rank it stands for."""
    if values.size != exact.size:
        return math.inf
    where = np.searchsorted(exact, values, side="left")
    return float(np.abs(where - np.arange(exact.size)).max() / max(exact.size - 1, 1))


def _pull(backend: str, rows: int, args: argparse.Namespace, columns: list[str]) -> Any:
    """``columns`` of the window as a pandas frame, read the way driftwatch's pulled path reads it."""
    import pandas as pd

    if backend == "duckdb":
        con = _duckdb(backend, rows, args)
        frame = con.execute(f"SELECT {', '.join(columns)} FROM events").df()
        con.close()
        return frame
    if backend == "parquet":
        return pd.read_parquet(Path(args.workdir) / f"events-{rows}.parquet", columns=columns)
    engine = sa.create_engine(args.postgres_url, connect_args=_pg_options(args))
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(*(sa.column(c) for c in columns)).select_from(sa.table("events")), conn)
    engine.dispose()
    return frame


def measure_pulled(backend: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    from driftwatch.api import default_detectors
    from driftwatch.column_profile import ColumnProfile, profile_categorical, profile_numeric
    from driftwatch.detectors import CurrentData
    from driftwatch.engine import detect
    from driftwatch.profiling import Profile

    reference = Profile.from_bytes(Path(args.workdir, "reference.profile").read_bytes())
    pushed = Profile.from_bytes(Path(args.workdir, f"pushed-{backend}-{rows}.profile").read_bytes())
    start = time.perf_counter()
    if rows <= args.frame_max:
        frame = _pull(backend, rows, args, COLUMNS)
        read = time.perf_counter() - start
        pulled_data = CurrentData(frame, reference)
        built = pulled_data.profiles(COLUMNS)
        pulled = {c: p for c, p in built.items() if isinstance(p, ColumnProfile)}
        mode, dtypes = "frame", {c: str(t) for c, t in frame.dtypes.items()}
    else:
        pulled, dtypes, read = {}, {}, 0.0
        for c in COLUMNS:
            began = time.perf_counter()
            one = _pull(backend, rows, args, [c])[c]
            read += time.perf_counter() - began
            dtypes[c] = str(one.dtype)
            pulled[c] = (profile_numeric(one, c, edges=reference.columns[c].edges)
                         if reference.columns[c].kind == "numeric" else profile_categorical(one, c))
            del one
        pulled_data = CurrentData.profiled(reference, rows, pulled, dtypes)
        mode = "columns"
    seconds = time.perf_counter() - start
    detectors = default_detectors()
    pushed_data = CurrentData.profiled(reference, pushed.n_rows, pushed.columns, _dtypes())
    on_pulled = {(d, f.feature, f.metric): f for d, f in detect(reference, pulled_data, detectors)}
    on_pushed = {(d, f.feature, f.metric): f for d, f in detect(reference, pushed_data, detectors)}
    differing = sorted(f"{d}/{c}/{m}: pulled {on_pulled[k].status if k in on_pulled else '-'}, "
                       f"pushed {on_pushed[k].status if k in on_pushed else '-'}"
                       for k in set(on_pulled) | set(on_pushed) for d, c, m in [k]
                       if k not in on_pulled or k not in on_pushed or on_pulled[k].status != on_pushed[k].status)
    value_gap: dict[str, float] = {}
    totals: dict[str, list[float]] = {}
    for key in set(on_pulled) & set(on_pushed):
        a, b = on_pulled[key].value, on_pushed[key].value
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
            value_gap[key[2]] = max(value_gap.get(key[2], 0.0), abs(a - b))
            pair = totals.setdefault(key[2], [0.0, 0.0])
            pair[0], pair[1] = pair[0] + a, pair[1] + b
    return {"mode": mode, "seconds": seconds, "read_seconds": read, "peak_rss": _peak_rss(),
            "mismatches": compare_profiles(pushed.columns, pulled, thinned=args.max_sorted),
            "moments_rel_error": _moments_error(pushed.columns, pulled),
            "decisions_differing": differing, "max_value_gap": value_gap,
            "value_sums": {m: t for m, t in totals.items() if value_gap[m] > 0},  # [pulled, pushed]
            "manifest_pushed": manifest(on_pushed), "manifest_pulled": manifest(on_pulled)}


def compare_profiles(got: Any, want: Any, *, thinned: int | None) -> list[str]:
    """What differs between two windows' profiles among the figures that must be exact; with
    ``thinned``, ``want``'s sorted values are all of them, and ``got``'s either their kept order
    statistics (equal) or a row sample, whose CDF must be within the DKW bound at 1 − 10⁻⁶."""
    found = []
    for name in COLUMNS:
        g, w = got.get(name), want.get(name)
        if g is None or w is None:
            found.append(f"{name}: profile missing ({'pushed' if g is None else 'other'})")
            continue
        fields = ["n", "n_missing"] + (["n_finite", "n_posinf", "n_neginf", "minimum", "maximum"]
                                       if g.kind == "numeric" else ["categories"])
        found += [f"{name}.{f}: {getattr(g, f)!r} != {getattr(w, f)!r}"
                  for f in fields if getattr(g, f) != getattr(w, f)]
        for f in ("bin_counts", "counts"):
            if not np.array_equal(getattr(g, f), getattr(w, f)):
                found.append(f"{name}.{f} differ")
        if g.kind == "numeric":
            expected = w.sorted_values if thinned is None else w.sorted_values[_ranks(w.sorted_values.size, thinned)]
            if np.array_equal(g.sorted_values, expected):
                continue
            if thinned is None or w.sorted_values.size <= thinned or g.sorted_values.size == 0:
                found.append(f"{name}.sorted_values differ")
                continue
            gap, bound = sample_gap(g.sorted_values, w.sorted_values)
            if gap > bound:
                found.append(f"{name}.sorted_values: a sample {gap:.5f} from the window's CDF (bound {bound:.5f})")
    return found


def sample_gap(sample: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    """The largest gap between a sample's CDF and the window's, and the DKW bound it should keep
    with probability 1 − 10⁻⁶ (docs/connectors.md, "Profiling in the database")."""
    cdf_sample = np.searchsorted(sample, window, side="right") / sample.size
    cdf_window = np.arange(1, window.size + 1) / window.size
    last = np.r_[window[1:] != window[:-1], True]  # the CDF at the end of each run of ties
    return float(np.abs(cdf_sample - cdf_window)[last].max()), math.sqrt(math.log(2e6) / (2 * sample.size))


def _moments_error(got: Any, want: Any) -> float:
    worst = 0.0
    for name in NUMERIC_COLUMNS:
        for f in ("mean", "std"):
            g, w = getattr(got[name], f), getattr(want[name], f)
            worst = max(worst, abs(g - w) / max(abs(w), 1e-300))
    return worst


def manifest(findings: dict[tuple[str, str, str], Any]) -> dict[str, int]:
    """Drift alerts against drift_bench's manifest of which columns moved."""
    status = {c: f.status for (d, c, m), f in findings.items() if d == "drift" and c}
    moved = SMALL_SHIFT + BIG_SHIFT + CAT_SHIFT
    return {"small_shift_alerts": sum(status.get(c) == "alert" for c in SMALL_SHIFT),
            "real_drift_alerts": sum(status.get(c) == "alert" for c in BIG_SHIFT + CAT_SHIFT),
            "false_alarms": sum(s == "alert" for c, s in status.items() if c not in moved)}


# -- the driver ----------------------------------------------------------------------------------
def _child(mode: str, backend: str, rows: int, args: argparse.Namespace, url: str | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, backend, str(rows), "--workdir", str(args.workdir),
               "--repeat", str(args.repeat), "--max-sorted", str(args.max_sorted), "--memory-limit", args.memory_limit,
               "--alt-columns", str(args.alt_columns), "--alt-disc-k", str(args.alt_disc_k), "--pg-jit", args.pg_jit,
               "--frame-max", str(args.frame_max)]
    if url is not None:
        command += ["--postgres-url", url]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def cross_check(workdir: Path, backend: str, rows: int) -> list[str]:
    """The same rows profiled by two backends must give the same exact figures; their samples
    of sorted values differ (a Bernoulli sample follows the order the rows are scanned in, which
    differs between a DuckDB file, Parquet files and a PostgreSQL table)."""
    from driftwatch.profiling import Profile

    got = Profile.from_bytes((workdir / f"pushed-{backend}-{rows}.profile").read_bytes())
    want = Profile.from_bytes((workdir / f"pushed-duckdb-{rows}.profile").read_bytes())
    found = compare_profiles(got.columns, want.columns, thinned=None)
    return [line for line in found if not line.endswith(".sorted_values differ")]


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


HEADER = (f"{'rows':>11} {'backend':>10} {'load s':>7} {'window s':>8} {'aggr s':>7} {'sorted s':>8} "
          f"{'groupby s':>9} {'stmts':>5} {'RSS MiB':>12} {'pulled s':>8} {'pulled RSS':>10}  equal / decisions")


def _verdict(problems: list[str], good: str) -> str:
    return good if not problems else f"{len(problems)} differ"


def row_line(r: dict[str, Any]) -> str:
    p, pulled = r["pushdown"], r.get("pulled")
    equal = []
    if pulled:
        equal.append(f"vs pulled ({pulled['mode']}): {_verdict(pulled['mismatches'], 'exact')}, "
                     f"decisions {_verdict(pulled['decisions_differing'], 'identical')}")
    if "cross_check" in r:
        equal.append(f"vs duckdb: {_verdict(r['cross_check'], 'identical')}")
    m = p["manifest"]
    equal.append(f"alerts 0.02sd {m['small_shift_alerts']}/5, real {m['real_drift_alerts']}/5, "
                 f"false {m['false_alarms']}")
    backend = r["backend"] + ("¹" if r.get("pg_jit") == "off" else "")
    return (f"{r['rows']:>11,} {backend:>10} {_fmt_s(r.get('load_seconds')):>7} {p['seconds']:>8.2f} "
            f"{p['phases']['aggregate']:>7.2f} {p['phases']['sorted']:>8.2f} {p['phases']['groupby']:>9.2f} "
            f"{sum(p['statements'].values()):>5} {p['peak_rss'] / MIB:>6.0f} ({p['rss_baseline'] / MIB:>3.0f}) "
            f"{_fmt_s(pulled['seconds'] if pulled else None):>8} "
            f"{(str(round(pulled['peak_rss'] / MIB)) if pulled else '-'):>10}  " + "; ".join(equal))


def phase_lines(r: dict[str, Any]) -> list[str]:
    p = r["pushdown"]
    total = p["seconds"]
    share = {k: v / total for k, v in p["phases"].items()}
    top = max(share, key=lambda k: share[k])
    lines = [f"{r['rows']:>11,} {r['backend']:>10}: {top} dominates ({share[top]:.0%}); "
             + ", ".join(f"{k} {p['phases'][k]:.2f} s ({share[k]:.0%}, {p['statements'][k]} statements)"
                         for k in PHASES)]
    alt = r.get("alternatives")
    if alt:
        per_col = p["phases"]["sorted"] / max(p["statements"]["sorted"], 1)
        lines.append(f"{'':>25}the sorted phase's order statistics, seconds per column (k = {alt['k']:,} unless said):")
        lines.append(f"{'':>27}profile_window (ROW_NUMBER, fetched its way): {per_col:.3f}")
        lines += [f"{'':>27}{k}: {v['per_column']:.3f} (equal on {v['equal_columns']}/{v['columns']} columns, "
                  f"max CDF error {v['max_cdf_error']:.1e})" for k, v in alt.items()
                  if isinstance(v, dict) and "per_column" in v]
        aggregate = alt.get("aggregate", {})
        if aggregate:
            lines.append(f"{'':>25}the aggregate phase, seconds: profile_window {p['phases']['aggregate']:.2f}; "
                         + "; ".join(f"{k} {v:.2f}" for k, v in aggregate.items() if isinstance(v, float))
                         + f" (figures equal: {aggregate['filter_form_equal']})")
    return lines


def report(records: list[dict[str, Any]], *, table: bool = True) -> None:
    """The table (unless printed row by row already), the phases, and what differs."""
    if table:
        print(HEADER)
        for record in records:
            print(row_line(record))
    print("\nwindow = the whole table; RSS = peak of the profiling process (its baseline after imports and the "
          "reference in brackets); PostgreSQL's own processes are not in it")
    if any(r.get("pg_jit") == "off" for r in records):
        print("¹ with jit = off in the bench's sessions (--pg-jit off)")
    print("\nphases (which one to optimise):")
    for record in records:
        for line in phase_lines(record):
            print(line)
    print("\nfinding values that differ, pushed down vs pulled (largest gap over columns; sums over columns):")
    for record in records:
        pulled = record.get("pulled") or {}
        gaps = [f"{m} {pulled['max_value_gap'][m]:.2g} ({a:.6g} pulled, {b:.6g} pushed)"
                for m, (a, b) in sorted(pulled.get("value_sums", {}).items())]
        if gaps:
            print(f"{record['rows']:>11,} {record['backend']:>10}: " + "; ".join(gaps))
    for record in records:
        problems = (record.get("pulled") or {}).get("mismatches", []) + \
                   (record.get("pulled") or {}).get("decisions_differing", []) + record.get("cross_check", [])
        if problems:
            print(f"\n{record['rows']:,} {record['backend']}: " + "; ".join(problems[:20]))


def _stop(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000", help="window sizes, comma separated")
    parser.add_argument("--with-100m", action="store_true", help="add 100M rows (DuckDB and Parquet only)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a server to create the bench's own database on")
    parser.add_argument("--pg-jit", choices=("server", "off"), default="server",
                        help="PostgreSQL's JIT as the server sets it, or off in the bench's sessions")
    parser.add_argument("--pg-max", type=int, default=10_000_000, help="most rows loaded into PostgreSQL")
    parser.add_argument("--pulled-max", type=int, default=10_000_000, help="most rows compared with the pulled path")
    parser.add_argument("--pg-pulled-max", type=int, default=1_000_000,
                        help="most rows pulled from PostgreSQL (read_sql is slow)")
    parser.add_argument("--frame-max", type=int, default=2_000_000,
                        help="most rows pulled as one frame; beyond, one column at a time")
    parser.add_argument("--max-sorted", type=int, default=250_000)
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB's memory_limit ('' for its default)")
    parser.add_argument("--alt-columns", type=int, default=8, help="columns the alternatives are timed on")
    parser.add_argument("--alt-disc-k", type=int, default=2_000,
                        help="quantiles DuckDB's quantile_disc is timed for (it costs about rows × k)")
    parser.add_argument("--no-alternatives", action="store_true", help="skip them (at 100M they take long)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", help="keep the generated files here (and reuse them); default a temp dir")
    parser.add_argument("--json", action="store_true", help="print the records as JSON instead of the table")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BACKEND", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--report", nargs="+", metavar="JSON", help="print the report of saved --json output(s)")
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        report([r for path in args.report for r in json.loads(Path(path).read_text())])
        return
    if args.dump:
        dump_csv(args.dump)
        return
    if args.child:
        mode, backend, rows = args.child[0], args.child[1], int(args.child[2])
        run = {"pushdown": measure_pushdown, "alternatives": measure_alternatives, "pulled": measure_pulled}[mode]
        print(json.dumps(run(backend, rows, args)))
        return

    signal.signal(signal.SIGTERM, _stop)  # so the database is dropped and the files removed
    sizes = [int(s) for s in args.rows.split(",")] + ([100_000_000] if args.with_100m else [])
    backends = [b for b in args.backends.split(",") if b]
    keep = args.workdir is not None
    args.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pushdown_bench_"))
    args.workdir.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []

    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    try:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(postgres_database(args.postgres_url)) if "postgresql" in backends else None
            build_reference(args.workdir)
            say(HEADER)
            for rows in sizes:
                built = build_duckdb(args.workdir, rows)
                for backend in backends:
                    if backend == "postgresql" and (url is None or rows > args.pg_max):
                        continue
                    record: dict[str, Any] = {"rows": rows, "backend": backend,
                                              "load_seconds": built.get(backend)}
                    if backend == "postgresql":
                        assert url is not None
                        record["pg_jit"] = args.pg_jit
                        record["load_seconds"] = load_postgres(url, args.workdir, rows)
                    record["pushdown"] = _child("pushdown", backend, rows, args, url)
                    if not args.no_alternatives:
                        record["alternatives"] = _child("alternatives", backend, rows, args, url)
                    if rows <= (args.pg_pulled_max if backend == "postgresql" else args.pulled_max):
                        record["pulled"] = _child("pulled", backend, rows, args, url)
                    if backend != "duckdb" and (args.workdir / f"pushed-duckdb-{rows}.profile").exists():
                        record["cross_check"] = cross_check(args.workdir, backend, rows)
                    records.append(record)
                    say(row_line(record))
        if args.json:
            print(json.dumps(records, indent=1))
            return
        report(records, table=False)
    finally:
        if not keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
