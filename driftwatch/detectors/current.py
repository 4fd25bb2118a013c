"""The current window as the detectors see it: the frame plus its column profiles, built once.

Several detectors look at the same columns; sorting a million-row column twice would double the
cost of a run, so profiles are built on first use, in parallel across columns (numpy's sort
releases the GIL), and shared. Profiling is deterministic, so detectors stay pure functions of
their inputs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from ..column_profile import profile_categorical, profile_numeric
from ..errors import DataError
from ..profiling import ColumnProfile, Profile, check_frame

#: Below this many values (rows × columns) the columns are profiled in the calling thread.
PARALLEL_CELLS = 200_000


class CurrentData:
    """A current window bound to the reference it is compared with."""

    def __init__(self, frame: pd.DataFrame, reference: Profile, *, threads: int | None = None,
                 context: Mapping[str, Any] | None = None) -> None:
        self.frame = check_frame(frame, "current")
        self.reference = reference
        #: Facts about the run a detector may need, e.g. ``labels_due_at`` (ISO time) while the
        #: window's labels are not due yet.
        self.context: Mapping[str, Any] = dict(context or {})
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._cache: dict[str, ColumnProfile | DataError] = {}
        self._n_rows: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def profiled(cls, reference: Profile, n_rows: int, profiles: Mapping[str, ColumnProfile],
                 dtypes: Mapping[str, str], *, context: Mapping[str, Any] | None = None) -> CurrentData:
        """A window whose profiles were computed elsewhere (by its database, ``driftwatch.pushdown``).

        ``frame`` is then empty but has the source's columns and dtypes, so what a detector asks
        of the columns (which exist, of what type) has the same answer as on pulled rows.
        """
        frame = pd.DataFrame({name: pd.Series(dtype=_known_dtype(dtype)) for name, dtype in dtypes.items()})
        data = cls(frame, reference, context=context)
        data._n_rows = n_rows
        data._cache.update(profiles)
        return data

    @property
    def segments_tested(self) -> int:
        """How many segments are tested together with this one (``driftwatch.segments``; 1 for a
        whole window): a detector decides at ``alpha`` divided by it."""
        return int(self.context.get("segments_tested", 1))

    @property
    def n_rows(self) -> int:
        return self._n_rows if self._n_rows is not None else int(len(self.frame))

    def _build(self, column: str) -> ColumnProfile | DataError:
        ref = self.reference.columns[column]
        try:
            if ref.kind == "numeric":
                return profile_numeric(self.frame[column], column, edges=ref.edges)
            return profile_categorical(self.frame[column], column)
        except DataError as exc:
            return exc

    def profiles(self, columns: Iterable[str]) -> dict[str, ColumnProfile | DataError]:
        """Profiles of the named columns present in the frame; a column that cannot be read as
        its reference kind maps to the ``DataError`` saying why."""
        wanted = [c for c in dict.fromkeys(columns) if c in self.frame.columns and c in self.reference.columns]
        with self._lock:
            missing = [c for c in wanted if c not in self._cache]
            # Threads pay off for big columns only; for small windows starting a pool costs more
            # than the sorting it would spread (a scheduler runs many small windows a minute).
            if len(missing) > 1 and self.threads > 1 and len(self.frame) * len(missing) >= PARALLEL_CELLS:
                with ThreadPoolExecutor(self.threads) as pool:
                    built = dict(zip(missing, pool.map(self._build, missing)))
            else:
                built = {c: self._build(c) for c in missing}
            self._cache.update(built)
            return {c: self._cache[c] for c in wanted}


def _known_dtype(name: str) -> str:
    """``name`` if pandas knows it, else ``object`` (a database type it would read as objects)."""
    try:
        pd.api.types.pandas_dtype(name)
    except TypeError:
        return "object"
    return name
