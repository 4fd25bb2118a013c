from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import rel_entr

from driftwatch.detectors.methods.psi import psi


def test_hand_worked_example() -> None:
    # p = (0.5, 0.3, 0.2), q = (0.4, 0.3, 0.3)
    # bin 0: (0.4 - 0.5) * ln(0.4 / 0.5) = -0.1 * -0.2231436 = 0.0223144
    # bin 1: 0
    # bin 2: (0.3 - 0.2) * ln(0.3 / 0.2) =  0.1 *  0.4054651 = 0.0405465
    total, parts = psi(np.array([50, 30, 20]), np.array([40, 30, 30]))
    assert parts.tolist() == pytest.approx([0.0223144, 0.0, 0.0405465], rel=0, abs=1e-7)
    assert total == pytest.approx(0.0628609, rel=0, abs=1e-7)


def test_empty_bin_gets_share_eps() -> None:
    # p = (1, 0 -> 1e-4), q = (0.5, 0.5)
    # bin 0: (0.5 - 1) * ln(0.5 / 1)        = 0.3465736
    # bin 1: (0.5 - 1e-4) * ln(0.5 / 1e-4)  = 0.4999 * 8.5171932 = 4.2577449
    total, parts = psi(np.array([10, 0]), np.array([5, 5]))
    assert parts.tolist() == pytest.approx([0.3465736, 4.2577449], rel=0, abs=1e-7)
    assert total == pytest.approx(4.6043185, rel=0, abs=1e-7)
    assert math.isfinite(psi(np.array([10, 0]), np.array([0, 5]), eps=1e-6)[0])


@pytest.mark.parametrize("seed", range(6))
def test_random_counts_match_symmetrised_kl(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 60))
    ref = rng.integers(0, 50, k) * (rng.random(k) > 0.2)
    cur = rng.integers(0, 50, k) * (rng.random(k) > 0.2)
    ref[0] += 1
    cur[0] += 1
    eps = 1e-4
    p = np.maximum(ref / ref.sum(), eps)
    q = np.maximum(cur / cur.sum(), eps)
    total, parts = psi(ref, cur, eps=eps)
    # (q - p) ln(q/p) = q ln(q/p) + p ln(p/q): PSI is KL(q||p) + KL(p||q).
    expected_parts = rel_entr(q, p) + rel_entr(p, q)
    assert parts == pytest.approx(expected_parts, rel=0, abs=1e-12)
    assert total == pytest.approx(float(expected_parts.sum()), rel=0, abs=1e-9)
    assert total >= 0 and np.all(parts >= 0)


def test_identical_shares_give_zero() -> None:
    total, parts = psi(np.array([1, 2, 3, 0]), np.array([10, 20, 30, 0]))
    assert total == 0.0 and np.all(parts == 0.0)


def test_both_empty_is_zero_one_empty_is_an_error() -> None:
    assert psi(np.zeros(3), np.zeros(3))[0] == 0.0
    with pytest.raises(ValueError, match="cur_counts"):
        psi(np.array([1, 2]), np.array([0, 0]))


@pytest.mark.parametrize(("ref", "cur", "kwargs", "name"), [
    (np.array([1, 2]), np.array([1, 2, 3]), {}, "cur_counts"),
    (np.array([1, -2]), np.array([1, 2]), {}, "ref_counts"),
    (np.array([1, np.nan]), np.array([1, 2]), {}, "ref_counts"),
    (np.array([[1, 2]]), np.array([[1, 2]]), {}, "ref_counts"),
    (np.array([1, 2]), np.array([1, 2]), {"eps": 0.0}, "eps"),
])
def test_bad_arguments_are_named(ref: np.ndarray, cur: np.ndarray, kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        psi(ref, cur, **kwargs)
