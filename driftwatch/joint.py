"""Reference rows kept whole, for the detectors that look at how columns move together.

A column profile summarises one column alone, so a change in how two columns move together
(their correlation flips, each marginal stays put) leaves every profile as it was. A
multivariate detector needs rows. The reference profile keeps a seeded sample of up to
``ProfileOptions.joint_rows`` of its rows (the engine asks for it only for monitors with such
a detector), with its features encoded as numbers so it serialises without pickle like the rest:

* a numeric column as its values, ``NaN`` where missing or infinite (not a number to fit on);
* a categorical column as the position of its category among the reference profile's kept
  categories, ``NaN`` where missing, ``-1`` where it is none of them (a tail or new category).

``encode`` turns a current window into the same numbers with the reference's categories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .values import category_key, numeric_values

if TYPE_CHECKING:
    from .profiling import ColumnProfile

__all__ = ["JointRows", "encode", "joint_rows"]

#: Where a categorical value is none of the reference's kept categories.
OTHER = -1.0


@dataclass(frozen=True, eq=False)
class JointRows:
    """Encoded reference rows: ``values[i, j]`` is row ``i``'s ``columns[j]`` (see module docstring)."""

    columns: tuple[str, ...]
    values: np.ndarray


def joint_rows(frame: pd.DataFrame, columns: Sequence[str], profiles: Mapping[str, ColumnProfile], rows: int, *,
               seed: int = 0) -> JointRows:
    """Up to ``rows`` of ``frame``'s rows (a seeded sample without replacement, kept in their
    order), ``columns`` encoded against their reference ``profiles`` (``ColumnProfile``s)."""
    picked = np.arange(len(frame))
    if len(frame) > rows:
        picked = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return JointRows(tuple(columns), encode(frame.iloc[picked], columns, profiles))


def encode(frame: pd.DataFrame, columns: Sequence[str], profiles: Mapping[str, ColumnProfile]) -> np.ndarray:
    """``frame``'s ``columns`` as a float64 matrix, one row per row, encoded against the
    reference ``profiles`` (a ``DataError`` names a numeric column holding text).

    >>> from driftwatch.profiling import profile
    >>> ref = profile(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    >>> encode(pd.DataFrame({"x": [3.0, None], "c": ["b", "z"]}), ["x", "c"], ref.columns).tolist()
    [[3.0, 1.0], [nan, -1.0]]
    """
    out = np.empty((len(frame), len(columns)), dtype=np.float64, order="F")  # filled a column at a time
    for j, name in enumerate(columns):
        reference = profiles[name]
        series = frame[name]
        if reference.kind == "numeric":
            values = numeric_values(series, name)
            out[:, j] = np.where(np.isfinite(values), values, np.nan)
            continue
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        keys = np.array([category_key(value) for value in uniques], dtype=object)
        where = reference.positions(keys).astype(np.float64) if keys.size else np.empty(0)
        column = np.full(len(series), np.nan)
        present = codes >= 0
        column[present] = where[codes[present]]
        out[:, j] = column
    return out
