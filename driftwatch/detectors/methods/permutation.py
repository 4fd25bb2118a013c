"""How unlikely a binned distance is under no change, at these two sample sizes.

Why: PSI, Jensen–Shannon and Hellinger are effect sizes. Alone they cannot tell a change from
the noise of a small window: two 300-row samples of one 20-category column are ~0.1 apart in
Jensen–Shannon distance by chance, two 1M-row samples ~0.002. Their p-value answers "how often
does a window this size land this far from a reference this size when nothing changed".

Under no change both sides are one pooled sample split at random into ``n_ref`` and ``n_cur``
rows, so given the pooled bin counts ``c`` the current side's counts are multivariate
hypergeometric: the permutation null, exact whatever the bin shares and however small the
counts. The p-value is the Monte Carlo share of ``DRAWS`` such splits whose distance is at least
the one seen, ``(1 + k) / (DRAWS + 1)`` (Davison & Hinkley 1997, eq. 4.11), from a generator
seeded by the table's shape so the same input always gives the same p-value.

When every expected count of the smaller side is at least 5 (Cochran's rule) the asymptotic
form is used instead, and also below the Monte Carlo resolution: each distance is an
f-divergence, and ``n_eff * chi2_scale(d)`` tends to chi-square with ``K - 1`` degrees of
freedom (``K`` bins holding any row, ``n_eff = n_ref n_cur / (n_ref + n_cur)``; the second-order
expansion that makes Pearson's statistic ``n_eff * sum (p - q)^2 / h`` with ``h`` the pooled
shares): Jensen–Shannon ``8 ln2 d^2`` (base-2 distance), Hellinger ``8 H^2``, PSI ``PSI``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["DRAWS", "BinnedNull", "binned_p_value", "n_eff"]

#: Monte Carlo splits per test: p-values to 1/2001 and a standard error of at most 0.011.
DRAWS = 2_000
#: Cochran: the chi-square limit serves once every expected count is at least this.
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class BinnedNull:
    """What the permutation null needs of one binned distance."""

    rows: Callable[[np.ndarray, np.ndarray], np.ndarray]  # distance of each row of shares
    chi2_scale: Callable[[float], float]                  # d -> the asymptotic chi-square per n_eff


def n_eff(n_ref: float, n_cur: float) -> float:
    """The effective sample size of a two-sample comparison, ``n_ref n_cur / (n_ref + n_cur)``.

    >>> n_eff(300, 300), n_eff(1_000_000, 300) < 300
    (150.0, True)
    """
    return n_ref * n_cur / (n_ref + n_cur)


def binned_p_value(null: BinnedNull, ref_counts: np.ndarray, cur_counts: np.ndarray,
                   observed: float) -> tuple[float, str]:
    """P(distance >= ``observed``) under no change, and which null gave it.

    >>> from .jensenshannon import jensenshannon, jensenshannon_rows
    >>> js = BinnedNull(jensenshannon_rows, chi2_scale_js)
    >>> ref, cur = np.array([3, 2]), np.array([1, 4])       # exact: 11/21 = 0.524 of splits
    >>> p, how = binned_p_value(js, ref, cur, jensenshannon(ref, cur))
    >>> round(p, 2), how
    (0.53, 'permutation')
    >>> ref, cur = np.array([5000, 5000]), np.array([4000, 6000])
    >>> p, how = binned_p_value(js, ref, cur, jensenshannon(ref, cur))
    >>> p < 1e-40, how
    (True, 'chi-square limit')
    """
    ref = np.rint(np.asarray(ref_counts, dtype=np.float64)).astype(np.int64)
    cur = np.rint(np.asarray(cur_counts, dtype=np.float64)).astype(np.int64)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    if ref.size < 2 or n_ref == 0 or n_cur == 0:
        return 1.0, "permutation"
    pooled = ref + cur
    limit = float(stats.chi2.sf(n_eff(n_ref, n_cur) * null.chi2_scale(observed), ref.size - 1))
    if min(n_ref, n_cur) * pooled.min() / pooled.sum() >= MIN_EXPECTED:
        return limit, "chi-square limit"
    rng = np.random.default_rng(np.random.SeedSequence([n_ref, n_cur, ref.size]))
    cur_draws = rng.multivariate_hypergeometric(pooled, n_cur, size=DRAWS, method="marginals")
    ref_draws = pooled - cur_draws
    distances = null.rows(ref_draws / n_ref, cur_draws / n_cur)
    # a draw equal to the observed distance counts as "at least": rounding must not make it rarer
    at_least = int(np.count_nonzero(distances >= observed - 1e-12))
    if at_least == 0:  # beyond every draw: the limit's tail, capped by what the draws showed
        return min(limit, 1.0 / (DRAWS + 1)), "permutation, chi-square limit beyond the draws"
    return (1.0 + at_least) / (DRAWS + 1), "permutation"


def chi2_scale_js(distance: float) -> float:
    """Jensen–Shannon distance (base 2) -> its chi-square per ``n_eff``: ``8 ln2 d^2``."""
    return 8.0 * math.log(2.0) * distance * distance


def chi2_scale_hellinger(distance: float) -> float:
    """Hellinger distance -> its chi-square per ``n_eff``: ``8 H^2``."""
    return 8.0 * distance * distance


def chi2_scale_psi(value: float) -> float:
    """PSI is already on the chi-square scale per ``n_eff``."""
    return value
