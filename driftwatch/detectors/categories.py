"""Which current categories the reference had, and which reference categories a window lacks.

The quality detector's new and vanished category shares are read from here. With a million
categories a side, a Python set or dict per side cost seconds and hundreds of megabytes; these
are array lookups (a pandas hash index for the kept names, sorted 64-bit hashes for the tail).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..membership import Absent
from ..profiling import ColumnProfile


@dataclass(frozen=True, eq=False)
class CategorySeen:
    """Which current categories the reference had, and which reference categories the window lacks.

    The kept categories are looked up by name. A category beyond them is hashed and looked up in
    the reference's tail (``driftwatch.membership``): exactly up to two million tail categories,
    with a 0.1 % false-positive Bloom filter beyond. The tail's vanished rows are exact with the
    exact set; with the filter only bounds are known and the lower one counts, so a window is
    never said to lack more than it surely does.

    >>> import pandas as pd
    >>> from driftwatch.column_profile import profile_categorical
    >>> ref = profile_categorical(pd.Series(list("aaabbcdef")), "c", max_categories=2)
    >>> cur = profile_categorical(pd.Series(list("aaxcdd")), "c")
    >>> seen = CategorySeen.of(ref, cur)
    >>> seen.new_rows, seen.vanished_rows, seen.top_vanished(5), seen.tail
    (1, 4, {'b': 2}, Absent(categories=2, rows=2, rows_high=2))
    """

    cur_keys: np.ndarray
    cur_counts: np.ndarray
    new_mask: np.ndarray
    ref_keys: np.ndarray
    ref_counts: np.ndarray
    vanished_mask: np.ndarray  # of the kept reference categories
    tail: Absent | None = None

    @classmethod
    def of(cls, ref: ColumnProfile, cur: ColumnProfile) -> CategorySeen:
        cur_keys = cur.category_array()
        where = ref.positions(cur_keys)
        known = where >= 0
        seen_kept = np.zeros(len(ref.categories), dtype=bool)
        seen_kept[where[known]] = True
        absent = None
        if ref.tail is not None:
            rest = np.flatnonzero(~known)
            known[rest], absent = ref.tail.match(cur_keys[rest])
        return cls(cur_keys, cur.counts, ~known, ref.category_array(), ref.counts, ~seen_kept, absent)

    @property
    def new_rows(self) -> int:
        return int(self.cur_counts[self.new_mask].sum())

    @property
    def new_count(self) -> int:
        return int(np.count_nonzero(self.new_mask))

    @property
    def vanished_rows(self) -> int:
        return int(self.ref_counts[self.vanished_mask].sum()) + (self.tail.rows if self.tail else 0)

    @property
    def vanished_count(self) -> int:
        return int(np.count_nonzero(self.vanished_mask)) + (self.tail.categories if self.tail else 0)

    def top_new(self, k: int) -> dict[str, int]:
        return _first(self.cur_keys, self.cur_counts, self.new_mask, k)

    def top_vanished(self, k: int) -> dict[str, int]:
        """The largest vanished categories the reference kept by name (the tail's have none)."""
        return _first(self.ref_keys, self.ref_counts, self.vanished_mask, k)


def _first(keys: np.ndarray, counts: np.ndarray, mask: np.ndarray, k: int) -> dict[str, int]:
    """The first ``k`` categories under ``mask``: the largest, as profiles list categories most
    frequent first (ties by key)."""
    pick = np.flatnonzero(mask)[:k]
    return {str(keys[i]): int(counts[i]) for i in pick}
