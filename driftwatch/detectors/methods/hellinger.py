"""Hellinger distance between two binned distributions.

Why: bounded in ``[0, 1]``, symmetric, finite with empty bins, and less dominated by
rare bins than PSI or KL (it compares square roots of shares).
"""

from __future__ import annotations

import math

import numpy as np

from .counts import paired_counts

__all__ = ["hellinger"]


def hellinger(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Return the Hellinger distance between the shares of two count vectors.

    With shares ``p = ref / sum(ref)``, ``q = cur / sum(cur)`` and the Bhattacharyya
    coefficient ``BC = sum_i sqrt(p_i * q_i)`` (Hellinger 1909; Le Cam & Yang 2000)::

        H = sqrt(1 - BC) = ||sqrt(p) - sqrt(q)||_2 / sqrt(2)

    ``1 - BC`` can round to a tiny negative number for identical shares, so it is
    clipped at 0 before the square root. Two all-zero vectors are the same (empty)
    distribution: 0.0. Exactly one all-zero vector raises ``ValueError``.

    >>> hellinger(np.array([1, 0]), np.array([0, 1]))
    1.0
    >>> round(hellinger(np.array([1, 1]), np.array([1, 0])), 6)   # sqrt(1 - sqrt(1/2))
    0.541196
    >>> hellinger(np.array([2, 2]), np.array([5, 5]))
    0.0
    """
    ref, cur = paired_counts(ref_counts, cur_counts)
    ref_total, cur_total = ref.sum(), cur.sum()
    if ref_total == 0 and cur_total == 0:
        return 0.0
    # ||sqrt p - sqrt q|| / sqrt 2 equals sqrt(1 - sum sqrt(p q)) but is exactly 0 on equal
    # shares, where the subtraction form keeps rounding noise (1e-8 after the square root).
    diff = np.sqrt(ref / ref_total) - np.sqrt(cur / cur_total)
    return min(math.sqrt(float(np.dot(diff, diff)) / 2.0), 1.0)
