"""How raw column values are read: as numbers, or as category keys.

Shared by the column profiles and the labelled outcomes, so a value means the same in both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

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
