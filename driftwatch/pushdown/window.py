"""A current window's column profiles, computed by the database that holds it.

The detectors compare two ``ColumnProfile``s and do not learn where either came from: this
module fills the current side's from the aggregates of ``pushdown.sql`` instead of from a
pandas frame, with the reference's bin edges, so a window of any size costs the driftwatch
process the size of its answers (a row of figures, a bounded sample of sorted values per
numeric column, the distinct categories), never the size of its rows.

Exact, and equal to ``column_profile.profile_numeric`` / ``profile_categorical`` on the same rows:
row, missing, ``±inf`` and finite counts, minimum, maximum, counts per bin, counts per
category. The mean and standard deviation come from shifted sums (equal to 1e-9 relative on
ordinary data). Sorted values are all the finite values up to ``max_sorted`` of them. Past
that, on DuckDB and PostgreSQL tables, they are the finite values of a seeded Bernoulli sample
of the window's rows, about ``max_sorted`` of them (one scan for every column, or on DuckDB
with a row key none: drawn in the aggregate scan; see ``sample_percent``): a simple random
sample of the window, so its empirical CDF is within ``ε`` of the window's with probability at
least ``1 − 2·exp(−2mε²)`` for ``m`` sampled values (Dvoretzky–Kiefer–Wolfowitz, Massart's
constant: 0.005 at ``m`` = 250,000 but for one window in 130,000), and the rank tests' p-values
are those of a test on the sample: valid (a stable window is flagged no more often than
``alpha``), with the power of ``m`` values, not ``n``.
Elsewhere they are ``max_sorted`` evenly spaced order statistics (``column_profile.thin``'s ranks,
one sort per column), whose CDF moves by at most ``1 / max_sorted``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ..column_profile import categorical_profile
from ..profiling import ColumnProfile, Profile
from ..values import keyed_counts
from .sql import SampleRows, Source, category_groups, nonfinite_summary, numeric_summary, row_sample, sorted_values

__all__ = ["DEFAULT_MAX_SORTED", "Summary", "category_counts", "fetch_columns", "profile_window", "sample_percent",
           "statements", "summarize"]

#: Sorted values fetched per numeric column at most (the reference keeps as many by default).
DEFAULT_MAX_SORTED = 250_000
#: Rows fetched at a time from a driver (a server-side cursor on PostgreSQL).
_FETCH_ROWS = 20_000


def profile_window(conn: Connection, source: Source, reference: Profile, columns: Sequence[str], *,
                   dtypes: Mapping[str, str] | None = None, max_sorted: int = DEFAULT_MAX_SORTED,
                   text_columns: Collection[str] = ()) -> tuple[int, dict[str, ColumnProfile]]:
    """The window's row count and the profiles of ``columns`` (each profiled as the reference's
    kind of it), computed in the database behind ``conn``; ``text_columns``: those the database
    holds as text (their reference categories may be counted in the aggregate scan)."""
    dtypes = dtypes or {}
    numeric = [c for c in columns if reference.columns[c].kind == "numeric"]
    categorical = [c for c in columns if reference.columns[c].kind != "numeric"]
    edges = {c: reference.columns[c].edges for c in numeric}
    tallied = _tallied(conn.dialect.name, reference, categorical, text_columns)
    n_rows, figures, tallies, drawn = summarize(conn, source, numeric, edges,
                                                {c: _shift(reference.columns[c]) for c in numeric}, tallied,
                                                sample=_folded_sample(conn, source, numeric, max_sorted))
    values = _sorted_values(conn, source, {name: figures[name]["n_finite"] for name in numeric}, max_sorted, drawn)
    profiles: dict[str, ColumnProfile] = {}
    for name in numeric:
        profiles[name] = ColumnProfile(name=name, kind="numeric", dtype=dtypes.get(name, "float64"),
                                       sorted_values=values[name], edges=edges[name], **figures[name])
    for name in categorical:
        counts = tallies.get(name)
        if counts is None:  # not tallied, or some value is none of the reference's categories
            counts = category_counts(conn, source, name)
        profiles[name] = categorical_profile(counts, name, n=n_rows, n_missing=n_rows - int(counts.sum()),
                                             dtype=dtypes.get(name, "object"))
    return n_rows, profiles


#: Row stores, where a ``GROUP BY`` reads every row again: there a text column's reference
#: categories, up to ``_TALLY_MAX`` of them, are counted in the aggregate scan instead
#: (measured on PostgreSQL at 10M rows × 50 columns: 12 counts cost less than a third of the
#: ``GROUP BY``). Column stores read one column for a ``GROUP BY`` and keep it.
_TALLY_DIALECTS = frozenset({"postgresql"})
_TALLY_MAX = 32


def _tallied(dialect: str, reference: Profile, categorical: Sequence[str],
             text_columns: Collection[str]) -> dict[str, Sequence[str]]:
    if dialect not in _TALLY_DIALECTS:
        return {}
    kept = {name: reference.columns[name].categories for name in categorical if name in text_columns}
    return {name: keys for name, keys in kept.items() if 0 < len(keys) <= _TALLY_MAX}


def _folded_sample(conn: Connection, source: Source, numeric: Sequence[str], max_sorted: int) -> SampleRows | None:
    """The row sample to draw in the aggregate scan: on DuckDB, with a row key, when the window
    has more than ``max_sorted`` rows (counted first: a scan of the columns that cut the window,
    or none). Its percentage is set by rows, not finite values, so a column with missing values
    gets fewer than ``max_sorted`` of them."""
    if conn.dialect.name != "duckdb" or source.row_key is None or not numeric:
        return None
    n_rows = conn.execute(_row_count(source)).scalar_one()
    if n_rows <= max_sorted:
        return None
    return SampleRows(source.row_key, tuple(numeric), sample_percent({"rows": n_rows}, max_sorted))


def _row_count(source: Source) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(source.selectable).where(*source.conditions)


class Summary(NamedTuple):
    """What ``summarize`` finds (see there)."""

    n_rows: int
    figures: dict[str, dict[str, Any]]
    tallies: dict[str, pd.Series]
    #: Per numeric column, the sorted finite values of the sample drawn in the same scan ({} without one).
    sample: dict[str, np.ndarray]


def summarize(conn: Connection, source: Source, columns: Sequence[str], edges: Mapping[str, np.ndarray],
              shifts: Mapping[str, float], categories: Mapping[str, Sequence[str]] | None = None, *,
              sample: SampleRows | None = None) -> Summary:
    """The row count; per numeric column, every ``ColumnProfile`` figure but the sorted values;
    per column of ``categories``, its counts per category when those categories are all its
    values (else it is left out: a ``GROUP BY`` must find the others); the ``sample``, when
    asked for. One aggregate ``SELECT``, and a second only for columns holding ``NaN`` or ``±inf``."""
    dialect = conn.dialect.name
    statement = numeric_summary(source, columns, edges, shifts, dialect, categories, sample)
    drawn: dict[str, np.ndarray] = {}
    if sample is None:
        row: Mapping[str, Any] = dict(conn.execute(statement).mappings().one())
    else:
        row, drawn = _summary_and_sample(conn, statement, sample)
    n_rows = int(row["n"])
    tallies = {}
    for k, (name, keys) in enumerate((categories or {}).items()):
        counts = np.array([int(row[f"c{k}_{j}"] or 0) for j in range(len(keys))], dtype=np.int64)
        if counts.sum() == int(row[f"c{k}_present"]):
            tallies[name] = _keyed(keys, counts)
    odd = [name for i, name in enumerate(columns) if int(row[f"{i}_odd"] or 0)]
    split: dict[str, dict[str, Any]] = {}
    if odd:
        more = conn.execute(nonfinite_summary(source, odd, shifts, dialect)).mappings().one()
        split = {name: {key: more[f"{k}_{key}"] for key in ("nan", "posinf", "neginf", "min", "max", "sum1", "sum2")}
                 for k, name in enumerate(odd)}
    figures = {}
    for i, name in enumerate(columns):
        raw = {key: row[f"{i}_{key}"] for key in ("present", "min", "max", "sum1", "sum2")}
        raw.update(split.get(name, {}))
        below = [int(row[f"{i}_below_{j}"] or 0) for j in range(len(edges.get(name, ())))]
        figures[name] = _figures(raw, below, n_rows, edges.get(name, np.empty(0)), float(shifts.get(name, 0.0)))
    return Summary(n_rows, figures, tallies, drawn)


def _summary_and_sample(conn: Connection, statement: Any,
                        sample: SampleRows) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The aggregate row as a mapping, and the sample's sorted finite values per column, from
    DuckDB through Arrow (as Python objects, 250,000 rows of 40 columns held 1.9 GB)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _on_duckdb(conn, statement, _arrow_table)
    row = {name: table.column(name)[0].as_py() for name in table.column_names if name != "sample"}
    rows = table.column("sample").combine_chunks()
    drawn = {}
    for i, name in enumerate(sample.columns):
        if rows.null_count:  # no row drawn: DuckDB's empty filtered list is NULL
            values = np.empty(0, dtype=np.float64)
        else:
            values = pc.cast(rows.flatten().field(i), pa.float64()).to_numpy(zero_copy_only=False)
        drawn[name] = np.sort(values[np.isfinite(values)], kind="quicksort")
    return row, drawn


def _arrow_table(raw: Any, sql: str, params: Any) -> Any:
    if hasattr(raw, "fetch_arrow_table"):  # DuckDB 1.x
        return raw.execute(sql, params).fetch_arrow_table()
    return raw.sql(sql, params=params).to_arrow_table()  # 2.x, where a DB-API result's Arrow is a copy


def category_counts(conn: Connection, source: Source, name: str) -> pd.Series:
    """Counts per category key of column ``name`` (``NULL`` left out), by its ``GROUP BY``."""
    present = [(value, int(count)) for value, count in conn.execute(category_groups(source, name)) if value is not None]
    return _keyed([value for value, _ in present], np.array([count for _, count in present], dtype=np.int64))


def _keyed(values: Sequence[Any], counts: np.ndarray) -> pd.Series:
    """``values.keyed_counts`` of raw values (held in an object array as they are, tuples too)."""
    distinct = np.empty(len(values), dtype=object)
    distinct[:] = list(values)
    return keyed_counts(distinct, counts)


def sample_percent(n_finite: Mapping[str, int], max_sorted: int) -> float:
    """The percentage of rows a sample keeps so the column with the most finite values gets
    about ``max_sorted`` of them (Bernoulli: ± 3·√max_sorted, 0.6 % at 250,000)."""
    return min(100.0, 100.0 * max_sorted / max(max(n_finite.values()), 1))


def _sorted_values(conn: Connection, source: Source, n_finite: Mapping[str, int], max_sorted: int,
                   drawn: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each column's sorted finite values: all of them, or a sample (see the module docstring);
    ``drawn``: the sample drawn in the aggregate scan, if it was."""
    dialect = conn.dialect.name
    found = {name: np.empty(0, dtype=np.float64) for name, n in n_finite.items() if n == 0}
    big = {name: n for name, n in n_finite.items() if n > max_sorted}
    if drawn:
        found.update({name: drawn[name] for name in big})
        big = {}
    sample = row_sample(source, list(big), sample_percent(big, max_sorted), dialect) if big else None
    if sample is not None:
        for name, column in zip(big, fetch_columns(conn, sample)):
            values = _floats(column)
            found[name] = np.sort(values[np.isfinite(values)], kind="quicksort")
    for name, n in n_finite.items():
        if name not in found:
            query = sorted_values(source, name, n_finite=n, limit=max_sorted, dialect=dialect)
            found[name] = _floats(fetch_columns(conn, query)[0])
    return found


