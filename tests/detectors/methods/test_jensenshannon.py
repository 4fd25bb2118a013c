from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import distance

from driftwatch.detectors.methods.jensenshannon import jensenshannon


@pytest.mark.parametrize("seed", range(8))
def test_matches_scipy_on_random_counts_with_empty_bins(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5_000))
    ref = rng.integers(0, 100, k) * (rng.random(k) > 0.3)
    cur = rng.poisson(rng.random(k) * 80) * (rng.random(k) > 0.3)
    ref[0] += 1
    cur[-1] += 1
    expected = distance.jensenshannon(ref, cur, base=2)
    assert jensenshannon(ref, cur) == pytest.approx(expected, rel=0, abs=1e-9)
    assert jensenshannon(cur, ref) == pytest.approx(expected, rel=0, abs=1e-9)


def test_hand_example() -> None:
    # p = (1/2, 1/2), q = (3/4, 1/4), m = (5/8, 3/8)
    kl_pm = 0.5 * math.log2(0.5 / 0.625) + 0.5 * math.log2(0.5 / 0.375)
    kl_qm = 0.75 * math.log2(0.75 / 0.625) + 0.25 * math.log2(0.25 / 0.375)
    expected = math.sqrt((kl_pm + kl_qm) / 2)
    assert jensenshannon(np.array([1, 1]), np.array([3, 1])) == pytest.approx(expected, rel=0, abs=1e-12)


def test_bounds() -> None:
    assert jensenshannon(np.array([4, 0, 0]), np.array([0, 0, 9])) == 1.0
    assert jensenshannon(np.array([1, 2, 0]), np.array([2, 4, 0])) == 0.0
    assert jensenshannon(np.zeros(4), np.zeros(4)) == 0.0


def test_near_identical_is_not_nan() -> None:
    ref = np.array([1.0, 2.0, 3.0])
    value = jensenshannon(ref, ref * (1 + 1e-15))
    assert value >= 0.0 and value < 1e-6


def test_one_side_empty_is_an_error() -> None:
    with pytest.raises(ValueError, match="ref_counts"):
        jensenshannon(np.zeros(2), np.array([1, 2]))
    with pytest.raises(ValueError, match="cur_counts"):
        jensenshannon(np.array([1, 2]), np.array([1, 2, 3]))
