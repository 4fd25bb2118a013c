"""Two-sample Cramér–von Mises test.

Why: like KS it is distribution-free, but it integrates the squared ECDF gap over the
whole range instead of taking its single largest point, so it is more sensitive to
changes spread across the distribution (e.g. a change of scale) than KS.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .ecdf import Merged, merge

__all__ = ["cramervonmises_2samp_sorted", "rms_cdf_gap"]


def cramervonmises_2samp_sorted(
    ref_sorted: np.ndarray, cur_sorted: np.ndarray
) -> tuple[float, float]:
    """Return the two-sample Cramér–von Mises statistic ``T`` and its p-value.

    With ``n``, ``m`` the sample sizes, ``N = n + m``, and ``r_i`` / ``s_j`` the (mid)ranks
    of the sorted reference / current values in the pooled sample (Anderson 1962, eq. 9
    and 10)::

        U = n * sum_i (r_i - i)^2 + m * sum_j (s_j - j)^2
        T = U / (n m N) - (4 n m - 1) / (6 N)

    This delegates to ``scipy.stats.cramervonmises_2samp(ref, cur)`` (``method="auto"``:
    exact p-value when both samples have at most 20 observations, else the asymptotic
    one of Csörgő & Faraway 1996); scipy's work is array-level, there is nothing to gain
    from repeating it. The inputs need not be sorted, but profiles store them sorted.

    Caveat: the formula assumes no ties. On heavily tied data scipy's midranks inflate
    ``T``: two *identical* constant samples of very different sizes (say 100 and 1,000
    rows) give ``p < 1e-6``. Use it on continuous columns only.

    Needs at least two observations per sample (scipy returns nan otherwise; this raises
    ``ValueError``).

    >>> t, p = cramervonmises_2samp_sorted(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    >>> t, round(p, 6)
    (0.375, 0.333333)
    """
    ref = np.asarray(ref_sorted, dtype=np.float64)
    cur = np.asarray(cur_sorted, dtype=np.float64)
    if ref.shape[0] < 2:
        raise ValueError(f"ref_sorted: needs at least 2 observations, got {ref.shape[0]}")
    if cur.shape[0] < 2:
        raise ValueError(f"cur_sorted: needs at least 2 observations, got {cur.shape[0]}")
    res = stats.cramervonmises_2samp(ref, cur)
    return float(res.statistic), float(res.pvalue)


def rms_cdf_gap(ref_sorted: np.ndarray, cur_sorted: np.ndarray, merged: Merged | None = None) -> float:
    """The root mean square gap between the two empirical CDFs over the pooled sample: the
    effect size behind the Cramér–von Mises statistic, in CDF units like KS's largest gap.

    ``omega^2 = (1 / N) sum_z (F_ref(z) - F_cur(z))^2`` over the ``N`` pooled values, so
    ``T = n m / N * omega^2`` (Anderson 1962, eq. 2) and, without ties,
    ``omega = sqrt(T N / (n m))`` with scipy's ``T``. Ties count at the end of their run.

    >>> rms_cdf_gap(np.array([1.0, 2.0]), np.array([3.0, 4.0]))   # T = 0.375, N = 4, n = m = 2
    0.6123724356957945
    """
    merged = merged or merge(ref_sorted, cur_sorted)
    ends = merged.ends
    gaps = merged.ref_le[ends] / ref_sorted.size - merged.cur_le[ends] / cur_sorted.size
    run_lengths = np.diff(np.concatenate(([0], np.flatnonzero(ends) + 1)))
    return float(np.sqrt(np.sum(run_lengths * gaps * gaps) / merged.pooled.size))
