"""Regression kernels against scikit-learn on the same input (sklearn: test dependency only)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from driftwatch.detectors.metrics.regression import mae, mape, r2, rmse


def approx(x: float) -> object:
    return pytest.approx(x, rel=0, abs=1e-9)


def _pairs() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(id, y, yhat): sizes 1..10,000; floats, integers, targets with zeros, heavy tails."""
    for seed, n in enumerate((1, 2, 3, 10, 57, 1000, 10_000)):
        rng = np.random.default_rng(seed)
        y = rng.normal(50, 20, n)
        yield f"n{n}-normal", y, y + rng.normal(0, 5, n)
        counts = rng.poisson(2.0, n)  # integer target, many zeros
        yield f"n{n}-counts", counts, np.round(counts + rng.normal(0, 1, n)).astype(np.int64)
        heavy = rng.standard_t(2, n)
        yield f"n{n}-heavy", heavy, 0.8 * heavy + rng.normal(0, 0.5, n)


PAIRS = list(_pairs())


@pytest.fixture(params=PAIRS, ids=[c[0] for c in PAIRS])
def pair(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    _, y, yhat = request.param
    return y, yhat


def test_mae_matches_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, yhat = pair
    assert mae(y, yhat) == approx(skm.mean_absolute_error(y, yhat))


def test_rmse_matches_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, yhat = pair
    assert rmse(y, yhat) == approx(skm.root_mean_squared_error(y, yhat))


def test_r2_matches_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, yhat = pair
    if y.shape[0] < 2:
        with pytest.warns(UndefinedMetricWarning):
            expected = skm.r2_score(y, yhat)
        assert math.isnan(expected) and math.isnan(r2(y, yhat))
        return
    assert r2(y, yhat) == approx(skm.r2_score(y, yhat))


def test_mape_matches_sklearn_on_nonzero_targets(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, yhat = pair
    value, excluded = mape(y, yhat)
    keep = y != 0
    assert excluded == int((~keep).sum())
    if keep.any():
        assert value == approx(skm.mean_absolute_percentage_error(y[keep], yhat[keep]))
    else:
        assert math.isnan(value)


def test_some_pairs_have_zero_targets() -> None:
    # Guards the fixture: the MAPE exclusion is exercised on random data, not only by hand.
    assert sum(mape(y, yhat)[1] > 0 for _, y, yhat in PAIRS) >= 5


def test_hand() -> None:
    y, yhat = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    # |errors| 0.5 0.5 0 1 -> mean 0.5; squares 0.25 0.25 0 1 -> sqrt(1.5 / 4)
    assert mae(y, yhat) == approx(0.5)
    assert rmse(y, yhat) == approx(math.sqrt(1.5 / 4))
    # mean y = 2.875; SS_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875; SS_res = 1.5
    assert r2(y, yhat) == approx(1 - 1.5 / 29.1875)
    assert r2(y, yhat) == approx(skm.r2_score(y, yhat))


def test_mape_hand_with_zeros() -> None:
    # y 2 0 -4 0 10 / yhat 3 1 -2 0 10: the two y = 0 rows are left out and counted;
    # the rest: |2-3|/2 = 1/2, |-4+2|/4 = 1/2, 0/10 = 0 -> mean 1/3
    y, yhat = np.array([2.0, 0.0, -4.0, 0.0, 10.0]), np.array([3.0, 1.0, -2.0, 0.0, 10.0])
    value, excluded = mape(y, yhat)
    assert excluded == 2
    assert value == approx(1 / 3)
    keep = y != 0
    assert value == approx(skm.mean_absolute_percentage_error(y[keep], yhat[keep]))
    # sklearn on all rows divides the zero rows by 2.2e-16 instead: 1 / eps swamps the rest
    assert skm.mean_absolute_percentage_error(y, yhat) > 1e14


def test_mape_all_zero_targets() -> None:
    value, excluded = mape(np.zeros(4), np.array([0.0, 1.0, 2.0, 3.0]))
    assert math.isnan(value) and excluded == 4


def test_mape_tiny_nonzero_target_uses_sklearn_floor() -> None:
    y, yhat = np.array([1e-300, 1.0]), np.array([0.0, 2.0])
    assert mape(y, yhat) == (approx(skm.mean_absolute_percentage_error(y, yhat)), 0)


@pytest.mark.parametrize("value", [3.0, -2.0, 0.0, 0.1])
def test_r2_constant_y_as_sklearn(value: float) -> None:
    for n in (2, 7, 10, 500):
        y = np.full(n, value)
        # perfect predictions: sklearn's force_finite gives 1.0 (not NaN)
        assert r2(y, y.copy()) == 1.0 == skm.r2_score(y, y.copy())
        yhat = y.copy()
        yhat[0] += 1.0
        expected = skm.r2_score(y, yhat)
        # imperfect: 0.0 (not -inf) when the float64 denominator is exactly 0; where the mean of
        # the repeated value does not round back to it (0.1, n = 7), both give the same huge negative
        assert r2(y, yhat) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    y3 = np.full(3, value)
    if value == 0.1:  # mean(0.1, 0.1, 0.1) != 0.1 in float64: a 1e-34 denominator, in sklearn too
        assert r2(y3, y3 + 1) == skm.r2_score(y3, y3 + 1) < -1e30
    else:
        assert r2(y3, y3 + 1) == 0.0 == skm.r2_score(y3, y3 + 1)


def test_r2_single_row_is_nan_without_warning() -> None:
    assert math.isnan(r2(np.array([1.0]), np.array([2.0])))


@pytest.mark.parametrize("kernel", [mae, rmse, r2, mape])
def test_bad_shapes_raise(kernel: object) -> None:
    with pytest.raises(ValueError, match="no rows"):
        kernel(np.array([]), np.array([]))  # type: ignore[operator]
    with pytest.raises(ValueError, match="yhat: length 2 differs from y's 3"):
        kernel(np.zeros(3), np.zeros(2))  # type: ignore[operator]
    with pytest.raises(ValueError, match="must be 1-D"):
        kernel(np.zeros((2, 2)), np.zeros((2, 2)))  # type: ignore[operator]
