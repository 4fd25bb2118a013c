"""How raw column values are read: as numbers, or as category keys (and counted).

Shared by the column profiles and the labelled outcomes, so a value means the same in both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError


def numeric_values(series: pd.Series, column: str) -> np.ndarray:
    """The column as float64 with NaN for missing; a non-numeric value is a ``DataError``."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        first = series[bad].iloc[0]
        raise DataError(f"column {column!r}: non-numeric value {str(first)[:80]!r} in a numeric column "
                        f"({int(bad.sum())} such rows)")
    values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def category_key(value: object) -> str:
    """One category value as the string both sides of a comparison agree on.

    >>> category_key(True), category_key(3.0), category_key("3.5")
    ('true', '3', '3.5')
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def category_counts(series: pd.Series) -> tuple[pd.Series, int]:
    """Counts per category as a string-keyed Series (most frequent first) and the missing count.

    Keys are normalised so that the same category compares equal across sides read through
    different dtypes: ``True`` is ``"true"``, ``3.0`` is ``"3"``.

    >>> counts, missing = category_counts(pd.Series([1.0, 2.0, None, 1.0]))
    >>> counts.to_dict(), missing
    ({'1': 2, '2': 1}, 1)
    """
    if isinstance(series.dtype, pd.StringDtype):  # text held by pandas (Arrow or Python): its own key
        keys, values = _text_counts(series)
        keyed = pd.Series(values, index=pd.Index(keys, dtype=object))
    else:
        counts = series.value_counts(dropna=True, sort=False)
        keyed = keyed_counts(counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.int64))
    return keyed, int(len(series) - int(keyed.sum()))


def keyed_counts(distinct: np.ndarray, counts: np.ndarray) -> pd.Series:
    """Counts of distinct raw values (none missing) as counts per ``category_key``, most
    frequent first, ties by key: what ``category_counts`` makes of a pandas column, and what
    a database's ``GROUP BY`` becomes (``driftwatch.pushdown``), so both agree key for key.

    >>> keyed_counts(np.array([1.0, 1, "a"], dtype=object), np.array([2, 3, 4])).to_dict()
    {'1': 5, 'a': 4}
    """
    if not (counts > 0).all():  # a pandas Categorical lists its unused categories with count 0
        distinct, counts = distinct[counts > 0], counts[counts > 0]
    keys, unique = _category_keys(distinct)
    if not unique:
        grouped = pd.Series(counts, index=pd.Index(keys, dtype=object)).groupby(level=0, sort=False).sum()
        keys, counts = grouped.index.to_numpy(dtype=object), grouped.to_numpy(dtype=np.int64)
    order = _by_count_then_key(keys, counts)
    return pd.Series(counts[order], index=pd.Index(keys[order], dtype=object))


def _text_counts(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and counts of a pandas text column, most frequent first, ties by value.

    Counted and sorted by Arrow in the system allocator, which hands the hash table of a
    million distinct values back once done (Arrow's own pool kept its 90 MB while the keys
    became Python strings).
    """
    pool = pa.system_memory_pool()
    counted = pc.value_counts(pa.array(series.array), memory_pool=pool)
    values, counts = counted.field("values"), counted.field("counts").to_numpy()
    if values.null_count:
        present = values.is_valid()
        values, counts = pc.filter(values, present, memory_pool=pool), counts[present.to_numpy(zero_copy_only=False)]
    order = pc.sort_indices(pa.table({"n": pa.array(-counts), "k": values}),
                            sort_keys=[("n", "ascending"), ("k", "ascending")], memory_pool=pool)
    keys: np.ndarray = values.take(order).to_numpy(zero_copy_only=False)
    return keys, counts[order.to_numpy()]


def _category_keys(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """``category_key`` of each distinct value, and whether the keys are known to be distinct:
    text is its own key and integers print one way, so a million of either take no Python loop."""
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "string":
        return values, True
    if kind == "integer":
        return values.astype(str).astype(object), True
    return np.array([category_key(v) for v in values], dtype=object), False


def _by_count_then_key(keys: Any, counts: np.ndarray) -> np.ndarray:
    """The order most frequent first, ties by key (code point order), sorted by Arrow: numpy
    would copy the keys into fixed-width text as wide as the longest key times their number."""
    try:
        table = pa.table({"n": pa.array(-counts), "k": pa.array(keys)})
    except UnicodeEncodeError:  # a lone surrogate, which Arrow's UTF-8 cannot hold
        return np.lexsort((np.asarray(keys, dtype=str), -counts))
    order: np.ndarray = pc.sort_indices(table, sort_keys=[("n", "ascending"), ("k", "ascending")]).to_numpy()
    return order
