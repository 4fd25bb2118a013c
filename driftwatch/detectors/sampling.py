"""What a fresh sample from the reference's own distribution is expected to show.

Why: a quality share judged against a fixed cut-off pages on chance at small windows. A
current window of 300 rows drawn from the very distribution of a 300-row reference has, on
average, 2 values outside the reference's [min, max] and, for a column of rare ids, a fifth of
its rows in categories the reference never saw. Each function here gives the share expected
when nothing changed, and the chance of a share at least as large as the one seen (one-sided
p-value), so a rule can alert only on an excess that is both unlikely and large.

* **Out of range** (order statistics, distribution-free): for continuous data the probability
  mass outside the range of ``n`` reference values is ``Beta(2, n - 1)`` distributed (the two
  outer spacings of ``n`` uniform order statistics), with mean ``2 / (n + 1)``. The number of
  ``m`` current values outside is then beta-binomial ``BB(m, 2, n - 1)``. Ties at the ends
  (discrete data) only make values outside rarer, so the test is conservative there.
* **New categories** (Good–Turing): the mass of categories a sample of ``n`` never saw is
  estimated by ``N1 / n`` (``N1``: categories seen exactly once), with variance
  ``(N1 + 2 N2 - N1² / n) / n²`` (Esty 1983). ``N1`` and ``N2`` count every reference category,
  the ones a profile lumped as ``other`` too. When the profile knows which categories ``other``
  holds (``driftwatch.membership``), its rows are known, not new; a profile that did not know
  would add their share ``other / n``. The count of new current rows is beta-binomial around
  that mass.
* **Vanished categories**: the reference share of categories absent from ``m`` fresh rows.
  A category seen ``r`` times of ``n`` is absent with probability ``(1 - p)^m``; its plug-in
  ``(1 - r/n)^m`` forgets that a category seen once is mostly rarer than ``1 / n`` (so an id
  column, whose every id vanishes, looked like 37 % expected and warned on every run). Instead,
  the chance that a reference row's category is absent from ``m`` other rows is estimated
  without bias from the reference itself, as the chance it is absent from ``m`` of the other
  ``n - 1`` reference rows: ``a_r = C(n - r, m) / C(n - 1, m)`` (hypergeometric; ``a_1 = 1``,
  so at ``m = n - 1`` the expectation is the Good–Turing ``N1 / n``, the new-category one).
  A window larger than the reference uses ``m = n - 1``, an upper bound: absence only gets rarer
  with more rows. Variance ``Σ s² a``: each absence's Bernoulli variance ``s² a (1 - a)`` plus
  ``s² a²`` for ``a`` being estimated from one count (checked by simulation in the tests);
  normal approximation of the upper tail.
* **Missing and non-finite shares**: Fisher's exact test on the 2×2 table of both sides' counts
  (a two-proportion test that holds at any count, unlike the z-test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Expectation", "absence_probability", "new_category_expectation", "out_of_range_expectation",
           "proportion_increase", "vanished_expectation"]


@dataclass(frozen=True)
class Expectation:
    """The share expected under no change and the one-sided p-value of the share seen."""

    expected: float
    p_value: float
    test: str


def _beta_binomial_sf(count: int, trials: int, mean: float, concentration: float) -> float:
    """P(K >= count) for K ~ BB(trials, mean * c, (1 - mean) * c); mean 0 means K is 0."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if mean >= 1:
        return 1.0
    a, b = mean * concentration, (1.0 - mean) * concentration
    return float(np.clip(stats.betabinom.sf(count - 1, trials, a, b), 0.0, 1.0))


