"""How far a numeric column's reference is from itself moved by ``step``, by each method's measure.

Why: the smallest detectable drift is quoted in the method's own units (a KS gap, a PSI) and,
for numeric columns, as a location shift in reference standard deviations. The bridge between
the two is the method's value for the reference against the same reference moved by ``step``:
a population figure, computed from the reference's order statistics ``q`` (sorted).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...profiling import bin_counts

__all__ = ["binned_shift", "ks_shift", "rms_shift"]


def _gaps(q: np.ndarray, step: float) -> np.ndarray:
    """``F(z) - F(z - step)`` at every point ``z`` of the reference and of its moved copy,
    with ``F`` the reference's empirical CDF: the CDF gap between the two."""
    points = np.concatenate([q, q + step])
    return (np.searchsorted(q, points, side="right") - np.searchsorted(q, points - step, side="right")) / q.size


def ks_shift(q: np.ndarray, step: float) -> float:
    """The largest CDF gap (KS ``D``) between the reference and the reference moved by ``step``.

    >>> ks_shift(np.array([0.0, 1.0, 2.0, 3.0]), 1.0)
    0.25
    """
    return float(np.max(np.abs(_gaps(q, step))))


def rms_shift(q: np.ndarray, step: float) -> float:
    """The root mean square CDF gap over both samples (the Cramér–von Mises effect).

    >>> rms_shift(np.array([0.0, 1.0]), 10.0)   # apart: gaps 1/2, 1 at the reference, 1/2, 0 moved
    0.6123724356957945
    """
    return float(np.sqrt(np.mean(_gaps(q, step) ** 2)))


def binned_shift(rows: Callable[[np.ndarray, np.ndarray], np.ndarray], q: np.ndarray, edges: np.ndarray,
                 step: float) -> float:
    """A binned distance between the reference's shares over its bins and the moved copy's.

    >>> from .psi import psi_rows
    >>> q = np.arange(100.0)
    >>> edges = np.array([0.0, 50.0, 100.0])                  # bins < 0, [0, 50), [50, 100), >= 100
    >>> round(binned_shift(psi_rows, q, edges, 50.0), 4)       # shares 0 .5 .5 0 -> 0 0 .5 .5
    8.5155
    """
    ref = bin_counts(q, 0, 0, edges)
    moved = bin_counts(q + step, 0, 0, edges)
    return float(rows((ref / q.size)[None, :], (moved / q.size)[None, :])[0])
