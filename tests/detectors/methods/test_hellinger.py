from __future__ import annotations

import math

import numpy as np
import pytest

from driftwatch.detectors.methods.hellinger import hellinger


@pytest.mark.parametrize("seed", range(8))
def test_both_forms_agree_on_random_counts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 3_000))
    ref = rng.integers(0, 100, k) * (rng.random(k) > 0.3)
    cur = rng.integers(0, 100, k) * (rng.random(k) > 0.3)
    ref[0] += 1
    cur[0] += 1
    p, q = ref / ref.sum(), cur / cur.sum()
    bc_form = math.sqrt(max(0.0, 1 - float(np.sum(np.sqrt(p * q)))))
    l2_form = float(np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / math.sqrt(2))
    value = hellinger(ref, cur)
    assert value == pytest.approx(bc_form, rel=0, abs=1e-12)
    assert value == pytest.approx(l2_form, rel=0, abs=1e-7)  # 1 - BC loses digits near 0
    assert 0.0 <= value <= 1.0
    assert hellinger(cur, ref) == pytest.approx(value, rel=0, abs=1e-15)


def test_hand_values() -> None:
    assert hellinger(np.array([1, 0]), np.array([0, 1])) == 1.0
    # p = (1/2, 1/2), q = (1, 0): BC = sqrt(1/2)
    assert hellinger(np.array([1, 1]), np.array([1, 0])) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)), abs=1e-15)
    # p = (1/4, 3/4), q = (3/4, 1/4): BC = 2 sqrt(3/16) = sqrt(3)/2
    assert hellinger(np.array([1, 3]), np.array([3, 1])) == pytest.approx(math.sqrt(1 - math.sqrt(3) / 2), abs=1e-15)


def test_identical_is_zero_not_nan() -> None:
    ref = np.array([1.0, 7.0, 13.0, 0.0, 3.0])
    assert hellinger(ref, ref * 3) == 0.0
    assert hellinger(np.zeros(3), np.zeros(3)) == 0.0


def test_one_side_empty_is_an_error() -> None:
    with pytest.raises(ValueError, match="cur_counts"):
        hellinger(np.array([1, 2]), np.zeros(2))
