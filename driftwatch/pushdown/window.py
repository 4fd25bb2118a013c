"""A current window's column profiles, computed by the database that holds it.

The detectors compare two ``ColumnProfile``s and do not learn where either came from: this
module fills the current side's from the aggregates of ``pushdown.sql`` instead of from a
pandas frame, with the reference's bin edges, so a window of any size costs the driftwatch
process the size of its answers (a row of figures, a bounded sorted sample per numeric column,
the distinct categories), never the size of its rows.

Exact, and equal to ``profiling.profile_numeric`` / ``profile_categorical`` on the same rows:
row, missing, ``±inf`` and finite counts, minimum, maximum, counts per bin, counts per
category. The mean and standard deviation come from shifted sums (equal to 1e-9 relative on
ordinary data). Sorted values are all the finite values up to ``max_sorted`` of them, else
``max_sorted`` evenly spaced order statistics (``profiling.thin``'s ranks): the empirical CDF
then moves by at most ``1 / max_sorted``, the bound the reference's thinned sample already
carries, and the rank tests' p-values are those of the smaller sample, so larger (conservative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import DBAPIError

from ..profiling import ColumnProfile, Profile, categorical_profile
from ..values import keyed_counts
from .sql import Source, category_groups, numeric_summary, sorted_values

__all__ = ["DEFAULT_MAX_SORTED", "fetch_columns", "numeric_figures", "profile_window", "statements"]

#: Sorted values fetched per numeric column at most (the reference keeps as many by default).
DEFAULT_MAX_SORTED = 250_000


def profile_window(conn: Connection, source: Source, reference: Profile, columns: Sequence[str], *,
                   dtypes: Mapping[str, str] | None = None,
                   max_sorted: int = DEFAULT_MAX_SORTED) -> tuple[int, dict[str, ColumnProfile]]:
    """The window's row count and the profiles of ``columns`` (each profiled as the reference's
    kind of it), computed in the database behind ``conn``."""
    dialect = conn.dialect.name
    dtypes = dtypes or {}
    numeric = [c for c in columns if reference.columns[c].kind == "numeric"]
    categorical = [c for c in columns if reference.columns[c].kind != "numeric"]
    edges = {c: reference.columns[c].edges for c in numeric}
    shifts = {c: _shift(reference.columns[c]) for c in numeric}
    row = conn.execute(numeric_summary(source, numeric, edges, shifts, dialect)).mappings().one()
    n_rows = int(row["n"])
    profiles: dict[str, ColumnProfile] = {}
    for i, name in enumerate(numeric):
        figures = numeric_figures(row, i, n_rows, edges[name], shifts[name])
        n_finite = figures["n_finite"]
        values = np.empty(0, dtype=np.float64)
        if n_finite:
            query = sorted_values(source, name, n_finite=n_finite, limit=max_sorted, dialect=dialect)
            values = fetch_columns(conn, query)[0].astype(np.float64)
        profiles[name] = ColumnProfile(name=name, kind="numeric", dtype=dtypes.get(name, "float64"),
                                       sorted_values=values, edges=edges[name], **figures)
    for name in categorical:
        groups = conn.execute(category_groups(source, name)).all()
        present = [(value, int(count)) for value, count in groups if value is not None]
        distinct = np.empty(len(present), dtype=object)
        distinct[:] = [value for value, _ in present]
        counts = keyed_counts(distinct, np.array([count for _, count in present], dtype=np.int64))
        profiles[name] = categorical_profile(counts, name, n=n_rows, n_missing=n_rows - int(counts.sum()),
                                             dtype=dtypes.get(name, "object"))
    return n_rows, profiles


def statements(source: Source, reference: Profile, columns: Sequence[str], *, dialect: str,
               max_sorted: int = DEFAULT_MAX_SORTED) -> list[tuple[str, Any]]:
    """What ``profile_window`` runs, without running it, as ``(what, statement)``: the aggregate
    ``SELECT``, each numeric column's sorted values in the form used past ``max_sorted`` finite
    values (below it the same ``SELECT`` without the ranking), each ``GROUP BY``."""
    numeric = [c for c in columns if reference.columns[c].kind == "numeric"]
    edges = {c: reference.columns[c].edges for c in numeric}
    shifts = {c: _shift(reference.columns[c]) for c in numeric}
    found: list[tuple[str, Any]] = [("figures of every numeric column",
                                     numeric_summary(source, numeric, edges, shifts, dialect))]
    found += [(f"sorted values of {name!r} (more than {max_sorted:,} finite)",
               sorted_values(source, name, n_finite=max_sorted + 1, limit=max_sorted, dialect=dialect))
              for name in numeric]
    found += [(f"categories of {name!r}", category_groups(source, name))
              for name in columns if name not in numeric]
    return found


def fetch_columns(conn: Connection, statement: Any) -> list[np.ndarray]:
    """The result of ``statement`` as one array per column. DuckDB hands its result over as
    numpy arrays (``fetchnumpy``: 4× faster than rows through SQLAlchemy for a 250,000-value
    sample); other databases' rows go through SQLAlchemy."""
    if conn.dialect.name == "duckdb":
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        names = compiled.positiontup
        params = [compiled.params[name] for name in names] if names else compiled.params
        raw = conn.connection.dbapi_connection
        assert raw is not None
        try:
            fetched = raw.execute(str(compiled), params).fetchnumpy()
        except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would have raised it
            raise DBAPIError.instance(str(compiled), params, exc, conn.dialect.loaded_dbapi.Error) from exc
        return [np.asarray(column) for column in fetched.values()]
    rows = conn.execute(statement).all()
    width = len(statement.selected_columns)
    return [np.array([row[i] for row in rows]) for i in range(width)]


def _shift(reference: ColumnProfile) -> float:
    """Where the shifted sums are taken from: the reference mean, near the window's own."""
    return reference.mean if math.isfinite(reference.mean) else 0.0


def numeric_figures(row: RowMapping, i: int, n_rows: int, edges: np.ndarray, shift: float) -> dict[str, Any]:
    """The counts and moments of column ``i`` of a ``numeric_summary`` row."""
    present = int(row[f"{i}_present"]) - int(row[f"{i}_nan"] or 0)
    posinf, neginf = int(row[f"{i}_posinf"] or 0), int(row[f"{i}_neginf"] or 0)
    n_finite = present - posinf - neginf
    mean = std = minimum = maximum = math.nan
    if n_finite:
        s1, s2 = float(row[f"{i}_sum1"]), float(row[f"{i}_sum2"])
        mean = shift + s1 / n_finite
        if n_finite > 1:
            std = math.sqrt(max(s2 - s1 * s1 / n_finite, 0.0) / (n_finite - 1))
        minimum, maximum = float(row[f"{i}_min"]), float(row[f"{i}_max"])
    below = np.array([int(row[f"{i}_below_{j}"] or 0) for j in range(edges.size)], dtype=np.int64)
    if edges.size:
        bins = np.diff(np.concatenate(([0], below, [n_finite]))).astype(np.int64)
        bins[0] += neginf
        bins[-1] += posinf
    else:
        bins = np.array([n_finite + neginf + posinf], dtype=np.int64)
    return {"n": n_rows, "n_missing": n_rows - present, "n_finite": n_finite, "n_posinf": posinf,
            "n_neginf": neginf, "mean": mean, "std": std, "minimum": minimum, "maximum": maximum,
            "bin_counts": bins}
