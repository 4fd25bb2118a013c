from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.cramervonmises import cramervonmises_2samp_sorted

MIN_EACH = 2


def test_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    t, p = cramervonmises_2samp_sorted(a, b)
    expected = stats.cramervonmises_2samp(a, b)
    assert t == pytest.approx(expected.statistic, rel=0, abs=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=0, abs=1e-9)
    assert 0.0 <= p <= 1.0


def test_hand_example_exact_branch() -> None:
    # Ranks of {1, 2} in the pooled {1, 2, 3, 4} are 1, 2 and of {3, 4} are 3, 4:
    # U = 2 * (0 + 0) + 2 * (2^2 + 2^2) = 16,  T = 16 / (4 * 4) - 15 / 24 = 0.375.
    # Exact null: of the C(4, 2) = 6 equally likely splits, 2 reach T >= 0.375.
    t, p = cramervonmises_2samp_sorted(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert t == pytest.approx(0.375, abs=1e-15)
    assert p == pytest.approx(2 / 6, abs=1e-12)


def test_ties_caveat_is_scipys_behaviour() -> None:
    # Identical constant samples of very different sizes: scipy's midrank formula
    # reports overwhelming "drift". The kernel reproduces it; the docstring warns.
    t, p = cramervonmises_2samp_sorted(np.ones(100), np.ones(1_000))
    assert p < 1e-6
    assert p == pytest.approx(stats.cramervonmises_2samp(np.ones(100), np.ones(1_000)).pvalue, rel=0, abs=1e-9)


@pytest.mark.parametrize(("ref", "cur", "name"), [
    (np.array([1.0]), np.array([1.0, 2.0]), "ref_sorted"),
    (np.array([1.0, 2.0]), np.array([]), "cur_sorted"),
])
def test_too_small_is_rejected(ref: np.ndarray, cur: np.ndarray, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        cramervonmises_2samp_sorted(ref, cur)
