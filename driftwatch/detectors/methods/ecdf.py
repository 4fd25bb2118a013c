"""Both samples' empirical CDFs on the pooled sorted values, from one stable merge.

KS and Wasserstein both need ``F_ref`` and ``F_cur`` at every pooled value. Binary-searching
each sample into the other costs ``O(n log n)`` with poor cache use (about 20 ns a key at a
million rows); one stable argsort of the two concatenated sorted runs is a linear merge and
the counts follow from a cumulative sum. Inside a run of tied values the running counts are
partial; only the last position of each run holds ``#{x <= z}``, which is why callers either
read the run ends (``ends``) or weight by gaps that are zero inside a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Merged:
    pooled: np.ndarray   # both samples' values, sorted
    ref_le: np.ndarray   # reference values at or before each position (exact at run ends)
    cur_le: np.ndarray   # current values at or before each position (exact at run ends)

    @property
    def ends(self) -> np.ndarray:
        """True at the last position of each run of equal values."""
        ends = np.ones(self.pooled.size, dtype=bool)
        np.not_equal(self.pooled[1:], self.pooled[:-1], out=ends[:-1])
        return ends


def merge(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> Merged:
    """Merge two sorted samples.

    >>> m = merge(np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0]))
    >>> m.pooled.tolist(), m.ref_le[m.ends].tolist(), m.cur_le[m.ends].tolist()
    ([1.0, 2.0, 2.0, 2.0, 3.0], [1, 3, 3], [0, 1, 2])
    """
    n1 = ref_sorted.size
    both = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(both, kind="stable")
    cur_le = np.cumsum(order >= n1)
    ref_le = np.arange(1, both.size + 1) - cur_le
    return Merged(pooled=both[order], ref_le=ref_le, cur_le=cur_le)
