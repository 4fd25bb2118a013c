"""Pushed-down window profiles equal the pulled ones (issue 13): the same rows profiled by the
database (``driftwatch.pushdown``) and by pandas after ``read_sql`` give the same counts, bins,
extremes, categories and sorted values, and moments to 1e-9 — on SQLite, DuckDB and, when
``DRIFTWATCH_TEST_POSTGRES_URL`` is set, PostgreSQL (which, unlike SQLite, stores NaN)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from driftwatch.column_profile import profile_categorical, profile_numeric
from driftwatch.profiling import profile
from driftwatch.pushdown import Source, profile_window
from driftwatch.pushdown.sql import numeric_summary, sorted_values

ROWS = 600
SCHEMA = {"numeric": ["x", "k", "flat"], "categorical": ["c", "n"]}


def _rows() -> list[dict[str, Any]]:
    """Two days of rows: normal values with NULL, NaN and ±inf mixed in, integers, a constant,
    text categories with NULLs and a rare one, integer categories."""
    rng = np.random.default_rng(13)
    rows = []
    for i in range(ROWS):
        x: float | None = float(rng.normal(0.3, 1.2))
        roll = rng.random()
        if roll < 0.03:
            x = None
        elif roll < 0.05:
            x = math.nan
        elif roll < 0.06:
            x = math.inf
        elif roll < 0.065:
            x = -math.inf
        rows.append({"day": 1 + i % 2, "x": x, "k": int(rng.integers(-5, 40)), "flat": 2.5,
                     "c": None if rng.random() < 0.05 else str(rng.choice(["a", "b", "c", "zz"], p=[.5, .3, .19, .01])),
                     "n": int(rng.integers(0, 4))})
    return rows


def _table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table("events", metadata, sa.Column("day", sa.Integer), sa.Column("x", sa.Float),
                    sa.Column("k", sa.Integer), sa.Column("flat", sa.Float), sa.Column("c", sa.String(8)),
                    sa.Column("n", sa.Integer))


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'w.db'}"
    elif request.param == "duckdb":
        pytest.importorskip("duckdb_engine")
        url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_database")
    made = sa.create_engine(url)
    metadata = sa.MetaData()
    table = _table(metadata)
    metadata.create_all(made)
    with made.begin() as conn:
        conn.execute(table.insert(), _rows())
    yield made
    made.dispose()


REFERENCE = profile(pd.DataFrame({
    "x": np.random.default_rng(1).normal(0, 1, 400), "k": np.arange(400) % 30, "flat": np.full(400, 2.5),
    "c": np.random.default_rng(2).choice(["a", "b", "c"], 400), "n": np.arange(400) % 3}), SCHEMA)
DAY_ONE = Source(sa.table("events"), (sa.column("day") == sa.bindparam(None, 1),))


def _pulled(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT x, k, flat, c, n FROM events WHERE day = 1"), conn)


def test_pushed_down_profiles_equal_the_pulled_ones(engine: sa.Engine) -> None:
    frame = _pulled(engine)
    with engine.connect() as conn:
        n_rows, pushed = profile_window(conn, DAY_ONE, REFERENCE, ["x", "k", "flat", "c", "n"])
    assert n_rows == len(frame) == ROWS // 2
    for name in ("x", "k", "flat"):
        want = profile_numeric(frame[name], name, edges=REFERENCE.columns[name].edges)
        got = pushed[name]
        assert (got.n, got.n_missing, got.n_finite, got.n_posinf, got.n_neginf) == \
               (want.n, want.n_missing, want.n_finite, want.n_posinf, want.n_neginf), name
        assert (got.minimum, got.maximum) == (want.minimum, want.maximum), name
        assert got.bin_counts.tolist() == want.bin_counts.tolist(), name
        assert got.sorted_values.tolist() == want.sorted_values.tolist(), name
        assert got.mean == pytest.approx(want.mean, rel=1e-9, abs=1e-12), name
        if name == "flat":
            assert got.std == pytest.approx(0.0, abs=1e-12)
        else:
            assert got.std == pytest.approx(want.std, rel=1e-9), name
    for name in ("c", "n"):
        want = profile_categorical(frame[name], name)
        got = pushed[name]
        assert (got.n, got.n_missing, got.categories, got.counts.tolist()) == \
               (want.n, want.n_missing, want.categories, want.counts.tolist()), name


def test_a_database_that_stores_nan_counts_it_missing_as_pandas_does(engine: sa.Engine) -> None:
    """Hand-counted: day 1's ``x`` holds NULLs, NaNs (SQLite keeps them as NULL), +inf and -inf."""
    expected = [r["x"] for r in _rows() if r["day"] == 1]
    missing = sum(1 for v in expected if v is None or (isinstance(v, float) and math.isnan(v)))
    with engine.connect() as conn:
        _, pushed = profile_window(conn, DAY_ONE, REFERENCE, ["x"])
    x = pushed["x"]
    assert (x.n_missing, x.n_posinf, x.n_neginf) == (missing, expected.count(math.inf), expected.count(-math.inf))
    assert x.n_finite == len(expected) - missing - x.n_posinf - x.n_neginf > 0


