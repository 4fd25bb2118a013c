from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.ztest import two_proportion_z


def test_hand_example() -> None:
    # 40/100 vs 60/100: pooled 0.5, se = sqrt(0.25 * 0.02) = 0.05 * sqrt(2),
    # z = 0.2 / (0.05 sqrt 2) = 2 sqrt 2 (current minus reference, so positive).
    z, p = two_proportion_z(40, 100, 60, 100)
    assert z == pytest.approx(2 * math.sqrt(2), rel=0, abs=1e-12)
    assert p == pytest.approx(math.erfc(2 * math.sqrt(2) / math.sqrt(2)), rel=0, abs=1e-12)
    z_down, p_down = two_proportion_z(60, 100, 40, 100)
    assert z_down == pytest.approx(-z, abs=1e-15) and p_down == pytest.approx(p, abs=1e-15)


@pytest.mark.parametrize("seed", range(20))
def test_z_squared_is_uncorrected_chi_square(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_ref, n_cur = int(rng.integers(1, 100_000)), int(rng.integers(1, 100_000))
    x_ref, x_cur = int(rng.integers(0, n_ref + 1)), int(rng.integers(0, n_cur + 1))
    if x_ref + x_cur in (0, n_ref + n_cur):
        x_ref = 1 if x_ref == 0 else x_ref - 1
    z, p = two_proportion_z(x_ref, n_ref, x_cur, n_cur)
    res = stats.chi2_contingency(np.array([[x_ref, n_ref - x_ref], [x_cur, n_cur - x_cur]]), correction=False)
    assert z**2 == pytest.approx(res.statistic, rel=1e-9, abs=1e-9)
    assert p == pytest.approx(res.pvalue, rel=0, abs=1e-9)
    assert math.copysign(1, z) == math.copysign(1, x_cur / n_cur - x_ref / n_ref) or z == 0


def test_accepts_numpy_counts() -> None:
    counts = np.array([40, 60])
    assert two_proportion_z(counts[0], counts.sum(), np.int64(60), np.int64(100))[0] == pytest.approx(
        two_proportion_z(40, 100, 60, 100)[0], abs=1e-15)


@pytest.mark.parametrize("args", [(0, 50, 0, 70), (50, 50, 70, 70)])
def test_pooled_rate_zero_or_one_is_no_evidence(args: tuple[int, int, int, int]) -> None:
    assert two_proportion_z(*args) == (0.0, 1.0)


@pytest.mark.parametrize(("args", "name"), [
    ((1, 0, 1, 5), "n_ref"),
    ((1, 5, 1, -1), "n_cur"),
    ((6, 5, 1, 5), "x_ref"),
    ((1, 5, float("nan"), 5), "x_cur"),
])
def test_bad_arguments_are_named(args: tuple[float, float, float, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        two_proportion_z(*args)
