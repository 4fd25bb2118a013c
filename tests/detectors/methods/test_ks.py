from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.ks import MAX_EXACT_N, ks_2samp_sorted


def scipy_ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
        res = stats.ks_2samp(a, b)
    return float(res.statistic), float(res.pvalue)


def test_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    d, p = ks_2samp_sorted(a, b)
    expected_d, expected_p = scipy_ks(a, b)
    assert d == pytest.approx(expected_d, rel=0, abs=1e-9)
    assert p == pytest.approx(expected_p, rel=0, abs=1e-9)
    assert 0.0 <= d <= 1.0 and 0.0 <= p <= 1.0


def test_matches_scipy_with_arguments_swapped(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    d, p = ks_2samp_sorted(b, a)
    expected_d, expected_p = scipy_ks(b, a)
    assert d == pytest.approx(expected_d, rel=0, abs=1e-9)
    assert p == pytest.approx(expected_p, rel=0, abs=1e-9)


def test_hand_example() -> None:
    # ECDFs of {1,2,3,4} and {3,4,5,6} differ most at x = 2: 2/4 - 0/4.
    d, p = ks_2samp_sorted(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0]))
    assert d == 0.5
    # Exact null for n = m = 4: P(D >= 1/2) = 1 - P(D < 1/2) = 54/70 by lattice-path count.
    assert p == pytest.approx(54 / 70, rel=0, abs=1e-12)


def test_both_branches_are_exercised() -> None:
    rng = np.random.default_rng(3)
    small = np.sort(rng.normal(size=MAX_EXACT_N))
    big = np.sort(rng.normal(0.05, size=MAX_EXACT_N + 1))
    d, p = ks_2samp_sorted(small, big)
    # Above MAX_EXACT_N scipy uses kstwo with the effective size round(n m / (n + m)).
    en = np.round(MAX_EXACT_N * (MAX_EXACT_N + 1) / (2 * MAX_EXACT_N + 1))
    assert p == pytest.approx(stats.kstwo.sf(d, en), rel=0, abs=1e-12)
    assert p == pytest.approx(scipy_ks(small, big)[1], rel=0, abs=1e-9)


@pytest.mark.parametrize("n, shift", [(25_000, 0.0), (25_000, 0.03), (50_000, 0.02)])
def test_above_max_exact_n_effective_rows_the_p_value_is_stephens_limit(n: int, shift: float) -> None:
    rng = np.random.default_rng(6)
    a, b = np.sort(rng.normal(size=n)), np.sort(rng.normal(shift, size=n))
    d, p = ks_2samp_sorted(a, b)
    en = n / 2
    assert en > MAX_EXACT_N
    root = np.sqrt(en)
    assert p == pytest.approx(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * d), rel=1e-12)
    expected_d, expected_p = scipy_ks(a, b)
    assert d == pytest.approx(expected_d, rel=0, abs=1e-12)
    assert p == pytest.approx(expected_p, rel=0.015)  # the deviation the docstring states


def test_nominal_sizes_equal_to_lengths_change_nothing() -> None:
    rng = np.random.default_rng(4)
    a, b = np.sort(rng.normal(size=40)), np.sort(rng.normal(size=55))
    assert ks_2samp_sorted(a, b, n_ref=40, n_cur=55) == ks_2samp_sorted(a, b)


def test_thinned_reference_uses_asymptotic_p_with_nominal_size() -> None:
    rng = np.random.default_rng(5)
    full = np.sort(rng.normal(size=200_000))
    thinned = full[np.linspace(0, full.size - 1, 2_000).round().astype(int)]
    cur = np.sort(rng.normal(0.1, size=3_000))
    d, p = ks_2samp_sorted(thinned, cur, n_ref=full.size)
    en = np.round(full.size * cur.size / (full.size + cur.size))
    assert p == pytest.approx(stats.kstwo.sf(d, en), rel=0, abs=1e-12)
    # The thinned ECDF is within about 1/2000 of the full one, so is the statistic,
    # and the p-value is close to the one from the full reference.
    full_d, full_p = scipy_ks(full, cur)
    assert abs(d - full_d) <= 1 / 2_000 + 1e-12
    assert p == pytest.approx(full_p, rel=0.5)


def test_thinned_current_uses_nominal_size_too() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([3.0, 4.0, 5.0, 6.0])
    d, p = ks_2samp_sorted(a, b, n_cur=1_000)
    assert p == pytest.approx(stats.kstwo.sf(0.5, np.round(1_000 * 4 / 1_004)), rel=0, abs=1e-12)
    assert d == 0.5


@pytest.mark.parametrize(
    ("ref", "cur", "kwargs", "message"),
    [
        (np.array([]), np.array([1.0]), {}, "ref_sorted"),
        (np.array([1.0]), np.array([]), {}, "cur_sorted"),
        (np.array([1.0]), np.array([1.0]), {"n_ref": 0}, "n_ref"),
        (np.array([1.0]), np.array([1.0]), {"n_cur": 2.5}, "n_cur"),
    ],
)
def test_bad_arguments_are_named(ref: np.ndarray, cur: np.ndarray, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ks_2samp_sorted(ref, cur, **kwargs)  # type: ignore[arg-type]
