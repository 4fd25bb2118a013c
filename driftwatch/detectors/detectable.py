"""The smallest drift a window of this size would flag: power analysis for the drift rule.

Why: an ``ok`` on a 200-row window says little when only a shift of half a standard deviation
could have been seen there. Each drift result carries the smallest true effect, in its
method's own units, that the rule (significant *and* at least the practical minimum) flags with
80 % power, so a report can tell "no drift" from "too small to tell". Both parts of the rule
count: the observed effect scatters around the true one, so a true effect sitting exactly on
the practical minimum is flagged only half the time.

The usual approximations, for reading, not deciding:

* **Chi-square family** (PSI, Jensen–Shannon, Hellinger, chi-square, z-test): Pearson's
  statistic ``X`` under a change is noncentral chi-square with ``K - 1`` degrees of freedom and
  noncentrality ``lambda = n_eff * w^2``, ``w^2 = sum (p - q)^2 / h`` (Cohen 1988, ch. 7), and
  each method's effect is a function of ``X`` (the second-order expansion its asymptotic
  p-value uses). The rule flags ``X`` above the larger of the critical value at ``alpha`` and
  the practical minimum turned into ``X``; the ``lambda`` flagged with 80 % power is solved for.
* **Kolmogorov–Smirnov** (and the methods whose p-value it gives): the critical gap is
  ``c(alpha) * s``, ``s = sqrt(1/n_ref + 1/n_cur)``, ``c`` the Kolmogorov distribution's upper
  quantile; under a shift the largest CDF gap scatters with standard deviation at most
  ``s / 2``, so 80 % power needs ``z_0.8 * s / 2`` on top of the larger of that gap and the
  practical minimum. The bound errs large: at the quoted figure ``bench/detectable_bench.py``
  finds 93-100 % power.

For numeric columns the same figure is also given as a location shift in reference standard
deviations: the smallest ``delta`` for which the reference and the reference moved by
``delta * std`` are that far apart by the method's own measure.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import optimize, stats

__all__ = ["POWER", "chi2_noncentrality", "gap_margin", "ks_detectable_gap", "mean_detectable_shift",
           "shift_needed"]

#: The power at which the smallest detectable drift is quoted.
POWER = 0.8
#: No location shift beyond this many standard deviations is searched.
MAX_SHIFT = 50.0


def chi2_noncentrality(alpha: float, df: int, power: float = POWER, floor: float = 0.0) -> float:
    """The noncentrality at which a chi-square statistic with ``df`` degrees of freedom exceeds
    both its critical value at level ``alpha`` and ``floor`` with probability ``power``.

    >>> lam = chi2_noncentrality(0.05, 1)      # Cohen's table: 7.85 for 80 % at 0.05, df 1
    >>> round(lam, 2)
    7.85
    >>> chi2_noncentrality(0.05, 1, floor=20.0) > 20
    True
    """
    if df < 1:
        raise ValueError(f"df: must be >= 1, got {df}")
    critical = max(float(stats.chi2.isf(alpha, df)), floor)
    if stats.chi2.sf(critical, df) >= power:  # a level this loose flags no change at all that often
        return 0.0
    upper = 1.0
    while stats.ncx2.sf(critical, df, upper) < power:
        upper *= 2.0
    return float(optimize.brentq(lambda lam: stats.ncx2.sf(critical, df, lam) - power, 0.0, upper,
                                 xtol=1e-10, rtol=1e-10))


def ks_detectable_gap(alpha: float, n_ref: float, n_cur: float, power: float = POWER, floor: float = 0.0) -> float:
    """The true largest CDF gap (KS ``D``) whose observed gap is significant at level ``alpha``
    and at least ``floor`` with probability ``power``.

    >>> round(ks_detectable_gap(0.05, 1000, 1000), 4)   # (1.358 + 0.5 * 0.842) * sqrt(2 / 1000)
    0.0796
    >>> round(ks_detectable_gap(0.05, 1000, 1000, floor=0.1), 4)   # 0.1 + 0.5 * 0.842 * sqrt(2 / 1000)
    0.1188
    """
    scale = math.sqrt(1.0 / n_ref + 1.0 / n_cur)
    return float(max(stats.kstwobign.isf(alpha) * scale, floor)) + gap_margin(n_ref, n_cur, power)


def gap_margin(n_ref: float, n_cur: float, power: float = POWER) -> float:
    """How far above a bar a true CDF gap must be for the observed one to clear it with
    ``power``: ``z_power`` times the gap's largest standard deviation, ``sqrt(1/n_ref + 1/n_cur) / 2``.

    >>> round(gap_margin(1000, 1000), 4)
    0.0188
    """
    return float(0.5 * stats.norm.ppf(power) * math.sqrt(1.0 / n_ref + 1.0 / n_cur))


def mean_detectable_shift(n_ref: float, n_cur: float, floor: float, power: float = POWER) -> float:
    """The true location shift (in reference stds) whose observed Wasserstein distance / std is at
    least ``floor`` with probability ``power``: the distance is at least the observed mean
    difference, whose standard deviation is ``sqrt(1/n_ref + 1/n_cur)`` stds.

    >>> round(mean_detectable_shift(1000, 1000, 0.1), 4)    # 0.1 + 0.842 * sqrt(2 / 1000)
    0.1376
    """
    return float(floor + stats.norm.ppf(power) * math.sqrt(1.0 / n_ref + 1.0 / n_cur))


def shift_needed(effect: Callable[[float], float], target: float) -> float | None:
    """The smallest location shift ``delta`` (in reference standard deviations) whose effect
    reaches ``target``; None when even ``MAX_SHIFT`` does not (bisection to 1e-4; ``effect``
    grows with ``delta``).

    >>> round(shift_needed(lambda d: 2 * d, 0.5), 3)
    0.25
    >>> shift_needed(lambda d: min(d, 1.0), 2.0) is None
    True
    """
    if effect(MAX_SHIFT) < target:
        return None
    low, high = 0.0, MAX_SHIFT
    while high - low > 1e-4:
        middle = (low + high) / 2.0
        if effect(middle) >= target:
            high = middle
        else:
            low = middle
    return high