def _sampling(engine: sa.Engine) -> bool:
    """Whether past ``max_sorted`` this engine's sorted values are a row sample (DuckDB, and a
    PostgreSQL source marked as a table) or evenly spaced order statistics (the rest)."""
    return engine.dialect.name in ("duckdb", "postgresql")


def _big_window(engine: sa.Engine) -> Source:
    return Source(DAY_ONE.selectable, DAY_ONE.conditions, table_sample=engine.dialect.name == "postgresql")


def test_a_big_window_keeps_evenly_spaced_order_statistics_where_it_cannot_sample(engine: sa.Engine) -> None:
    """Past ``max_sorted`` the sample is the ``⌈i (n − 1) / (k − 1)⌉``-th smallest values, i = 0…k−1:
    first and last included, and the empirical CDF within 1 / k of the full one."""
    frame = _pulled(engine)
    finite = np.sort(frame["k"].to_numpy(dtype=float))
    with engine.connect() as conn:
        _, pushed = profile_window(conn, DAY_ONE, REFERENCE, ["k"], max_sorted=40)  # a view: no TABLESAMPLE
    got = pushed["k"]
    ranks = [math.ceil(i * (finite.size - 1) / 39) for i in range(40)]
    if engine.dialect.name == "duckdb":  # DuckDB samples any relation
        assert got.sorted_values.size != 40
    else:
        assert got.n_finite == finite.size and got.sorted_values.tolist() == finite[ranks].tolist()


def test_a_big_window_on_duckdb_or_a_postgresql_table_is_a_seeded_row_sample(engine: sa.Engine) -> None:
    """The sample's values are the window's (a sub-multiset), about ``max_sorted`` of the biggest
    column's finite values (within 5 binomial sds), its CDF within the DKW bound of the window's
    at 1 − 10⁻⁶ (docs/connectors.md), the same on every run; every count stays exact."""
    if not _sampling(engine):
        pytest.skip("SQLite has no sampling: evenly spaced order statistics (the test above)")
    frame = _pulled(engine)
    sources = [_big_window(engine)]
    if engine.dialect.name == "duckdb":  # a table's rows keyed by rowid: the sample is drawn in the aggregate scan
        sources.append(Source(DAY_ONE.selectable, DAY_ONE.conditions, row_key="rowid"))
    drawn = []
    for source in sources:
        with engine.connect() as conn:
            _, pushed = profile_window(conn, source, REFERENCE, ["x", "k"], max_sorted=60)
            _, again = profile_window(conn, source, REFERENCE, ["x", "k"], max_sorted=60)
        _check_sample(frame, pushed, again)
        drawn.append(pushed["k"].sorted_values.tolist())
    assert len(drawn) == 1 or drawn[0] != drawn[1]  # two ways, two samples


def test_the_file_connector_keys_every_parquet_row_apart_and_the_same_way_each_time(tmp_path: Path) -> None:
    """``ROW_KEY`` is unique over the rows of several files and the same on a second read (the
    sample drawn by it is then the same every run); files holding ``filename`` go without."""
    duckdb = pytest.importorskip("duckdb")
    from driftwatch.connectors.file_duckdb import ROW_KEY, keyed_rows

    for i in range(2):
        pd.DataFrame({"x": np.arange(1000.0)}).to_parquet(tmp_path / f"{i}.parquet")
    files = [str(tmp_path / "0.parquet"), str(tmp_path / "1.parquet")]
    keys = []
    for _ in range(2):
        rows, keyed = keyed_rows(duckdb.connect(), files)
        keys.append(rows.project(ROW_KEY).fetchnumpy()[ROW_KEY].tolist())
        assert keyed
    assert len(set(keys[0])) == 2000 and keys[0] == keys[1]
    pd.DataFrame({"filename": ["a"]}).to_parquet(tmp_path / "2.parquet")
    assert keyed_rows(duckdb.connect(), [str(tmp_path / "2.parquet")])[1] is False