def _floats(column: np.ndarray) -> np.ndarray:
    """A fetched column as float64, ``NULL`` (a masked entry from DuckDB, ``None`` from a
    driver) as ``NaN``."""
    if isinstance(column, np.ma.MaskedArray):
        return np.ma.masked_array(column, dtype=np.float64).filled(np.nan)
    return column.astype(np.float64)  # an object array's None becomes NaN, a Decimal its float


def statements(source: Source, reference: Profile, columns: Sequence[str], *, dialect: str,
               max_sorted: int = DEFAULT_MAX_SORTED, text_columns: Collection[str] = ()) -> list[tuple[str, Any]]:
    """What ``profile_window`` runs, without running it, as ``(what, statement)``: the aggregate
    ``SELECT`` (and, for columns holding ``NaN`` or ``±inf``, the second one), the sorted values
    in the form used past ``max_sorted`` finite values (the row sample where the database has
    one, else each column's evenly spaced order statistics; below it, each column's ordered
    ``SELECT``), each ``GROUP BY``."""
    numeric = [c for c in columns if reference.columns[c].kind == "numeric"]
    edges = {c: reference.columns[c].edges for c in numeric}
    shifts = {c: _shift(reference.columns[c]) for c in numeric}
    tallied = _tallied(dialect, reference, [c for c in columns if c not in numeric], text_columns)
    what = "figures of every numeric column" + (", counts of the known categories" if tallied else "")
    found: list[tuple[str, Any]] = []
    fold = None
    if dialect == "duckdb" and source.row_key is not None and numeric:
        fold = SampleRows(source.row_key, tuple(numeric), 0.5)
        found.append((f"the window's rows (past {max_sorted:,} a sample is drawn in the aggregate scan)",
                      _row_count(source)))
        what += f"; past {max_sorted:,} rows, a sample of about that many rows (the percentage to match)"
    found.append((what, numeric_summary(source, numeric, edges, shifts, dialect, tallied, fold)))
    if numeric:
        found.append(("finite figures of the columns holding NaN or ±inf (only when they do)",
                      nonfinite_summary(source, numeric, shifts, dialect)))
    sample = row_sample(source, numeric, 0.5, dialect) if numeric and fold is None else None
    if fold is not None:
        found += [(f"sorted values of {name!r} (only when the window has more than {max_sorted:,} rows but it "
                   "not that many finite values)", sorted_values(source, name, n_finite=1, limit=max_sorted,
                                                                 dialect=dialect)) for name in numeric]
    elif sample is not None:
        found.append((f"a sample of about {max_sorted:,} rows when a column has more finite values "
                      "(the percentage to match)", sample))
    else:
        found += [(f"sorted values of {name!r} (more than {max_sorted:,} finite)",
                   sorted_values(source, name, n_finite=max_sorted + 1, limit=max_sorted, dialect=dialect))
                  for name in numeric]
    found += [(f"categories of {name!r}" + (" (only when some value is not a reference category)"
                                             if name in tallied else ""), category_groups(source, name))
              for name in columns if name not in numeric]
    return found


