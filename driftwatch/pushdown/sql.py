"""The SQL a pushed-down window profile runs: SQLAlchemy Core expressions, values always bound.

Everything the detectors need from a numeric column but its sorted values is one aggregate
per figure, and every numeric column goes into **one** ``SELECT`` over the window, so a column
store reads each column once:

* rows (``COUNT(*)``), missing (``NULL``, and ``NaN`` where the database has it), ``+inf``
  and ``-inf`` counts, ``MIN``/``MAX`` over finite values;
* ``SUM(x - s)`` and ``SUM((x - s)²)`` over finite values, with ``s`` the reference mean
  bound as a parameter: shifted sums give the mean and variance in one pass without the
  cancellation of a plain sum of squares;
* per reference bin edge ``e_j``, ``SUM(CASE WHEN finite AND x < e_j THEN 1 ELSE 0 END)``:
  the counts below each edge, whose differences are the counts per bin.

Sorted values come from a second statement per column: all finite values in order when
there are few enough, else evenly spaced order statistics (``ROW_NUMBER`` over the order,
kept where ``r·a mod b < a`` with ``a = k − 1``, ``b = n − 1``: exactly ``k`` ranks, the
``⌈i·b/a⌉``-th for ``i = 0 … a``). A categorical column is one ``GROUP BY``.

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

__all__ = ["Source", "category_groups", "finite", "is_nan", "numeric_summary", "sorted_values"]

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


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def numeric_summary(source: Source, columns: Sequence[str], edges: Mapping[str, np.ndarray],
                    shifts: Mapping[str, float], dialect: str) -> sa.Select[Any]:
    """One ``SELECT`` of every figure of ``columns`` but their sorted values; labels are
    ``n`` and ``<i>_<figure>`` (``i`` the column's position, so any name is safe)."""
    figures: list[ColumnElement[Any]] = [sa.func.count().label("n")]
    for i, name in enumerate(columns):
        x = source.column(name)
        usable = finite(x, dialect)
        shift = sa.bindparam(None, float(shifts.get(name, 0.0)), type_=sa.Float())
        nan = is_nan(x, dialect)
        figures += [
            sa.func.count(x).label(f"{i}_present"),
            (_count_if(nan) if nan is not None else sa.literal(0)).label(f"{i}_nan"),
            _count_if(x == _infinity(1.0)).label(f"{i}_posinf"),
            _count_if(x == _infinity(-1.0)).label(f"{i}_neginf"),
            sa.func.min(sa.case((usable, x))).label(f"{i}_min"),
            sa.func.max(sa.case((usable, x))).label(f"{i}_max"),
            sa.func.sum(sa.case((usable, x - shift))).label(f"{i}_sum1"),
            sa.func.sum(sa.case((usable, (x - shift) * (x - shift)))).label(f"{i}_sum2"),
        ]
        for j, edge in enumerate(edges.get(name, ())):
            below = x < sa.bindparam(None, float(edge), type_=sa.Float())
            figures.append(_count_if(sa.and_(usable, below)).label(f"{i}_below_{j}"))
    return sa.select(*figures).select_from(source.selectable).where(*source.conditions)


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