def _check_sample(frame: pd.DataFrame, pushed: dict[str, Any], again: dict[str, Any]) -> None:
    n = len(frame)
    p = 60 / n  # k: every row finite, the most of the two
    for name in ("x", "k"):
        window = frame[name].to_numpy(dtype=float)
        window = np.sort(window[np.isfinite(window)])
        got = pushed[name].sorted_values
        assert got.tolist() == again[name].sorted_values.tolist(), name
        assert pushed[name].n_finite == window.size, name
        values, counts = np.unique(got, return_counts=True)
        have = dict(zip(*np.unique(window, return_counts=True)))
        assert all(have.get(v, 0) >= c for v, c in zip(values, counts)), name
        expected = p * window.size
        assert abs(got.size - expected) <= 5 * math.sqrt(expected * (1 - p)), name
        gap = np.max(np.abs(np.searchsorted(got, window, side="right") / got.size
                            - np.searchsorted(window, window, side="right") / window.size))
        assert gap <= math.sqrt(math.log(2 / 1e-6) / (2 * got.size)), name


def test_out_of_range_share_counts_every_row_of_a_sampled_window(engine: sa.Engine) -> None:
    """The rows outside the reference's range are counted from the first and last bins, exact
    whatever the sorted values hold: a sampled (or thinned) window reads as the pulled one."""
    from driftwatch.detectors import CurrentData, QualityDetector
    from driftwatch.model import Schema

    frame = _pulled(engine)
    with engine.connect() as conn:
        n_rows, pushed = profile_window(conn, _big_window(engine), REFERENCE, ["x", "k"], max_sorted=30)
    assert pushed["k"].sorted_values.size < pushed["k"].n_finite
    schema = Schema(numeric=("x", "k"))
    detector = QualityDetector()
    dtypes = {"x": "float64", "k": "int64"}
    got = detector.run(REFERENCE, CurrentData.profiled(REFERENCE, n_rows, pushed, dtypes), schema)
    want = detector.run(REFERENCE, CurrentData(frame[["x", "k"]], REFERENCE), schema)
    share = {(f.feature, f.metric): f.value for f in got if f.metric == "out_of_range_share"}
    assert share == {(f.feature, f.metric): f.value for f in want if f.metric == "out_of_range_share"}
    k = frame["k"].to_numpy()  # hand-counted: the reference's k runs 0 … 29
    assert share[("k", "out_of_range_share")] == np.count_nonzero((k < 0) | (k > 29)) / k.size > 0


def test_known_categories_counted_in_the_aggregate_scan_equal_the_group_by(engine: sa.Engine) -> None:
    """On PostgreSQL (a row store) a text column's reference categories are counted in the one
    aggregate scan: when they are all its values no ``GROUP BY`` runs, and when some value is new
    (``zz`` below) its ``GROUP BY`` does; either way the profile is pandas'."""
    frame = _pulled(engine)
    knows_all = profile(pd.DataFrame({"x": np.arange(4.0), "c": ["a", "b", "c", "zz"]}),
                        {"numeric": ["x"], "categorical": ["c"]})
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    for reference, group_bys in ((knows_all, 0), (REFERENCE, 1)):
        statements.clear()
        with engine.connect() as conn:
            _, pushed = profile_window(conn, DAY_ONE, reference, ["c"], text_columns={"c"})
        want = profile_categorical(frame["c"], "c")
        got = pushed["c"]
        assert (got.n, got.n_missing, got.categories, got.counts.tolist()) == \
               (want.n, want.n_missing, want.categories, want.counts.tolist())
        if engine.dialect.name == "postgresql":
            assert sum("GROUP BY" in text for text in statements) == group_bys
    sa.event.remove(engine, "before_cursor_execute", seen)


def test_values_are_bound_never_written_into_the_sql() -> None:
    """Edges, shifts and limits are parameters: the statement text holds none of them."""
    edges = {"x": np.array([-1.2345678, 0.5, 7.25])}
    summary = numeric_summary(DAY_ONE, ["x"], edges, {"x": 0.123456}, "postgresql")
    sample = sorted_values(DAY_ONE, "x", n_finite=98765, limit=4321, dialect="postgresql")
    for statement in (summary, sample):
        text = str(statement.compile(dialect=postgresql.dialect()))
        assert not any(v in text for v in ("1.2345678", "0.5", "7.25", "0.123456", "98764", "4320", "'inf", "Infinity", "NaN"))
        assert "%(" in text  # psycopg's named parameters


def _dialects() -> list[Any]:
    from sqlalchemy.dialects import mssql, mysql, oracle, sqlite
    found = [postgresql.dialect(), mysql.dialect(), mssql.dialect(), oracle.dialect(), sqlite.dialect()]
    for module, name in (("duckdb_engine", "Dialect"), ("trino.sqlalchemy.dialect", "TrinoDialect")):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name)())
        except ImportError:  # pragma: no cover - both are test extras
            pass
    return found


