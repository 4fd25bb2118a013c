"""Jensen–Shannon distance between two binned distributions.

Why: a bounded (0 to 1), symmetric distance that stays finite when a bin is empty on one
side, so no smoothing constant has to be chosen (contrast PSI).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import rel_entr

from .counts import paired_counts

__all__ = ["jensenshannon", "jensenshannon_rows"]


def jensenshannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Return the Jensen–Shannon distance, base 2, in ``[0, 1]``.

    With shares ``p``, ``q`` and their mixture ``m = (p + q) / 2`` (Lin 1991; Endres &
    Schindelin 2003 for the square root being a metric)::

        JSD = sqrt( (KL(p||m) + KL(q||m)) / 2 ),   KL in bits

    ``scipy.special.rel_entr`` gives ``0 * log 0 = 0``, so empty bins need no smoothing
    and raise no warning. Same arithmetic as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``, except that a rounding error
    below 0 is clipped to 0 (scipy returns nan there) and two all-zero vectors, being the
    same (empty) distribution, give 0.0 instead of nan. Exactly one all-zero vector
    raises ``ValueError``.

    >>> jensenshannon(np.array([10, 0]), np.array([0, 5]))
    1.0
    >>> round(jensenshannon(np.array([1, 1]), np.array([3, 1])), 6)
    0.220896
    >>> jensenshannon(np.array([2, 3]), np.array([4, 6]))
    0.0
    """
    ref, cur = paired_counts(ref_counts, cur_counts)
    ref_total, cur_total = ref.sum(), cur.sum()
    if ref_total == 0 and cur_total == 0:
        return 0.0
    return float(jensenshannon_rows((ref / ref_total)[None, :], (cur / cur_total)[None, :])[0])


def jensenshannon_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The distance of each row of shares ``p`` to the same row of ``q`` (rows sum to 1), for
    a null distribution's thousands of draws at once.

    >>> jensenshannon_rows(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [0.5, 0.5]])).tolist()
    [1.0, 0.0]
    """
    m = (p + q) / 2.0
    js = (np.sum(rel_entr(p, m), axis=-1) + np.sum(rel_entr(q, m), axis=-1)) / math.log(2)
    return np.asarray(np.sqrt(np.clip(js / 2.0, 0.0, 1.0)), dtype=np.float64)
