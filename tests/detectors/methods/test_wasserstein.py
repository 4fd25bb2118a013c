from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.wasserstein import wasserstein_sorted


def test_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_sorted(a, b) == pytest.approx(expected, rel=0, abs=1e-9)
    assert wasserstein_sorted(b, a) == pytest.approx(expected, rel=0, abs=1e-9)


def test_shift_moves_by_the_shift() -> None:
    a = np.sort(np.random.default_rng(1).normal(size=500))
    assert wasserstein_sorted(a, a + 2.5) == pytest.approx(2.5, rel=0, abs=1e-9)
    assert wasserstein_sorted(a, a) == 0.0


def test_hand_example() -> None:
    # {0, 1, 3} -> {5, 6, 8}: every unit of mass moves 5.
    assert wasserstein_sorted(np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 8.0])) == 5.0
    # {0, 0, 1} vs {0, 1, 1}: ECDFs 2/3 and 1/3 on [0, 1): area 1/3.
    assert wasserstein_sorted(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])) == pytest.approx(1 / 3, abs=1e-15)


def test_merge_with_ties_across_samples() -> None:
    a = np.array([1.0, 2.0, 2.0, 2.0, 7.0])
    b = np.array([2.0, 2.0, 3.0])
    assert wasserstein_sorted(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=0, abs=1e-12)


@pytest.mark.parametrize(("ref", "cur", "name"), [
    (np.array([]), np.array([1.0]), "ref_sorted"),
    (np.array([1.0]), np.array([]), "cur_sorted"),
])
def test_empty_input_is_rejected(ref: np.ndarray, cur: np.ndarray, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        wasserstein_sorted(ref, cur)
