"""Hellinger distance between two binned distributions.

Why: bounded in ``[0, 1]``, symmetric, finite with empty bins, and less dominated by
rare bins than PSI or KL (it compares square roots of shares).
"""

from __future__ import annotations

import numpy as np

from .counts import paired_counts

__all__ = ["hellinger", "hellinger_rows"]


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
    return float(hellinger_rows((ref / ref_total)[None, :], (cur / cur_total)[None, :])[0])


def hellinger_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The distance of each row of shares ``p`` to the same row of ``q``.

    ``||sqrt p - sqrt q|| / sqrt 2`` equals ``sqrt(1 - sum sqrt(p q))`` but is exactly 0 on
    equal shares, where the subtraction form keeps rounding noise (1e-8 after the root).

    >>> hellinger_rows(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [0.5, 0.5]])).tolist()
    [1.0, 0.0]
    """
    diff = np.sqrt(p) - np.sqrt(q)
    return np.asarray(np.minimum(np.sqrt(np.sum(diff * diff, axis=-1) / 2.0), 1.0), dtype=np.float64)
