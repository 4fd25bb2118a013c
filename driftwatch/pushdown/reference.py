"""A reference profile computed by the database that holds the reference, equal to the pulled one.

``profiling.profile`` needs, per numeric column, the exact quantiles that make the bin edges and
``max_sample`` evenly spaced order statistics; the rest is counting. Here the order statistics
come from one ranked statement per column that keeps both the thinned sample's ranks and the
two ranks around each quantile (numpy's linear method interpolates between them), and the
quantiles are interpolated exactly as numpy does, so the edges, and with them every bin count,
are the same numbers. Two aggregate passes: the first gives counts, extremes and the mean, the
second (shifted by that mean) the variance and the counts per bin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from ..column_profile import categorical_profile
from ..model import Schema
from ..profiling import ColumnProfile, Profile, ProfileOptions
from .sql import Source, finite
from .window import category_counts, fetch_columns, summarize

__all__ = ["linear_quantiles", "profile_reference", "quantile_ranks"]


def quantile_ranks(n: int, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ranks below and above each quantile ``qs`` of ``n`` sorted values, and the weight of
    the one above: numpy's ``linear`` method (Hyndman & Fan 7), step for step."""
    virtual = (n - 1) * qs
    below = np.floor(virtual)
    above = below + 1
    past = virtual >= n - 1
    below[past], above[past] = n - 1, n - 1
    before = virtual < 0
    below[before], above[before] = 0, 0
    gamma = virtual - below  # where below == above (the ends) the weight changes nothing
    return below.astype(np.int64), above.astype(np.int64), gamma


def linear_quantiles(low: np.ndarray, high: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """numpy's interpolation between the order statistics ``low`` and ``high`` (``_lerp``).

    >>> values = np.array([1.0, 2.0, 4.0, 8.0])
    >>> below, above, gamma = quantile_ranks(4, np.array([0.3, 0.5]))
    >>> linear_quantiles(values[below], values[above], gamma).tolist() == np.quantile(values, [0.3, 0.5]).tolist()
    True
    """
    diff = high - low
    result = low + diff * gamma
    interpolated: np.ndarray = np.where(gamma >= 0.5, high - diff * (1 - gamma), result)
    return interpolated


def profile_reference(conn: Connection, source: Source, schema: Schema, options: ProfileOptions,
                      dtypes: Mapping[str, str]) -> Profile:
    """``profiling.profile`` of the rows of ``source`` with ``schema``, computed in the database;
    ``dtypes`` are the columns' pandas dtypes (``pushdown.types.pandas_dtype``)."""
    dialect = conn.dialect.name
    numeric = [c for c in schema.features if schema.kind(c) == "numeric"]
    n_rows, first, _, _ = summarize(conn, source, numeric, {}, {})
    samples, edges, means = {}, {}, {}
    for name in numeric:
        figures = first[name]
        means[name] = figures["mean"] if math.isfinite(figures["mean"]) else 0.0
        samples[name], edges[name] = _order_statistics(conn, source, name, figures, options, dialect)
    _, second, _, _ = summarize(conn, source, numeric, edges, means)
    columns: dict[str, ColumnProfile] = {}
    for name in numeric:
        columns[name] = ColumnProfile(name=name, kind="numeric", dtype=dtypes.get(name, "float64"),
                                      sorted_values=samples[name], edges=edges[name], **second[name])
    for name in (c for c in schema.features if c not in numeric):
        counts = category_counts(conn, source, name)
        columns[name] = categorical_profile(counts, name, n=n_rows, n_missing=n_rows - int(counts.sum()),
                                            dtype=dtypes.get(name, "object"), max_categories=options.max_categories)
    return Profile(schema=schema, n_rows=n_rows, columns=columns, options=options, schema_inferred=False,
                   outcomes=None)


def _order_statistics(conn: Connection, source: Source, name: str, figures: dict[str, Any],
                      options: ProfileOptions, dialect: str) -> tuple[np.ndarray, np.ndarray]:
    """The thinned sorted sample of column ``name`` and its bin edges, from one ranked statement."""
    n = int(figures["n_finite"])
    if n == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    qs = np.arange(1, options.bins) / options.bins
    below, above, gamma = quantile_ranks(n, qs)
    k = min(n, options.max_sample)
    x: sa.ColumnClause[Any] = sa.column(name)
    rank = (sa.func.row_number().over(order_by=x) - 1).label("r")
    ranked = (sa.select(x.label("v"), rank).select_from(source.selectable)
              .where(*source.conditions, finite(x, dialect)).subquery("ranked"))
    wanted = sorted({int(r) for r in np.concatenate((below, above))})
    keep: ColumnElement[bool] = ranked.c.r.in_(sa.bindparam("ranks", wanted, expanding=True))
    if k > 1:
        step = sa.bindparam(None, k - 1, type_=sa.BigInteger())
        span = sa.bindparam(None, max(n - 1, 1), type_=sa.BigInteger())
        keep = sa.or_(keep, (ranked.c.r * step) % span < step)
    ranks, values = fetch_columns(conn, sa.select(ranked.c.r, ranked.c.v).where(keep).order_by(ranked.c.r))
    at = dict(zip(ranks.astype(np.int64).tolist(), values.astype(np.float64).tolist()))
    inner = linear_quantiles(np.array([at[int(r)] for r in below]), np.array([at[int(r)] for r in above]), gamma)
    sample_ranks = -(-np.arange(k, dtype=np.int64) * (n - 1) // max(k - 1, 1)) if k > 1 else np.zeros(1, np.int64)
    sample = np.array([at[int(r)] for r in sample_ranks], dtype=np.float64)
    top = np.nextafter(figures["maximum"], np.inf)
    return sample, np.unique(np.concatenate(([figures["minimum"]], inner, [top])))
