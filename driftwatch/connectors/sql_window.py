"""How a window becomes SQL: the conditions that cut a table's rows, and a query's bound limits.

A window is ``[start, end)`` in UTC. A table's timestamp column is compared with bound limits
of its own kind: aware datetimes for ``timestamptz``, naive UTC ones for ``timestamp`` and
``date``; ISO text (any column on SQLite, text columns elsewhere) only by a date prefix a day
wider on each side, the exact cut being made after parsing. A query names ``:window_start`` /
``:window_end`` itself and gets them bound only if it does. How the limits are typed is what
makes a window exact on every database, a job of its own apart from reading the rows.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from ..errors import DataError
from ..model import Window

__all__ = ["query_params", "window_conditions"]

# Bounds bound to :window_start / :window_end when fetch() is given no window ("all rows").
_EARLIEST = datetime(1, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


def window_conditions(ts: str, coltype: TypeEngine[Any], dialect: str, window: Window, *,
                      where: str) -> list[ColumnElement[bool]]:
    """The conditions on column ``ts`` (of type ``coltype``) that keep ``window``'s rows, or a
    superset of them for ISO text; a ``DataError`` starting with ``where`` for a number column."""
    column: sa.ColumnClause[Any] = sa.column(ts)
    if dialect != "sqlite" and isinstance(coltype, sa.DateTime):
        aware = bool(getattr(coltype, "timezone", False))
        start, end = (window.start, window.end) if aware else (_naive(window.start), _naive(window.end))
        return [column >= _bound("window_start", start), column < _bound("window_end", end)]
    if dialect != "sqlite" and isinstance(coltype, sa.Date):
        return [column >= _bound("window_start", _naive(window.start)),
                column < _bound("window_end", _naive(window.end))]
    if dialect == "sqlite" or isinstance(coltype, sa.String):
        # ISO text: a coarse filter on the date prefix; the exact cut follows after parsing.
        low = (window.start.date() - timedelta(days=1)).isoformat()
        high = (window.end.date() + timedelta(days=2)).isoformat()
        return [column >= _bound("window_start", low), column < _bound("window_end", high)]
    if isinstance(coltype, (sa.Integer, sa.Float, sa.Numeric, sa.Boolean)):
        raise DataError(f"{where}: column {ts!r} has type {coltype}, "
                        "expected a date/time column or ISO 8601 text")
    return []  # an unknown type: filter after reading only


def query_params(mentioned: Set[str], window: Window | None, *, sqlite: bool) -> dict[str, object]:
    """The values of ``:window_start`` / ``:window_end`` a query mentions (all time without a
    window; UTC text on SQLite).

    >>> query_params({"window_end"}, None, sqlite=True)
    {'window_end': '9999-12-31 23:59:59.999999'}
    """
    bounds = {"window_start": window.start if window else _EARLIEST,
              "window_end": window.end if window else _LATEST}
    return {k: (_sqlite_text(v) if sqlite else v) for k, v in bounds.items() if k in mentioned}


def _bound(name: str, value: object) -> Any:
    """A bound window limit; unique, so a reference over several windows binds each its own."""
    return sa.bindparam(name, value, unique=True)


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _sqlite_text(value: datetime) -> str:
    return _naive(value).isoformat(sep=" ")
