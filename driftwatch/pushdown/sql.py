"""The SQL a pushed-down window profile runs: SQLAlchemy Core expressions, values always bound.

Everything the detectors need from a numeric column but its sorted values is one aggregate
per figure, and every numeric column goes into **one** ``SELECT`` over the window, so a column
store reads each column once (``numeric_summary``):

* rows (``COUNT(*)``), present values (``COUNT(x)``), and those of them that are not finite
  (``NaN`` where the database has it, ``±inf``);
* ``MIN``, ``MAX``, ``SUM(x - s)`` and ``SUM((x - s)²)``, with ``s`` the reference mean bound
  as a parameter: shifted sums give the mean and variance in one pass without the cancellation
  of a plain sum of squares;
* per reference bin edge ``e_j``, the rows with ``x < e_j``: the counts below each edge, whose
  differences are the counts per bin (``-inf`` is below every edge and is taken off again;
  ``NaN`` and ``NULL`` are below none).

The plain ``MIN``, ``MAX`` and sums are the finite values' own when a column holds no ``NaN``
or ``±inf`` in the window, which is what production columns hold; for a column that does,
``nonfinite_summary`` is a second ``SELECT`` of its split (``NaN``, ``+inf``, ``-inf``) and its
finite values' extremes and sums. Counting is ``count_if`` on DuckDB and ``COUNT(*) FILTER``
on PostgreSQL (each 2–4× faster there than the portable ``SUM(CASE …)`` the others get).

Sorted values come from a second statement: all finite values in order when there are few
enough; past that, on DuckDB and on PostgreSQL tables, a seeded Bernoulli sample of the
window's rows, one scan for every column (``row_sample``); on DuckDB, when the source has a
stable row key (a table's ``rowid``, the file connector's file and row number), that sample is
drawn inside the aggregate ``SELECT`` instead (``sample_rows``: one scan for everything, where
at 100M rows the second scan cost 27 of 71 s); elsewhere evenly spaced order statistics, one
sort per column (``ROW_NUMBER`` over the order, kept where ``r·a mod b < a``
with ``a = k − 1``, ``b = n − 1``: exactly ``k`` ranks, the ``⌈i·b/a⌉``-th for
``i = 0 … a``). A categorical column is one ``GROUP BY``.

NaN is where dialects part: PostgreSQL and DuckDB hold it as a value equal to itself, SQLite
cannot store it at all (it becomes NULL), and IEEE databases make it unequal to itself.
``is_nan`` says which test a dialect gets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["SAMPLE_SEED", "SampleRows", "Source", "category_groups", "count_if", "finite", "is_nan",
           "nonfinite_summary", "numeric_summary", "row_sample", "sorted_values"]

#: The seed of every row sample: the same window gives the same sample on every run.
SAMPLE_SEED = 20261204

#: Dialects whose NaN equals itself (so ``x = 'NaN'`` finds it), and those with an ``isnan``
#: function; SQLite stores no NaN; any other is assumed to follow IEEE (``x <> x``).
_NAN_EQUALS_ITSELF = frozenset({"postgresql", "snowflake"})
_NAN_FUNCTION = {"duckdb": "isnan", "trino": "is_nan", "bigquery": "is_nan", "databricks": "isnan",
                 "spark": "isnan", "hive": "isnan"}
_NO_NAN = frozenset({"sqlite", "mysql", "mariadb"})


@dataclass(frozen=True)
class Source:
    """A window as SQL: what to select from, and the conditions that cut the window."""

    selectable: sa.FromClause
    conditions: tuple[ColumnElement[bool], ...] = ()
    #: ``selectable`` is a table the database can ``TABLESAMPLE`` (not a view): PostgreSQL
    #: samples rows only from tables; DuckDB samples any relation.
    table_sample: bool = False
    #: A column (or pseudo-column) whose value tells each row apart for as long as the data is
    #: unchanged: DuckDB's ``rowid`` of a table, the file connector's hash of file and row.
    #: With it, DuckDB draws the row sample inside the aggregate scan (``SampleRows``).
    row_key: str | None = None

    def column(self, name: str) -> ColumnElement[Any]:
        return sa.column(name)


def is_nan(x: ColumnElement[Any], dialect: str) -> ColumnElement[bool] | None:
    """The test for NaN in ``dialect``; ``None`` where the database cannot hold NaN."""
    if dialect in _NO_NAN:
        return None
    if dialect in _NAN_EQUALS_ITSELF:
        return x == sa.bindparam(None, float("nan"), type_=sa.Float())
    name = _NAN_FUNCTION.get(dialect)
    if name is not None:
        return getattr(sa.func, name)(x)  # type: ignore[no-any-return]
    return x != x


def _infinity(sign: float) -> ColumnElement[Any]:
    return sa.bindparam(None, sign * float("inf"), type_=sa.Float())


def finite(x: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """``x`` holds a finite number: not NULL, not NaN, not ±inf."""
    nan = is_nan(x, dialect)
    conditions = [x.is_not(None), x != _infinity(1.0), x != _infinity(-1.0)]
    if nan is not None:
        conditions.append(sa.not_(nan))
    return sa.and_(*conditions)


def count_if(condition: ColumnElement[bool], dialect: str) -> ColumnElement[Any]:
    """The rows where ``condition`` holds, in the form ``dialect`` runs fastest."""
    if dialect == "duckdb":
        return sa.func.count_if(condition)
    if dialect == "postgresql":
        return sa.func.count().filter(condition)
    return sa.func.sum(sa.case((condition, 1), else_=0))


def not_finite(x: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """``x`` is ``NaN`` or ``±inf`` (``NULL`` is neither)."""
    if dialect == "duckdb":
        return sa.not_(sa.func.isfinite(x))
    nan = is_nan(x, dialect)
    infinite = [x == _infinity(1.0), x == _infinity(-1.0)]
    return sa.or_(*infinite, *([nan] if nan is not None else []))


def _shift(shifts: Mapping[str, float], name: str) -> ColumnElement[Any]:
    return sa.bindparam(None, float(shifts.get(name, 0.0)), type_=sa.Float())


@dataclass(frozen=True)
class SampleRows:
    """A seeded Bernoulli sample of ``percent`` % of the window's rows, ``columns`` of each,
    drawn inside the aggregate ``SELECT`` on DuckDB (labelled ``sample``: one list of rows).

    A row is kept when the top 53 bits of ``hash(row_key, SAMPLE_SEED)`` fall below
    ``percent`` % of 2⁵³: each row independently with that chance (as far as the hash mixes),
    and the same rows on every run and every thread count while the data is unchanged."""

    row_key: str
    columns: tuple[str, ...]
    percent: float

    def aggregate(self) -> ColumnElement[Any]:
        if not 0 < self.percent <= 100:
            raise ValueError(f"sample percentage {self.percent!r} is not in (0, 100]")
        drawn = sa.func.hash(sa.column(self.row_key), sa.bindparam(None, SAMPLE_SEED, type_=sa.Integer())).op(">>")(
            sa.literal(11))
        below = sa.bindparam(None, int(self.percent / 100 * 2**53), type_=sa.BigInteger())
        values = sa.func.row(*(sa.column(c) for c in self.columns))
        return sa.func.list(values).filter(drawn < below).label("sample")


def numeric_summary(source: Source, columns: Sequence[str], edges: Mapping[str, np.ndarray],
                    shifts: Mapping[str, float], dialect: str,
                    categories: Mapping[str, Sequence[str]] | None = None,
                    sample: SampleRows | None = None) -> sa.Select[Any]:
    """One ``SELECT`` of every figure of ``columns`` but their sorted values; labels are ``n``
    and ``<i>_<figure>`` (``i`` the column's position, so any name is safe). ``min``, ``max``,
    ``sum1`` and ``sum2`` are the finite values' only where ``odd`` (not finite) is 0.

    ``categories``: text columns and the values to count in the same scan, labelled
    ``c<k>_present`` and ``c<k>_<j>`` (on a row store one more count is cheaper than a ``GROUP
    BY``'s scan of every row; ``pushdown.window`` says when they suffice). ``sample``: a row
    sample drawn in the same scan (DuckDB only)."""
    figures: list[ColumnElement[Any]] = [sa.func.count().label("n")]
    if sample is not None:
        figures.append(sample.aggregate())
    for k, (name, keys) in enumerate((categories or {}).items()):
        c = source.column(name)
        figures.append(sa.func.count(c).label(f"c{k}_present"))
        figures += [count_if(c == sa.bindparam(None, key, type_=sa.String()), dialect).label(f"c{k}_{j}")
                    for j, key in enumerate(keys)]
    for i, name in enumerate(columns):
        x = source.column(name)
        shifted = x - _shift(shifts, name)
        figures += [
            sa.func.count(x).label(f"{i}_present"),
            count_if(not_finite(x, dialect), dialect).label(f"{i}_odd"),
            sa.func.min(x).label(f"{i}_min"),
            sa.func.max(x).label(f"{i}_max"),
            sa.func.sum(shifted).label(f"{i}_sum1"),
            sa.func.sum(shifted * shifted).label(f"{i}_sum2"),
        ]
        for j, edge in enumerate(edges.get(name, ())):
            below = x < sa.bindparam(None, float(edge), type_=sa.Float())
            figures.append(count_if(below, dialect).label(f"{i}_below_{j}"))
    return sa.select(*figures).select_from(source.selectable).where(*source.conditions)


def nonfinite_summary(source: Source, columns: Sequence[str], shifts: Mapping[str, float],
                      dialect: str) -> sa.Select[Any]:
    """For columns that hold ``NaN`` or ``±inf``: their ``nan``, ``posinf``, ``neginf`` counts
    and the ``min``, ``max``, ``sum1``, ``sum2`` of their finite values, labelled as above."""
    figures: list[ColumnElement[Any]] = []
    for i, name in enumerate(columns):
        x = source.column(name)
        usable = finite(x, dialect)
        shifted = x - _shift(shifts, name)
        nan = is_nan(x, dialect)
        figures += [
            (count_if(nan, dialect) if nan is not None else sa.literal(0)).label(f"{i}_nan"),
            count_if(x == _infinity(1.0), dialect).label(f"{i}_posinf"),
            count_if(x == _infinity(-1.0), dialect).label(f"{i}_neginf"),
            sa.func.min(sa.case((usable, x))).label(f"{i}_min"),
            sa.func.max(sa.case((usable, x))).label(f"{i}_max"),
            sa.func.sum(sa.case((usable, shifted))).label(f"{i}_sum1"),
            sa.func.sum(sa.case((usable, shifted * shifted))).label(f"{i}_sum2"),
        ]
    return sa.select(*figures).select_from(source.selectable).where(*source.conditions)


def row_sample(source: Source, columns: Sequence[str], percent: float, dialect: str) -> sa.Select[Any] | None:
    """A Bernoulli sample of ``percent`` % of the window's rows, ``columns`` of each, seeded
    (``SAMPLE_SEED``) so a window gives the same sample every time: one scan for all the
    columns; ``None`` where the database cannot sample the source (then ``sorted_values``).

    DuckDB samples the window itself (``USING SAMPLE``, after the ``WHERE``); its sample clause
    takes constants only, so the percentage, a number driftwatch computes, is the one value
    written into a statement. PostgreSQL samples the table's rows before the ``WHERE``
    (``TABLESAMPLE BERNOULLI``, bound), which keeps each window row with the same chance.
    """
    if not 0 < percent <= 100:
        raise ValueError(f"sample percentage {percent!r} is not in (0, 100]")
    if dialect == "duckdb":
        window = (sa.select(*(source.column(c) for c in columns)).select_from(source.selectable)
                  .where(*source.conditions).subquery("window_rows"))
        clause = f"USING SAMPLE {np.format_float_positional(percent, trim='-')} PERCENT (bernoulli, {SAMPLE_SEED})"
        return sa.select(*(window.c[c] for c in columns)).suffix_with(clause)
    if dialect == "postgresql" and source.table_sample:
        sampled = sa.tablesample(source.selectable, sa.func.bernoulli(sa.bindparam(None, percent, type_=sa.Float())),
                                 name="sampled", seed=sa.bindparam(None, SAMPLE_SEED, type_=sa.Integer()))
        return sa.select(*(source.column(c) for c in columns)).select_from(sampled).where(*source.conditions)
    return None


def sorted_values(source: Source, column: str, *, n_finite: int, limit: int, dialect: str) -> sa.Select[Any]:
    """The finite values of ``column`` in order: all of them when ``n_finite <= limit``, else
    ``limit`` evenly spaced order statistics (see the module docstring)."""
    x = source.column(column)
    usable = finite(x, dialect)
    if n_finite <= limit:
        return sa.select(x).select_from(source.selectable).where(*source.conditions, usable).order_by(x)
    rank = (sa.func.row_number().over(order_by=x) - 1).label("r")
    ranked = (sa.select(x.label("v"), rank).select_from(source.selectable)
              .where(*source.conditions, usable).subquery("ranked"))
    step = sa.bindparam(None, limit - 1, type_=sa.BigInteger())
    span = sa.bindparam(None, n_finite - 1, type_=sa.BigInteger())
    return sa.select(ranked.c.v).where((ranked.c.r * step) % span < step).order_by(ranked.c.v)


def category_groups(source: Source, column: str) -> sa.Select[Any]:
    """``column``'s distinct values (``NULL`` among them) with their row counts."""
    x = source.column(column)
    return (sa.select(x.label("value"), sa.func.count().label("n")).select_from(source.selectable)
            .where(*source.conditions).group_by(x))