def fetch_columns(conn: Connection, statement: Any) -> list[np.ndarray]:
    """The result of ``statement`` as one array per column. DuckDB hands its result over as
    numpy arrays (``fetchnumpy``: 4× faster than rows through SQLAlchemy for a 250,000-value
    sample); other databases' rows go through SQLAlchemy."""
    if conn.dialect.name == "duckdb":
        fetched = _on_duckdb(conn, statement, lambda raw, sql, params: raw.execute(sql, params).fetchnumpy())
        return [column if isinstance(column, np.ma.MaskedArray) else np.asarray(column)
                for column in fetched.values()]
    width = len(statement.selected_columns)
    parts: list[list[np.ndarray]] = [[] for _ in range(width)]
    # In parts, so a 250,000-row sample never sits in memory as millions of Python objects at once.
    for rows in conn.execute(statement.execution_options(yield_per=_FETCH_ROWS)).partitions():
        for i in range(width):
            parts[i].append(np.array([row[i] for row in rows]))
    return [np.concatenate(p) if p else np.empty(0) for p in parts]


def _on_duckdb(conn: Connection, statement: Any, fetch: Callable[[Any, str, Any], Any]) -> Any:
    """``fetch(connection, sql, parameters)``: ``statement`` run and fetched on DuckDB's own
    connection (as numpy arrays or Arrow, which SQLAlchemy's rows would make Python objects)."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    names = compiled.positiontup
    params = [compiled.params[name] for name in names] if names else compiled.params
    raw = conn.connection.dbapi_connection
    assert raw is not None
    try:
        return fetch(raw, str(compiled), params)
    except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would have raised it
        raise DBAPIError.instance(str(compiled), params, exc, conn.dialect.loaded_dbapi.Error) from exc


def _shift(reference: ColumnProfile) -> float:
    """Where the shifted sums are taken from: the reference mean, near the window's own."""
    return reference.mean if math.isfinite(reference.mean) else 0.0


