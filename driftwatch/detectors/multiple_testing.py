"""Corrections for testing many columns at once.

Why: a monitor with 200 columns tested at ``alpha = 0.05`` raises about 10 false drift
alarms per run even when nothing changed. Adjusting the p-values before comparing them
with ``alpha`` bounds the false discovery rate (Benjamini–Hochberg) or the chance of any
false alarm (Bonferroni).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CORRECTIONS", "benjamini_hochberg", "bonferroni", "correct"]

#: The names a detector's ``correction`` key takes.
CORRECTIONS = ("bh", "bonferroni", "none")


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values, in the input order.

    With the ``m`` p-values sorted ascending, ``p_(1) <= ... <= p_(m)`` (Benjamini &
    Hochberg 1995; adjusted form as R's ``p.adjust(method="BH")``)::

        q_(i) = min_{j >= i} ( m * p_(j) / j )

    Rejecting every hypothesis with ``q <= alpha`` controls the false discovery rate at
    ``alpha`` for independent (or positively dependent) tests. Same as
    ``scipy.stats.false_discovery_control(p, method="bh")``; empty input gives an empty
    array.

    >>> benjamini_hochberg(np.array([0.5, 0.6, 0.1, 0.001])).tolist()
    [0.6, 0.6, 0.2, 0.004]
    """
    ps = _p_values(p_values)
    m = ps.shape[0]
    if m <= 1:
        return ps
    order = np.argsort(ps)
    adjusted: np.ndarray = ps[order] * (m / np.arange(1, m + 1, dtype=np.float64))
    np.minimum.accumulate(adjusted[::-1], out=adjusted[::-1])
    result: np.ndarray = np.empty_like(adjusted)
    result[order] = adjusted
    return result


def bonferroni(p_values: np.ndarray) -> np.ndarray:
    """Return Bonferroni adjusted p-values ``min(1, m * p)``, in the input order.

    Rejecting every ``q <= alpha`` bounds the chance of *any* false alarm by ``alpha``,
    whatever the dependence between tests (Bonferroni's inequality); stricter than
    Benjamini–Hochberg.

    >>> bonferroni(np.array([0.01, 0.2, 0.5])).tolist()
    [0.03, 0.6000000000000001, 1.0]
    """
    ps = _p_values(p_values)
    adjusted: np.ndarray = np.minimum(1.0, ps * ps.shape[0])
    return adjusted


def correct(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjust ``p_values`` by ``method`` (one of ``CORRECTIONS``).

    >>> correct(np.array([0.01, 0.04]), "none").tolist()
    [0.01, 0.04]
    """
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "bonferroni":
        return bonferroni(p_values)
    if method == "none":
        return _p_values(p_values)
    raise ValueError(f"correction: must be one of {', '.join(CORRECTIONS)}, got {method!r}")


def _p_values(p_values: np.ndarray) -> np.ndarray:
    ps = np.asarray(p_values, dtype=np.float64)
    if ps.ndim != 1:
        raise ValueError(f"p_values: must be 1-D, got shape {ps.shape}")
    if not np.all((ps >= 0) & (ps <= 1)):
        raise ValueError("p_values: must all be in [0, 1] (no nan)")
    return ps.copy()
