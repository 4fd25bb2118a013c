"""What every connector does to the frame it returns: timestamps, the window's rows, the columns.

Timestamps follow one rule everywhere in driftwatch: tz-aware UTC, and naive values *are* UTC.
``utc_timestamps`` and ``cut_window`` implement that rule, and ``requested_columns`` /
``present_columns`` which columns a connector reads and returns, for every connector (files,
SQL, and any a plugin adds), so they live apart from any one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from ..errors import DataError
from ..model import Window

__all__ = ["TIMESTAMP_DTYPE", "cut_window", "present_columns", "requested_columns", "utc_timestamps"]

#: The one timestamp dtype connectors return (pandas' default resolution for parsed strings).
TIMESTAMP_DTYPE = "datetime64[us, UTC]"


def utc_timestamps(values: pd.Series, *, where: str) -> pd.Series:
    """``values`` as ``datetime64[us, UTC]``: aware values converted, naive ones taken as UTC.

    Strings must be ISO 8601 (``2026-11-03``, ``2026-11-03 10:00``, ``...T10:00:00+02:00``):
    ``03/11/2026`` is refused rather than guessed, because a wrong day/month guess would silently
    put rows in the wrong window. Numbers are refused too (seconds? milliseconds?). ``where``
    starts the error message, e.g. ``"file connector: data.csv: column 'ts'"``.

    >>> s = pd.Series(["2026-11-03 10:00", "2026-11-03T12:00:00+02:00", None])
    >>> utc_timestamps(s, where="x").tolist()
    [Timestamp('2026-11-03 10:00:00+0000', tz='UTC'), Timestamp('2026-11-03 10:00:00+0000', tz='UTC'), NaT]
    >>> utc_timestamps(pd.Series(["03/11/2026"]), where="data.csv: column 'ts'")
    Traceback (most recent call last):
    ...
    driftwatch.errors.DataError: data.csv: column 'ts': cannot read '03/11/2026' as an ISO 8601 timestamp
    """
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        out = values.dt.tz_localize("UTC")
    elif values.isna().all():
        out = pd.Series(pd.NaT, index=values.index, dtype=TIMESTAMP_DTYPE)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        raise DataError(f"{where}: holds numbers ({dtype}), expected ISO 8601 dates or timestamps")
    else:
        try:
            out = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(f"{where}: cannot read {_first_bad(values)!r} as an ISO 8601 timestamp") from exc
    return out.astype(TIMESTAMP_DTYPE)


def _first_bad(values: pd.Series) -> object:
    for value in values.dropna().unique():
        try:
            pd.to_datetime(pd.Series([value]), utc=True, format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            return value
    return None


def cut_window(frame: pd.DataFrame, column: str, window: Window) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` (already UTC) lies in ``[window.start, window.end)``.

    Rows without a timestamp belong to no window and are dropped.

    >>> from datetime import datetime
    >>> ts = utc_timestamps(pd.Series(["2026-11-03", "2026-11-03 23:59", "2026-11-04", None]), where="t")
    >>> w = Window(datetime(2026, 11, 3), datetime(2026, 11, 4))
    >>> cut_window(pd.DataFrame({"ts": ts, "v": [1, 2, 3, 4]}), "ts", w)["v"].tolist()
    [1, 2]
    """
    ts = frame[column]
    mask = (ts >= pd.Timestamp(window.start)) & (ts < pd.Timestamp(window.end))
    return frame.loc[mask.to_numpy()].reset_index(drop=True)


def requested_columns(columns: Sequence[str] | None, timestamp_column: str | None) -> list[str] | None:
    """``columns`` once each, in order, then ``timestamp_column``: what a connector reads.

    None stays None: every column.

    >>> requested_columns(["a", "b", "a"], "ts"), requested_columns(None, "ts")
    (['a', 'b', 'ts'], None)
    """
    if columns is None:
        return None
    if isinstance(columns, str):
        raise TypeError(f"columns: expected a list of column names, got the string {columns!r}")
    names: Iterable[str] = list(columns) + ([timestamp_column] if timestamp_column else [])
    return list(dict.fromkeys(names))


def present_columns(wanted: list[str] | None, available: Iterable[str]) -> list[str]:
    """The ``wanted`` columns found in ``available``, in wanted order (all of them if None).

    >>> present_columns(["b", "x", "a"], ["a", "b"]), present_columns(None, ["a", "b"])
    (['b', 'a'], ['a', 'b'])
    """
    if wanted is None:
        return list(available)
    found = set(available)
    return [c for c in wanted if c in found]