def _figures(raw: Mapping[str, Any], below_edges: Sequence[int], n_rows: int, edges: np.ndarray,
             shift: float) -> dict[str, Any]:
    """One column's ``ColumnProfile`` counts and moments from its aggregates (see ``summarize``)."""
    present = int(raw["present"]) - int(raw.get("nan") or 0)
    posinf, neginf = int(raw.get("posinf") or 0), int(raw.get("neginf") or 0)
    n_finite = present - posinf - neginf
    mean = std = minimum = maximum = math.nan
    if n_finite:
        s1, s2 = float(raw["sum1"]), float(raw["sum2"])
        mean = shift + s1 / n_finite
        if n_finite > 1:
            std = math.sqrt(max(s2 - s1 * s1 / n_finite, 0.0) / (n_finite - 1))
        minimum, maximum = float(raw["min"]), float(raw["max"])
    if edges.size:  # ``x < e`` counted -inf too
        below = np.array(below_edges, dtype=np.int64) - neginf
        bins = np.diff(np.concatenate(([0], below, [n_finite]))).astype(np.int64)
        bins[0] += neginf
        bins[-1] += posinf
    else:
        bins = np.array([n_finite + neginf + posinf], dtype=np.int64)
    return {"n": n_rows, "n_missing": n_rows - present, "n_finite": n_finite, "n_posinf": posinf,
            "n_neginf": neginf, "mean": mean, "std": std, "minimum": minimum, "maximum": maximum,
            "bin_counts": bins}