def out_of_range_expectation(outside: int, n_cur: int, n_ref: int) -> Expectation:
    """Expected share of current values outside the reference range, and P(at least ``outside``).

    >>> e = out_of_range_expectation(5, 300, 300)
    >>> round(e.expected, 5), round(e.p_value, 4)     # 2 / 301; 5 of 300 is common
    (0.00664, 0.1082)
    >>> out_of_range_expectation(0, 300, 300).p_value
    1.0
    """
    if n_ref < 1 or n_cur < 1:
        raise ValueError(f"n_ref, n_cur: must be >= 1, got {n_ref}, {n_cur}")
    if n_ref == 1:  # one reference value: every other continuous value is outside
        return Expectation(1.0, 1.0, "order statistics, beta-binomial")
    # Beta(2, n_ref - 1): mean 2 / (n_ref + 1), concentration n_ref + 1
    mean = 2.0 / (n_ref + 1)
    p = _beta_binomial_sf(outside, n_cur, mean, n_ref + 1.0)
    return Expectation(mean, p, "order statistics, beta-binomial")


def good_turing(counts: np.ndarray, *, other: int = 0, other_singletons: int = 0,
                other_doubletons: int = 0, other_known: bool = False) -> tuple[float, float]:
    """Estimated share of rows outside the reference's categories under no change, and its variance.

    ``counts``: reference counts of the kept categories; ``other``: reference rows in
    categories the profile lumped together, of which ``other_singletons`` / ``other_doubletons``
    categories were seen once / twice. ``other_known``: the profile can tell those categories
    apart from new ones (else their rows are expected to look new as well).

    >>> mean, variance = good_turing(np.array([5, 3, 1, 1, 1, 2]))    # N1 = 3, N2 = 1, n = 13
    >>> mean == 3 / 13, variance == (3 + 2 * 1 - 3 * 3 / 13) / 13**2
    (True, True)
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum()) + int(other)
    if n <= 0:
        return 0.0, 0.0
    n1 = int(np.count_nonzero(counts == 1)) + int(other_singletons)
    n2 = int(np.count_nonzero(counts == 2)) + int(other_doubletons)
    unseen = n1 / n
    variance = max(n1 + 2 * n2 - n1 * n1 / n, 0.0) / (n * n)
    lumped = 0.0 if other_known else other / n
    variance += lumped * (1.0 - lumped) / n
    return unseen + lumped, variance


def new_category_expectation(new: int, n_cur: int, counts: np.ndarray, *, other: int = 0,
                             other_singletons: int = 0, other_doubletons: int = 0,
                             other_known: bool = False) -> Expectation:
    """Expected share of current rows in categories outside the reference's kept set, and
    P(at least ``new`` such rows) for a beta-binomial around the Good–Turing estimate.

    The test takes the mass to be at least ``1 / (n + 1)`` (a reference without singletons
    still allows the odd new row) and its spread the larger of Esty's variance and that of a
    share estimated from ``n`` rows.

    >>> ref = np.array([100] * 5)                       # no singletons: nothing new expected
    >>> e = new_category_expectation(3, 300, ref)
    >>> e.expected, round(e.p_value, 4)
    (0.0, 0.0524)
    >>> new_category_expectation(30, 300, ref).p_value < 1e-6
    True
    >>> zipf = np.array([50, 20, 10] + [1] * 60)        # 60 of 140 rows seen once: 43 % expected
    >>> round(new_category_expectation(130, 300, zipf).p_value, 2)
    0.47
    """
    mean, variance = good_turing(counts, other=other, other_singletons=other_singletons,
                                 other_doubletons=other_doubletons, other_known=other_known)
    n = int(np.asarray(counts).sum()) + int(other)
    test = "Good-Turing unseen mass, beta-binomial"
    if n <= 0:
        return Expectation(0.0, 1.0, test)
    mass = min(max(mean, 1.0 / (n + 1.0)), 1.0 - 1e-12)
    spread = max(variance, mass * (1.0 - mass) / (n + 2.0))
    concentration = max(mass * (1.0 - mass) / spread - 1.0, 1e-9)
    return Expectation(mean, _beta_binomial_sf(new, n_cur, mass, concentration), test)


def vanished_expectation(vanished_share: float, n_cur: int, counts: np.ndarray,
                         n_ref: int | None = None, *, multiplicity: np.ndarray | None = None) -> Expectation:
    """Expected share of reference rows whose category is absent from ``n_cur`` current rows,
    and the normal-approximation P(a share at least this large).

    ``counts`` are the counts of the categories that can be seen vanishing, ``multiplicity``
    how many categories have each (default one each: a profile's tail comes as its frequency
    of frequencies); ``n_ref`` the reference rows the share is of (default: their sum; more
    when a profile lumped a tail it cannot see).

    >>> e = vanished_expectation(0.0, 300, np.array([100, 100, 100]))
    >>> e.expected < 1e-50, e.p_value
    (True, 1.0)
    >>> vanished_expectation(0.0, 99, np.array([1]), 100, multiplicity=np.array([100])).expected
    1.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    weight = np.ones_like(counts) if multiplicity is None else np.asarray(multiplicity, dtype=np.float64)
    total = float(np.dot(counts, weight)) if n_ref is None else float(n_ref)
    test = "absence probability C(n - r, m) / C(n - 1, m), normal approximation"
    if total <= 0 or n_cur < 1:
        return Expectation(0.0, 1.0, test)
    absent = absence_probability(counts, int(round(total)), n_cur)
    share = counts / total
    mean = float(np.sum(weight * share * absent))
    sd = math.sqrt(float(np.sum(weight * share * share * absent)))
    if vanished_share <= mean:
        return Expectation(mean, 1.0, test)
    if sd <= 0:
        return Expectation(mean, 0.0, test)
    return Expectation(mean, float(stats.norm.sf((vanished_share - mean) / sd)), test)


