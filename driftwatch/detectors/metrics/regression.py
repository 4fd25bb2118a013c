"""Regression metric kernels: pure functions of aligned target and prediction arrays.

Why here and not scikit-learn: the daemon must not pull scikit-learn in at run time, yet every
figure must equal scikit-learn's function of the same name (to 1e-9). The tests compare each
kernel with scikit-learn on the same input.

Preconditions (the caller owns them): the arrays are 1-D, of one length, non-empty, numeric,
aligned row by row, and free of NaN (the performance detector counts and drops rows without a
target). Values are read as float64, as scikit-learn does.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mae", "mape", "r2", "rmse"]

#: ``sklearn.metrics.mean_absolute_percentage_error`` divides by ``max(|y|, EPS)``.
EPS = float(np.finfo(np.float64).eps)


def mae(y: np.ndarray, yhat: np.ndarray) -> float:
    """Return the mean absolute error.

    Why: in the target's own unit and robust to a few wild rows, so it reads as "off by this
    much on a typical row".

    ``MAE = (1/n) Σ |y_i - ŷ_i|``, as ``sklearn.metrics.mean_absolute_error``.

    >>> mae(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))
    0.5
    """
    a, b = _pair(y, yhat)
    return float(np.mean(np.abs(a - b)))


def rmse(y: np.ndarray, yhat: np.ndarray) -> float:
    """Return the root mean squared error.

    Why: also in the target's unit, but squares the errors first, so it rises when a few
    predictions go far wrong even if the typical row does not.

    ``RMSE = sqrt((1/n) Σ (y_i - ŷ_i)^2)``, as ``sklearn.metrics.root_mean_squared_error``.

    >>> round(rmse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])), 6)
    0.612372
    """
    a, b = _pair(y, yhat)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def r2(y: np.ndarray, yhat: np.ndarray) -> float:
    """Return the coefficient of determination R².

    Why: scale-free, so one threshold serves every target: 1 is perfect, 0 is no better than
    predicting the mean of ``y``, below 0 is worse than that.

    ``R² = 1 - Σ (y_i - ŷ_i)^2 / Σ (y_i - ȳ)^2`` (Draper & Smith 1998, §1.4), as
    ``sklearn.metrics.r2_score`` with its defaults, including its non-finite cases:

    - constant ``y`` (the denominator, computed as above, is exactly 0): 1.0 when every
      prediction is exact (numerator 0), else 0.0 — scikit-learn's ``force_finite=True``
      in place of NaN and -inf;
    - a single row: NaN (scikit-learn also warns ``UndefinedMetricWarning``; we do not).

    "Constant" is judged on the float64 sums, as in scikit-learn: values whose mean does not
    round back to themselves (ten rows of 0.1) give a tiny non-zero denominator and a huge
    negative R², in both.

    >>> r2(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]))
    -3.0
    >>> r2(np.array([-2.0, -2.0, -2.0]), np.array([-2.0, -2.0, -2.0]))
    1.0
    >>> r2(np.array([-2.0, -2.0, -2.0]), np.array([-2.0, -2.0, -1.0]))
    0.0
    """
    a, b = _pair(y, yhat)
    if a.shape[0] < 2:
        return math.nan
    numerator = float(np.sum((a - b) ** 2))
    denominator = float(np.sum((a - np.mean(a)) ** 2))
    if numerator == 0.0:
        return 1.0
    if denominator == 0.0:
        return 0.0
    return 1.0 - numerator / denominator


def mape(y: np.ndarray, yhat: np.ndarray) -> tuple[float, int]:
    """Return (mean absolute percentage error, number of rows left out because y == 0).

    Why: a relative error reads the same for small and large targets; but it is undefined
    where the target is 0, and scikit-learn's answer there (divide by 2.2e-16) turns one such
    row into an error of ~1e15 that swamps the rest. So those rows are left out and counted,
    and the detector says how many.

    ``MAPE = (1/m) Σ_{i: y_i ≠ 0} |y_i - ŷ_i| / max(|y_i|, EPS)`` over the m rows with
    ``y_i ≠ 0`` (Hyndman & Koehler 2006, §3.2), a fraction, not a percent. On those rows it
    equals ``sklearn.metrics.mean_absolute_percentage_error``; the ``max(|y|, EPS)`` floor
    is scikit-learn's and only matters for non-zero targets smaller than 2.2e-16. With every
    target 0 it returns ``(nan, n)``.

    >>> mape(np.array([4.0, 0.0, 2.0, 0.0]), np.array([5.0, 3.0, 3.0, 0.0]))   # (1/4 + 1/2) / 2
    (0.375, 2)
    """
    a, b = _pair(y, yhat)
    keep = a != 0
    excluded = int(a.shape[0] - np.count_nonzero(keep))
    if excluded == a.shape[0]:
        return math.nan, excluded
    a, b = a[keep], b[keep]
    return float(np.mean(np.abs(b - a) / np.maximum(np.abs(a), EPS))), excluded


def _pair(y: np.ndarray, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(y, dtype=np.float64), np.asarray(yhat, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"yhat: y and yhat must be 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"yhat: length {b.shape[0]} differs from y's {a.shape[0]}")
    if a.shape[0] == 0:
        raise ValueError("y: no rows")
    return a, b
