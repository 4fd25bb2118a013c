"""Two-proportion z-test for a binary column.

Why: for a yes/no column the question is "did the rate change", and the signed z says
in which direction, which the chi-square statistic cannot.
"""

from __future__ import annotations

import math

from scipy import stats

__all__ = ["two_proportion_z"]


def two_proportion_z(
    x_ref: float, n_ref: float, x_cur: float, n_cur: float
) -> tuple[float, float]:
    """Return the pooled two-proportion z statistic (current minus reference) and its
    two-sided p-value.

    With ``p_ref = x_ref / n_ref``, ``p_cur = x_cur / n_cur`` and the pooled rate
    ``p = (x_ref + x_cur) / (n_ref + n_cur)`` (e.g. Agresti, *Categorical Data
    Analysis*, 3rd ed., sec. 3.1)::

        z = (p_cur - p_ref) / sqrt(p (1 - p) (1 / n_ref + 1 / n_cur)),   P = 2 * (1 - Phi(|z|))

    ``z**2`` is Pearson's chi-square for the 2 x 2 table without Yates' correction, and
    the p-values agree. When the pooled rate is 0 or 1 both samples are identical
    (all "no" or all "yes"): ``(0.0, 1.0)``.

    >>> z, p = two_proportion_z(40, 100, 60, 100)
    >>> round(z, 6), round(p, 6)
    (2.828427, 0.004678)
    """
    for name, x, n in (("ref", x_ref, n_ref), ("cur", x_cur, n_cur)):
        if not (math.isfinite(n) and n > 0):
            raise ValueError(f"n_{name}: must be > 0, got {n}")
        if not (math.isfinite(x) and 0 <= x <= n):
            raise ValueError(f"x_{name}: must be in [0, n_{name}], got {x}")
    pooled = (x_ref + x_cur) / (n_ref + n_cur)
    if pooled <= 0 or pooled >= 1:
        return 0.0, 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    z = float((x_cur / n_cur - x_ref / n_ref) / se)
    return z, float(2 * stats.norm.sf(abs(z)))