def absence_probability(counts: np.ndarray, n_ref: int, n_cur: int) -> np.ndarray:
    """Unbiased estimate of the chance that a category seen ``r`` times in ``n_ref`` rows is
    absent from ``n_cur`` fresh rows, weighted by row: ``C(n - r, m) / C(n - 1, m)`` with
    ``m = min(n_cur, n_ref - 1)`` (see the module docstring).

    >>> absence_probability(np.array([1, 2, 3]), 10, 4).round(4).tolist()   # 1, 5/9, 5/9 * 4/8
    [1.0, 0.5556, 0.2778]
    """
    r = np.asarray(counts, dtype=np.float64)
    n = float(n_ref)
    m = float(max(min(n_cur, n_ref - 1), 0))
    out = np.zeros(r.shape, dtype=np.float64)
    possible = r <= n - m
    rr = r[possible]
    out[possible] = np.exp(special.gammaln(n - rr + 1) + special.gammaln(n - m) - special.gammaln(n)
                           - special.gammaln(n - rr - m + 1))
    return np.minimum(out, 1.0)


def proportion_increase(cur_hits: int, n_cur: int, ref_hits: int, n_ref: int,
                        direction: str = "increase") -> Expectation:
    """Fisher's exact test of the current share ``cur_hits / n_cur`` against the reference's.

    ``direction``: ``increase`` (one-sided, current higher), ``decrease`` or ``both``
    (two-sided). ``expected`` is the reference share.

    >>> e = proportion_increase(20, 1000, 0, 1000)
    >>> e.expected, e.p_value < 1e-5
    (0.0, True)
    >>> proportion_increase(0, 100, 5, 100).p_value
    1.0
    """
    expected = ref_hits / n_ref if n_ref else 0.0
    if n_cur < 1 or n_ref < 1:
        return Expectation(expected, 1.0, "Fisher exact")
    table = [[cur_hits, n_cur - cur_hits], [ref_hits, n_ref - ref_hits]]
    alternative = {"increase": "greater", "decrease": "less", "both": "two-sided"}[direction]
    p = float(stats.fisher_exact(table, alternative=alternative).pvalue)
    return Expectation(expected, min(max(p, 0.0), 1.0), "Fisher exact")
