"""What a pushed-down window hands the engine, and how database column types read as pandas'.

``pandas_dtype`` names the dtype ``read_sql`` would have given a column, so a data-quality
finding reads the same whichever path profiled the window; ``numeric_type`` says whether a
column can be profiled as a number by the database (booleans cannot: ``x < 0.5`` is not SQL
for them everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from ..profiling import ColumnProfile

__all__ = ["WindowProfiles", "numeric_type", "pandas_dtype"]


@dataclass(frozen=True)
class WindowProfiles:
    """A window profiled by its database: its rows, the profiles of the columns asked for that
    exist, and the (pandas) dtype of every column of the source."""

    n_rows: int
    profiles: dict[str, ColumnProfile]
    dtypes: dict[str, str]


def numeric_type(kind: TypeEngine[Any]) -> bool:
    return isinstance(kind, (sa.Integer, sa.Float, sa.Numeric)) and not isinstance(kind, sa.Boolean)


def pandas_dtype(kind: TypeEngine[Any]) -> str:
    """The dtype ``pandas.read_sql`` gives a column of this type (without NULLs).

    >>> pandas_dtype(sa.Integer()), pandas_dtype(sa.Float()), pandas_dtype(sa.String())
    ('int64', 'float64', 'object')
    """
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int64"
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return "float64"
    if isinstance(kind, sa.DateTime):
        return "datetime64[ns]"
    return "object"
