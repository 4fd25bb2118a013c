"""How far a numeric column's reference is from itself moved by ``step``, by each method's measure.

Why: the smallest detectable drift is quoted in the method's own units (a KS gap, a PSI) and,
for numeric columns, as a location shift in reference standard deviations. The bridge between
the two is the method's value for the reference against the same reference moved by ``step``:
a population figure, computed from the reference's order statistics.

The reference's CDF is taken piecewise linear, each distinct value's share spread evenly between
the midpoints to its neighbours. Read as a step function, an integer column (or any column with
ties) would show its largest atom as a KS gap for the tiniest move, and a small sample its own
sampling noise as shape; spread, a move smaller than the gap between values costs in proportion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...column_profile import thin

__all__ = ["QUANTILES", "ReferenceCdf", "binned_shift", "ks_shift", "reference_cdf", "rms_shift"]

#: Reference order statistics kept for shift computations: a CDF resolution of 1/2,000.
QUANTILES = 2_001


@dataclass(frozen=True, eq=False)
class ReferenceCdf:
    """A piecewise-linear CDF through knots ``(x, cdf)``, and the order statistics it came from."""

    x: np.ndarray
    cdf: np.ndarray
    sample: np.ndarray

    def at(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(z, self.x, self.cdf), dtype=np.float64)


def reference_cdf(sorted_values: np.ndarray) -> ReferenceCdf | None:
    """The spread CDF of a sorted sample (thinned to ``QUANTILES``); None with fewer than two values
    apart by more than 1e-12 of the range (values closer than that count as one: a gap of
    1e-311 next to 0 would make the CDF's slope infinite).

    >>> c = reference_cdf(np.array([1.0, 1.0, 2.0, 3.0]))     # shares 1/2, 1/4, 1/4
    >>> c.x.tolist(), c.cdf.tolist()
    ([0.5, 1.5, 2.5, 3.5], [0.0, 0.5, 0.75, 1.0])
    >>> reference_cdf(np.array([-1.0, -2.2e-311, 0.0])).x.tolist()  # the two near 0 are one value
    [-1.5, -0.5, 0.5]
    >>> reference_cdf(np.array([5.0, 5.0])) is None
    True
    """
    sample = thin(sorted_values, QUANTILES)
    values, counts = np.unique(sample, return_counts=True)
    if values.size < 2:
        return None
    distinct = np.concatenate([[True], np.diff(values) > (values[-1] - values[0]) * 1e-12])
    counts = np.add.reduceat(counts, np.flatnonzero(distinct))
    values = values[distinct]
    if values.size < 2:
        return None
    below = np.cumsum(counts)[:-1] / sample.size
    x = np.concatenate([[values[0] - (values[1] - values[0]) / 2], (values[1:] + values[:-1]) / 2,
                        [values[-1] + (values[-1] - values[-2]) / 2]])
    return ReferenceCdf(x, np.concatenate([[0.0], below, [1.0]]), sample)


def _gaps(cdf: ReferenceCdf, points: np.ndarray, step: float) -> np.ndarray:
    """``F(z) - F(z - step)`` at ``points``: the gap between the reference's CDF and its moved copy's."""
    return np.asarray(cdf.at(points) - cdf.at(points - step), dtype=np.float64)


def ks_shift(cdf: ReferenceCdf, step: float) -> float:
    """The largest CDF gap (KS ``D``) between the reference and the reference moved by ``step``;
    with a piecewise-linear CDF the largest gap sits on a knot of either copy.

    >>> ks_shift(reference_cdf(np.array([0.0, 1.0, 2.0, 3.0])), 1.0)
    0.25
    """
    points = np.concatenate([cdf.x, cdf.x + step])
    return float(np.max(np.abs(_gaps(cdf, points, step))))


def rms_shift(cdf: ReferenceCdf, step: float) -> float:
    """The root mean square CDF gap over both copies' values (the Cramér–von Mises effect).

    >>> round(rms_shift(reference_cdf(np.array([0.0, 1.0])), 10.0), 4)   # gaps 1/4, 3/4, 3/4, 1/4
    0.559
    """
    points = np.concatenate([cdf.sample, cdf.sample + step])
    return float(np.sqrt(np.mean(_gaps(cdf, points, step) ** 2)))


def binned_shift(rows: Callable[[np.ndarray, np.ndarray], np.ndarray], cdf: ReferenceCdf, edges: np.ndarray,
                 step: float) -> float:
    """A binned distance between the reference's shares over its bins (two open outer bins
    included) and the moved copy's.

    >>> from .psi import psi_rows
    >>> cdf = reference_cdf(np.arange(100.0))
    >>> round(binned_shift(psi_rows, cdf, np.array([0.0, 50.0, 100.0]), 50.0), 4)   # half the mass moves up a bin
    6.509
    """
    def shares(cuts: np.ndarray) -> np.ndarray:
        return np.diff(np.concatenate([[0.0], cdf.at(cuts), [1.0]]))
    return float(rows(shares(edges)[None, :], shares(edges - step)[None, :])[0])
