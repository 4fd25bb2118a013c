"""Isotonic calibration: the best non-decreasing step map from score to label frequency.

Why isotonic: it assumes only that a higher score never means a lower chance of the positive
class, so it corrects any monotone miscalibration (Zadrozny & Elkan 2002, "Transforming
classifier scores into accurate multiclass probability estimates").
"""

from __future__ import annotations

import numpy as np

from .calibrator import Calibrator, labelled

__all__ = ["fit_isotonic"]

#: sklearn's ``_make_unique`` starts a new distinct score only when it exceeds the first score
#: of the current group by at least ``np.finfo(np.float64).resolution``; scores closer than
#: that are pooled as ties. Kept here so fits agree with sklearn on such data too.
TIE_EPS = float(np.finfo(np.float64).resolution)

#: Vectorised pooling rounds continue while one round still removes at least this share of
#: the blocks; what is left is finished by a stack pass (linear in the blocks left).
MIN_ROUND_GAIN = 0.125


def fit_isotonic(score: np.ndarray, y01: np.ndarray) -> Calibrator:
    """Fit an increasing isotonic calibrator of the labels ``y01`` on ``score``.

    Least squares under the order constraint (Barlow et al. 1972, "Statistical inference
    under order restrictions")::

        minimise  sum_g w_g (f_g - ybar_g)^2   subject to  f_1 <= f_2 <= ... <= f_G

    over the distinct scores ``g`` (ties averaged first: ``ybar_g`` is the label mean of the
    rows sharing score ``g``, ``w_g`` their count), solved by pool-adjacent-violators
    (Ayer et al. 1955): neighbouring blocks whose means are out of order are merged into
    their weighted mean until the means increase. Block means of 0/1 labels are ratios of
    integers, so every comparison is exact.

    Agrees with ``sklearn.isotonic.IsotonicRegression(out_of_bounds="clip", y_min=0,
    y_max=1).fit(score, y01)``: the same tie pooling (scores within ``TIE_EPS`` of a group's
    first score join it), the same breakpoints (a point whose fitted value equals both
    neighbours' is dropped) and, through ``Calibrator.__call__``, the same interpolation.
    Scores are read as float64 (sklearn keeps float32 input as float32).

    Cost: one sort plus O(n) pooling: a few vectorised rounds that merge every run of
    non-increasing block means at once, then a stack pass over the blocks left.

    >>> cal = fit_isotonic(np.array([1.0, 2.0, 2.0, 3.0, 4.0]), np.array([0, 1, 0, 0, 1]))
    >>> cal.x.tolist(), cal.y.tolist()
    ([1.0, 2.0, 3.0, 4.0], [0.0, 0.3333333333333333, 0.3333333333333333, 1.0])
    >>> cal(np.array([0.0, 3.5, 9.0])).round(12).tolist()
    [0.0, 0.666666666667, 1.0]
    """
    s, y = labelled(score, y01)
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    starts = _group_starts(s)
    sums = np.add.reduceat(y, starts)
    weights = np.diff(np.append(starts, s.size)).astype(np.float64)
    fitted = np.clip(_pav(sums, weights), 0.0, 1.0)
    x = s[starts]
    keep = np.ones(x.size, dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return Calibrator("isotonic", x[keep], fitted[keep])


def _group_starts(s_sorted: np.ndarray) -> np.ndarray:
    """Index of the first row of each group of tied scores (sklearn's ``_make_unique`` rule)."""
    new = np.empty(s_sorted.size, dtype=bool)
    new[0] = True
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    if s_sorted.size < 2 or np.all(np.diff(s_sorted[starts]) >= TIE_EPS):
        return starts
    # Rare: distinct scores closer than TIE_EPS. The group's first score is the anchor, so
    # the rule chains and is applied in one pass over the distinct scores.
    kept = [int(starts[0])]
    anchor = float(s_sorted[starts[0]])
    for i in starts[1:].tolist():
        value = float(s_sorted[i])
        if value - anchor >= TIE_EPS:
            kept.append(i)
            anchor = value
    return np.asarray(kept, dtype=np.intp)


def _pav(sums: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the increasing fit of ``sums / weights`` with ``weights``.

    Pooling any two neighbours with ``mean_left >= mean_right`` never moves the solution
    (the fit is unique and gives such neighbours one value), so merges can be done in any
    order: whole runs at once while that pays, then the classic stack pass.

    >>> _pav(np.array([1.0, 0.0, 1.0]), np.ones(3)).tolist()
    [0.5, 0.5, 1.0]
    """
    s, w = sums, weights
    size = np.ones(s.size, dtype=np.intp)  # distinct scores per block
    while s.size > 1:
        head = np.empty(s.size, dtype=bool)
        head[0] = True
        means = s / w
        np.greater(means[1:], means[:-1], out=head[1:])
        heads = np.flatnonzero(head)
        if heads.size == s.size:
            return np.repeat(means, size)
        s, w, size = (np.add.reduceat(v, heads) for v in (s, w, size))
        if heads.size > (1.0 - MIN_ROUND_GAIN) * head.size:
            break
    stack_s: list[float] = []
    stack_w: list[float] = []
    stack_n: list[int] = []
    for si, wi, ni in zip(s.tolist(), w.tolist(), size.tolist()):
        # pool while the previous block's mean is >= this one's (cross-multiplied, w > 0)
        while stack_s and stack_s[-1] * wi >= si * stack_w[-1]:
            si += stack_s.pop()
            wi += stack_w.pop()
            ni += stack_n.pop()
        stack_s.append(si)
        stack_w.append(wi)
        stack_n.append(ni)
    return np.repeat(np.asarray(stack_s) / np.asarray(stack_w), stack_n)
