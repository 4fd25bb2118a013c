from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from scipy import stats

from driftwatch.detectors.methods.anderson import anderson_ksamp_2

MIN_TOTAL = 4
NEED_DISTINCT = True


def scipy_ad(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    kwargs = {"variant": "midrank"} if "variant" in inspect.signature(stats.anderson_ksamp).parameters else {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="p-value (capped|floored)", category=UserWarning)
        res = stats.anderson_ksamp([a, b], **kwargs)
    return float(res.statistic), float(res.pvalue)


def test_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    a2, p = anderson_ksamp_2(a, b)
    expected_a2, expected_p = scipy_ad(a, b)
    assert a2 == pytest.approx(expected_a2, rel=0, abs=1e-9)
    assert p == pytest.approx(expected_p, rel=0, abs=1e-9)
    assert 0.001 <= p <= 0.25


def test_unsorted_input_gives_the_same_result() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=300), rng.normal(0.2, size=200)
    assert anderson_ksamp_2(a, b) == anderson_ksamp_2(np.sort(a), np.sort(b))


@pytest.mark.parametrize(("shift", "expected_p"), [(0.0, 0.25), (3.0, 0.001)])
def test_clipped_p_values_raise_no_warning(shift: float, expected_p: float) -> None:
    rng = np.random.default_rng(0)
    a = np.sort(rng.normal(size=400))
    b = a + shift
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, p = anderson_ksamp_2(a, b)
    assert caught == []
    assert p == expected_p


@pytest.mark.parametrize(("ref", "cur", "name"), [
    (np.array([]), np.array([1.0, 2.0, 3.0, 4.0]), "ref"),
    (np.array([1.0, 2.0, 3.0, 4.0]), np.array([]), "cur"),
    (np.array([1.0, 2.0]), np.array([3.0]), "at least 4"),
    (np.ones(5), np.ones(3), "distinct"),
])
def test_undefined_inputs_are_rejected(ref: np.ndarray, cur: np.ndarray, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        anderson_ksamp_2(ref, cur)
