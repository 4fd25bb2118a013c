from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.chisquare import chisquare_counts


def scipy_chi2(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    table = np.stack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    res = stats.chi2_contingency(table)
    return float(res.statistic), float(res.pvalue)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("k", [2, 3, 7, 40, 5_000])
def test_matches_scipy_after_dropping_empty_categories(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed * 100 + k)
    ref = rng.integers(0, 30, k) * (rng.random(k) > 0.25)
    cur = rng.poisson(rng.random(k) * 25) * (rng.random(k) > 0.25)
    ref[:2] += 1
    cur[:2] += 1
    stat, p = chisquare_counts(ref, cur)
    expected_stat, expected_p = scipy_chi2(ref, cur)
    assert stat == pytest.approx(expected_stat, rel=0, abs=1e-9)
    assert p == pytest.approx(expected_p, rel=0, abs=1e-9)


def test_two_categories_use_yates_correction() -> None:
    ref, cur = np.array([30, 20]), np.array([20, 30])
    # E = 25 everywhere, |O - E| = 5 -> 4.5 after Yates: 4 * 4.5^2 / 25 = 3.24 (not 4.0).
    stat, p = chisquare_counts(ref, cur)
    assert stat == pytest.approx(3.24, rel=0, abs=1e-12)
    assert p == pytest.approx(stats.chi2.sf(3.24, 1), rel=0, abs=1e-12)
    assert (stat, p) == pytest.approx(scipy_chi2(ref, cur), rel=0, abs=1e-9)


def test_yates_never_overshoots() -> None:
    # |O - E| < 0.5 everywhere: the corrected table equals its expectation.
    assert chisquare_counts(np.array([1, 2]), np.array([3, 4])) == (0.0, 1.0)


def test_large_counts() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.integers(10**6, 10**9, 300), rng.integers(10**6, 10**9, 300)
    stat, p = chisquare_counts(ref, cur)
    expected_stat, expected_p = scipy_chi2(ref, cur)
    assert stat == pytest.approx(expected_stat, rel=1e-12)
    assert p == pytest.approx(expected_p, rel=0, abs=1e-9)


def test_fewer_than_two_categories_is_no_evidence() -> None:
    assert chisquare_counts(np.array([7, 0, 0]), np.array([3, 0, 0])) == (0.0, 1.0)
    assert chisquare_counts(np.zeros(3), np.zeros(3)) == (0.0, 1.0)


def test_one_side_empty_is_an_error() -> None:
    with pytest.raises(ValueError, match="cur_counts"):
        chisquare_counts(np.array([1, 2]), np.array([0, 0]))
    with pytest.raises(ValueError, match="ref_counts"):
        chisquare_counts(np.array([1, -2]), np.array([1, 2]))


def test_many_categories_are_fast() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.integers(0, 20, 200_000), rng.integers(0, 20, 200_000)
    start = time.perf_counter()
    chisquare_counts(ref, cur)
    assert time.perf_counter() - start < 1.0  # vectorised: about 10 ms here
