"""Chi-square test of homogeneity for a categorical column.

Why: the standard test for "do these two samples share one category distribution", with
a p-value that accounts for how many rows each side has.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .counts import paired_counts

__all__ = ["chisquare_counts", "cramers_v"]


def chisquare_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Return Pearson's chi-square statistic and p-value for the 2 x K table ``[ref, cur]``.

    Categories that are 0 on both sides carry no information and are dropped first (they
    would make an expected count 0). With row totals ``R_r``, column totals ``C_k`` and
    grand total ``T`` (Pearson 1900; as ``scipy.stats.chi2_contingency``)::

        E_rk = R_r * C_k / T
        X2   = sum_rk (O_rk - E_rk)^2 / E_rk,    dof = K - 1,    p = chi2.sf(X2, dof)

    With exactly two categories (dof 1) Yates' continuity correction moves each observed
    count towards its expectation by ``min(0.5, |O - E|)``, as scipy's default does.
    Fewer than two remaining categories: no test is possible, ``(0.0, 1.0)``. Exactly
    one side all zero raises ``ValueError`` (scipy's "expected frequency 0").

    Vectorised over the K categories, so 5,000+ categories cost microseconds.

    >>> x2, p = chisquare_counts(np.array([30, 20, 0]), np.array([20, 30, 0]))
    >>> round(x2, 6), round(p, 6)
    (3.24, 0.071861)
    >>> chisquare_counts(np.array([7, 0]), np.array([3, 0]))
    (0.0, 1.0)
    """
    ref, cur = paired_counts(ref_counts, cur_counts)
    keep = (ref > 0) | (cur > 0)
    observed = np.stack([ref[keep], cur[keep]])
    dof = observed.shape[1] - 1
    if dof < 1:
        return 0.0, 1.0

    # Same operations, in the same order, as chi2_contingency / power_divergence.
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
    expected = expected / observed.sum()
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, dof))


def cramers_v(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Cramér's V of the 2 x K table: ``sqrt(X2 / N)`` with Pearson's uncorrected ``X2``.

    Why: the chi-square statistic grows with the row count; V does not (0: same shares, 1:
    no category in common), so it can carry a practical minimum. For two categories it is
    ``|phi| = |z| / sqrt(N)`` of the two-proportion z-test. Same as
    ``scipy.stats.contingency.association(table, method="cramer")``.

    >>> round(cramers_v(np.array([30, 20]), np.array([20, 30])), 6)
    0.2
    """
    ref, cur = paired_counts(ref_counts, cur_counts)
    keep = (ref > 0) | (cur > 0)
    observed = np.stack([ref[keep], cur[keep]])
    if observed.shape[1] < 2:
        return 0.0
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    return float(np.sqrt(np.sum((observed - expected) ** 2 / expected) / observed.sum()))
