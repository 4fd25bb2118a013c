"""``Results``: what ``driftwatch.check`` returns, readable where people read results.

It is a list of ``Result`` (iterate, index and compare it as before), and in a notebook it
also reads as a table (``to_frame``), shows the alerts alone (``alerts``), draws itself as the
run page's report (``_repr_html_``) and saves that report as one file (``save_html``). The
HTML comes from ``driftwatch.web.export``, imported only when asked for, so ``import
driftwatch`` does not load the templates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import SupportsIndex, overload

import pandas as pd

from .model import Result

__all__ = ["Results"]

#: A detail becomes a column of its own when it is one value no longer than this (a number, a
#: flag, a method name, a short rule); lists, tables and long text stay in ``details``.
MAX_FLAT_TEXT = 200
_COLUMNS = ["monitor", "run_id", "window_start", "window_end", "segment", "detector", "feature", "metric",
            "value", "p_value", "threshold", "status"]
assert set(_COLUMNS) | {"details"} == {f.name for f in fields(Result)}


def _small(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_FLAT_TEXT
    return value is None or isinstance(value, (bool, int, float))


class Results(list[Result]):
    """The results of one check, one ``Result`` per figure.

    >>> from driftwatch.model import Result
    >>> rs = Results([Result("m", None, None, None, "drift", "x", "ks", 0.3, 0.001, 0.1, "alert", {"rule": "r"}),
    ...               Result("m", None, None, None, "drift", "y", "ks", 0.01, 0.9, 0.1, "ok", {"bins": [1, 2]})])
    >>> len(rs), rs[0].feature, [r.feature for r in rs.alerts()]
    (2, 'x', ['x'])
    >>> rs.to_frame()[["feature", "status", "details.rule"]].to_dict("list")
    {'feature': ['x', 'y'], 'status': ['alert', 'ok'], 'details.rule': ['r', nan]}
    >>> list(rs[1:]) == [rs[1]], type(rs[1:]).__name__
    (True, 'Results')
    """

    def __init__(self, results: Iterable[Result] = ()) -> None:
        super().__init__(results)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Result: ...

    @overload
    def __getitem__(self, index: slice) -> Results: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Result | Results:
        if isinstance(index, slice):
            return Results(super().__getitem__(index))
        return super().__getitem__(index)

    def alerts(self) -> Results:
        """The results at alert level, in order."""
        return Results(r for r in self if r.status == "alert")

    def to_frame(self) -> pd.DataFrame:
        """One row per result: its fields, then each small detail as a column ``details.KEY``
        (NaN where a result has no such key); ``details`` keeps every detail, large ones too."""
        records = []
        detail_keys: dict[str, None] = {}
        for r in self:
            record: dict[str, object] = {name: getattr(r, name) for name in _COLUMNS}
            for key, value in r.details.items():
                if _small(value):
                    record[f"details.{key}"] = value
                    detail_keys.setdefault(f"details.{key}", None)
            record["details"] = dict(r.details)
            records.append(record)
        columns = _COLUMNS + sorted(detail_keys) + ["details"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for name in ("window_start", "window_end"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame

    def _repr_html_(self) -> str:
        """The run page's report, drawn in a notebook cell."""
        from .web.export import notebook_html

        return notebook_html(self)

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the report to ``path`` as one HTML file that opens offline; returns the path."""
        from .web.export import results_html, write_atomically

        return write_atomically(path, results_html(self))