@pytest.mark.parametrize("dialect", _dialects(), ids=lambda d: d.name)
def test_the_statements_compile_for_each_dialect_with_every_value_bound(dialect: Any) -> None:
    """What ``driftwatch explain`` shows a user of another database: it compiles, tests NaN the
    way that database can, and binds every value (here the edges, the shift and the window)."""
    from driftwatch.pushdown.window import statements

    window = Source(sa.table("events"), (sa.column("day") == sa.bindparam("day", 7),))
    found = statements(window, REFERENCE, ["x", "k", "c"], dialect=dialect.name, max_sorted=1000)
    sorted_part = (["a sample of about 1,000 rows when a column has more finite values (the percentage to match)"]
                   if dialect.name == "duckdb" else
                   ["sorted values of 'x' (more than 1,000 finite)", "sorted values of 'k' (more than 1,000 finite)"])
    assert [what for what, _ in found] == ["figures of every numeric column",
                                           "finite figures of the columns holding NaN or ±inf (only when they do)",
                                           *sorted_part, "categories of 'c'"]
    texts = [str(statement.compile(dialect=dialect)) for _, statement in found]
    nan_test = {"trino": "is_nan(x)", "duckdb": "isnan(x)", "sqlite": None, "mysql": None}.get(dialect.name, "x")
    if nan_test is not None:
        assert nan_test in texts[1]
    if dialect.name == "duckdb":  # the sample clause takes constants only: the one number written in
        assert texts[2].rstrip().endswith("USING SAMPLE 0.5 PERCENT (bernoulli, 20261204)")
    edges = [repr(float(e))[:8] for e in REFERENCE.columns["x"].edges[1:-1]]
    assert not any(edge in text for edge in edges for text in texts)
    assert all(" 7" not in text and "= 7" not in text for text in texts)


def test_a_reference_profiled_in_the_database_equals_the_pulled_one(engine: sa.Engine) -> None:
    """Exact quantile edges (numpy's interpolation between the ranks around each quantile),
    the thinned sample, every bin and category count — the same numbers as ``profile``."""
    from driftwatch.model import Schema
    from driftwatch.profiling import ProfileOptions
    from driftwatch.pushdown.reference import profile_reference

    schema = Schema.from_value(SCHEMA)
    options = ProfileOptions(bins=7, max_sample=100, max_categories=2)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text("SELECT x, k, flat, c, n FROM events"), conn)
        pushed = profile_reference(conn, Source(sa.table("events")), schema, options, {})
    pulled = profile(frame, schema, options)
    assert pushed.n_rows == pulled.n_rows == ROWS
    for name in ("x", "k", "flat"):
        got, want = pushed.columns[name], pulled.columns[name]
        assert got.sorted_values.size == min(want.n_finite, 100)
        for field in ("n", "n_missing", "n_finite", "n_posinf", "n_neginf", "minimum", "maximum"):
            assert getattr(got, field) == getattr(want, field), (name, field)
        for field in ("edges", "bin_counts", "sorted_values"):
            assert getattr(got, field).tolist() == getattr(want, field).tolist(), (name, field)
        assert got.mean == pytest.approx(want.mean, rel=1e-9, abs=1e-12)
        assert got.std == pytest.approx(want.std, rel=1e-9, abs=1e-12)
    for name in ("c", "n"):
        got, want = pushed.columns[name], pulled.columns[name]
        assert (got.categories, got.counts.tolist(), got.other_count, got.n_missing) == \
               (want.categories, want.counts.tolist(), want.other_count, want.n_missing), name
        assert (got.other_singletons, got.other_doubletons) == (want.other_singletons, want.other_doubletons)


def test_numpy_quantiles_are_rebuilt_exactly_from_two_ranks_each() -> None:
    """The edges a database's order statistics give equal ``np.quantile``'s, bit for bit."""
    from driftwatch.pushdown.reference import linear_quantiles, quantile_ranks

    rng = np.random.default_rng(8)
    for _ in range(300):
        n, bins = int(rng.integers(1, 3000)), int(rng.integers(2, 60))
        values = np.sort(np.round(rng.normal(0, 10.0 ** rng.integers(-3, 6), n), int(rng.integers(0, 6))))
        qs = np.arange(1, bins) / bins
        below, above, gamma = quantile_ranks(n, qs)
        assert linear_quantiles(values[below], values[above], gamma).tolist() == np.quantile(values, qs).tolist()
