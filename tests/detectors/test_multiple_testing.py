from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.multiple_testing import benjamini_hochberg, bonferroni


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("m", [2, 3, 17, 1_000])
def test_bh_matches_scipy(seed: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    ps = rng.random(m) ** 3
    ps[rng.random(m) < 0.1] = 1.0
    ps[rng.random(m) < 0.1] = 0.0
    ps[: m // 3] = np.round(ps[: m // 3], 2)  # ties
    before = ps.copy()
    adjusted = benjamini_hochberg(ps)
    assert adjusted == pytest.approx(stats.false_discovery_control(ps, method="bh"), rel=0, abs=1e-9)
    assert np.all(adjusted >= ps) and np.all(adjusted <= 1.0)
    assert np.array_equal(ps, before)  # input untouched


def test_bh_hand_example() -> None:
    # sorted 0.001, 0.1, 0.5, 0.6 -> 4p/i = 0.004, 0.2, 0.667, 0.6 -> running min from the top.
    assert benjamini_hochberg(np.array([0.5, 0.6, 0.1, 0.001])).tolist() == pytest.approx([0.6, 0.6, 0.2, 0.004])


def test_small_inputs() -> None:
    assert benjamini_hochberg(np.array([])).shape == (0,)
    assert benjamini_hochberg(np.array([0.3])).tolist() == [0.3]
    assert bonferroni(np.array([])).shape == (0,)


def test_bonferroni() -> None:
    ps = np.array([0.01, 0.2, 0.5, 0.0])
    assert bonferroni(ps).tolist() == pytest.approx([0.04, 0.8, 1.0, 0.0], rel=0, abs=1e-15)
    assert np.all(bonferroni(ps) >= benjamini_hochberg(ps))


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [0.1, 1.5], [-0.1], [[0.1, 0.2]]])
def test_invalid_p_values_are_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg(np.array(bad))
    with pytest.raises(ValueError, match="p_values"):
        bonferroni(np.array(bad))
