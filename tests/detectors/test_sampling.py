"""The sampling expectations behind the quality rules: hand-computed cases, scipy on the same
input, and simulations of the very null they describe (within their Monte-Carlo error)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.sampling import (
    good_turing,
    new_category_expectation,
    out_of_range_expectation,
    proportion_increase,
    vanished_expectation,
)

SIMS = 20_000


def test_out_of_range_expectation_matches_a_simulation_of_the_null() -> None:
    # a continuous sample: the share outside a 50-row reference's range, for 40 fresh rows
    n_ref, n_cur = 50, 40
    draws = np.random.default_rng(0).random((SIMS, n_ref + n_cur))
    ref, cur = draws[:, :n_ref], draws[:, n_ref:]
    outside = ((cur < ref.min(axis=1, keepdims=True)) | (cur > ref.max(axis=1, keepdims=True))).sum(axis=1)
    share = outside / n_cur
    expected = out_of_range_expectation(0, n_cur, n_ref).expected
    assert expected == 2 / (n_ref + 1)
    assert abs(share.mean() - expected) < 4 * share.std() / math.sqrt(SIMS)
    for k in (1, 3, 6, 10):
        seen = float(np.mean(outside >= k))
        p = out_of_range_expectation(k, n_cur, n_ref).p_value
        assert abs(seen - p) < 4 * math.sqrt(p * (1 - p) / SIMS) + 1e-4, (k, seen, p)


def test_out_of_range_p_value_is_scipys_beta_binomial_tail() -> None:
    for outside, n_cur, n_ref in ((5, 300, 300), (20, 1000, 1000), (1, 10, 2)):
        p = out_of_range_expectation(outside, n_cur, n_ref).p_value
        assert p == pytest.approx(stats.betabinom.sf(outside - 1, n_cur, 2, n_ref - 1), rel=1e-9, abs=0)
    assert out_of_range_expectation(0, 10, 10).p_value == 1.0
    with pytest.raises(ValueError, match="n_ref"):
        out_of_range_expectation(1, 10, 0)


def test_good_turing_on_a_hand_built_count_vector() -> None:
    counts = np.array([5, 3, 1, 1, 1, 2, 2])  # n = 15, N1 = 3, N2 = 2
    mean, variance = good_turing(counts)
    assert mean == 3 / 15
    assert variance == pytest.approx((3 + 2 * 2 - 3**2 / 15) / 15**2, rel=1e-12)
    # a lumped tail: its rows are not told apart from new ones, its singletons are unseen mass
    mean, variance = good_turing(counts, other=10, other_singletons=4, other_doubletons=3)
    n, n1, n2 = 25, 3 + 4, 2 + 3
    assert mean == pytest.approx(n1 / n + 10 / n, rel=1e-12)
    assert variance == pytest.approx((n1 + 2 * n2 - n1**2 / n) / n**2 + 0.4 * 0.6 / n, rel=1e-12)
    assert good_turing(np.array([], dtype=np.int64)) == (0.0, 0.0)
    # a tail the profile knows by membership: its rows are known, only its singletons count
    mean, variance = good_turing(counts, other=10, other_singletons=4, other_doubletons=3, other_known=True)
    assert mean == pytest.approx(n1 / n, rel=1e-12)
    assert variance == pytest.approx((n1 + 2 * n2 - n1**2 / n) / n**2, rel=1e-12)


def _zipf(categories: int) -> np.ndarray:
    p = 1.0 / np.arange(1, categories + 1) ** 1.1
    return p / p.sum()


def test_good_turing_estimates_the_unseen_mass_of_a_zipf_column() -> None:
    p = _zipf(5_000)
    refs = np.random.default_rng(1).multinomial(2_000, p, size=300)
    true_unseen = (refs == 0) @ p
    estimates = np.array([good_turing(r[r > 0])[0] for r in refs])
    assert 0.15 < true_unseen.mean() < 0.30  # what a fixed 1 % rule would page on
    # Good-Turing is nearly unbiased: E[N1 / n] = sum p (1 - p)^(n-1) vs E[M0] = sum p (1 - p)^n
    diff = estimates - true_unseen
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(len(diff)) + 1e-3


def test_new_category_p_values_hold_their_level_on_an_unchanged_zipf_column() -> None:
    rng = np.random.default_rng(2)
    p = _zipf(6_000)
    runs = 1_000
    refs = rng.multinomial(2_000, p, size=runs)
    curs = rng.multinomial(300, p, size=runs)
    p_values = np.array([new_category_expectation(int(c[r == 0].sum()), 300, r[r > 0]).p_value
                         for r, c in zip(refs, curs)])
    for level in (0.01, 0.05, 0.2):
        assert np.mean(p_values < level) <= level + 3 * math.sqrt(level / runs)


def test_new_categories_well_over_the_expectation_are_significant() -> None:
    zipf = np.array([50, 20, 10] + [1] * 60)  # 43 % of rows in unseen categories expected
    e = new_category_expectation(130, 300, zipf)
    assert e.expected == pytest.approx(60 / 140)
    assert e.p_value > 0.1  # 43 % seen
    assert new_category_expectation(250, 300, zipf).p_value < 1e-6
    flat = np.array([100] * 5)  # no singletons: nothing new expected, a few rows still allowed
    assert new_category_expectation(0, 300, flat).p_value == 1.0
    assert new_category_expectation(3, 300, flat).p_value > 0.01
    assert new_category_expectation(30, 300, flat).p_value < 1e-6


def test_vanished_expectation_by_hand() -> None:
    # counts 2, 1, 1 (n = 4), two current rows. A reference row's category is absent from 2 of
    # the other 3 rows with probability C(4 - r, 2) / C(3, 2): 1/3 for the pair, 1 for a singleton
    e = vanished_expectation(0.0, 2, np.array([2, 1, 1]))
    assert e.expected == pytest.approx(0.5 * (1 / 3) + 2 * 0.25 * 1, rel=1e-12)
    assert e.p_value == 1.0
    # a share of the whole reference when a tail was lumped: 4 rows of 8, C(6, 2) / C(7, 2) = 5/7
    assert vanished_expectation(0.0, 2, np.array([2, 1, 1]), 8).expected == pytest.approx(
        0.25 * 5 / 7 + 2 * 0.125 * 1, rel=1e-12)
    # a tail given as its frequency of frequencies is the same as its categories one by one
    assert vanished_expectation(0.0, 2, np.array([2, 1]), multiplicity=np.array([1, 2])).expected == \
        pytest.approx(e.expected, rel=1e-12)
    sd = math.sqrt(0.5**2 * (1 / 3) + 2 * 0.25**2 * 1)  # sum of s^2 a
    e = vanished_expectation(0.75, 2, np.array([2, 1, 1]))
    assert e.p_value == pytest.approx(stats.norm.sf((0.75 - 2 / 3) / sd), rel=1e-12)
    # a window larger than the reference is judged as one of n - 1 rows: here N1 / n
    assert vanished_expectation(0.0, 50, np.array([2, 1, 1])).expected == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("n_ref, n_cur", [(300, 300), (1_000, 300), (2_000, 1_000)])
def test_vanished_expectation_is_unbiased_and_holds_its_level_on_an_unchanged_zipf_column(
        n_ref: int, n_cur: int) -> None:
    # the plug-in (1 - r/n)^m expected 12 % where 29 % vanish at 1,000 rows a side: every
    # unchanged run of an id-like column warned
    rng = np.random.default_rng(3)
    p = _zipf(6_000)
    runs = 600
    refs = rng.multinomial(n_ref, p, size=runs)
    curs = rng.multinomial(n_cur, p, size=runs)
    seen = np.array([(r[(r > 0) & (c == 0)]).sum() / n_ref for r, c in zip(refs, curs)])
    tests = [vanished_expectation(float(v), n_cur, r[r > 0]) for v, r in zip(seen, refs)]
    expected = np.array([t.expected for t in tests])
    diff = seen - expected
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(runs)
    p_values = np.array([t.p_value for t in tests])
    for level in (0.01, 0.05):
        assert np.mean(p_values < level) <= level + 3 * math.sqrt(level / runs)


@pytest.mark.parametrize("direction, alternative", [("increase", "greater"), ("decrease", "less"),
                                                    ("both", "two-sided")])
def test_proportion_test_is_fishers_exact_test(direction: str, alternative: str) -> None:
    for cur, n_cur, ref, n_ref in ((12, 300, 3, 300), (0, 50, 4, 80), (400, 1000, 10, 1000)):
        e = proportion_increase(cur, n_cur, ref, n_ref, direction)
        table = [[cur, n_cur - cur], [ref, n_ref - ref]]
        assert e.p_value == pytest.approx(stats.fisher_exact(table, alternative=alternative).pvalue,
                                          rel=1e-9, abs=1e-300)
        assert e.expected == ref / n_ref
