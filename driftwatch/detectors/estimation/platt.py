"""Platt calibration: a two-parameter logistic map from score to probability.

Why Platt besides isotonic: with two parameters it needs far fewer labelled rows and is
smooth, at the price of assuming the log-odds are linear in the score.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .calibrator import Calibrator, labelled

__all__ = ["GRADIENT_TOL", "MAX_ITER", "fit_platt"]

#: Newton stops when every component of the gradient of the mean log-loss is below this.
GRADIENT_TOL = 1e-10
#: Newton converges quadratically from a logistic start; a fit that needs more is refused.
MAX_ITER = 100


def fit_platt(score: np.ndarray, y01: np.ndarray) -> Calibrator:
    """Fit ``P(y = 1 | s) = 1 / (1 + exp(-(a*s + b)))`` by maximum likelihood.

    Platt (1999, "Probabilistic outputs for support vector machines") fits this sigmoid to
    a classifier's scores. Here the fit is the plain unregularised logistic regression of
    ``y01`` on ``score``: Platt's smoothed targets ``(N+ + 1)/(N+ + 2)`` and ``1/(N- + 2)``
    are *not* used, so the result is the ordinary maximum-likelihood estimate and agrees
    with ``sklearn.linear_model.LogisticRegression`` without penalty.

    Newton's method minimises the mean log-loss ::

        L(a, b) = mean(log(1 + exp(eta)) - y * eta),   eta = a*s + b
        gradient = mean((p - y) * [s, 1]),   Hessian = mean(p (1 - p) [s, 1][s, 1]^T)

    on the standardised score ``z = (s - mean) / std`` (Newton is affine invariant, so
    this changes only the rounding), starting from ``a = 0, b = logit(mean(y))``, halving
    a step that would raise the loss, until ``max |gradient| < GRADIENT_TOL``.

    The maximum-likelihood fit does not exist when the score separates the classes
    (every negative scores at or below every positive, or the reverse): ``|a|`` would grow
    without bound. That case, a single class and a constant score are refused up front
    with ``ValueError("platt: ...")``; a fit that has not converged after ``MAX_ITER``
    steps is refused the same way, never returned half-way.

    >>> s = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    >>> y = np.array([0, 0, 1, 0, 1, 0, 1])
    >>> cal = fit_platt(s, y)
    >>> round(cal.a, 6), round(cal.b, 6)
    (0.95041, -0.372156)
    >>> fit_platt(np.array([0.0, 1.0]), np.array([0, 1]))
    Traceback (most recent call last):
    ...
    ValueError: platt: score separates the classes (negatives <= positives): slope diverges; use isotonic
    """
    s, y = labelled(score, y01)
    positives = s[y == 1]
    negatives = s[y == 0]
    if positives.size == 0 or negatives.size == 0:
        raise ValueError("platt: y01 holds one class only, so the intercept would diverge")
    if s.min() == s.max():
        raise ValueError("platt: score is constant, so the slope is not identifiable")
    for low, high, text in ((negatives, positives, "negatives <= positives"),
                            (positives, negatives, "positives <= negatives")):
        if low.max() <= high.min():
            raise ValueError(f"platt: score separates the classes ({text}): slope diverges; use isotonic")

    centre = float(s.mean())
    spread = float(s.std())
    z = (s - centre) / spread
    prior = float(y.mean())
    theta = np.array([0.0, np.log(prior / (1.0 - prior))])
    loss = _loss(theta, z, y)
    for _ in range(MAX_ITER):
        p = np.asarray(special.expit(theta[0] * z + theta[1]), dtype=np.float64)
        r = p - y
        gradient = np.array([np.mean(r * z), np.mean(r)])
        if np.max(np.abs(gradient)) < GRADIENT_TOL:
            a = theta[0] / spread
            return Calibrator("platt", np.empty(0), np.empty(0), a=float(a), b=float(theta[1] - a * centre))
        v = p * (1.0 - p)
        vz = np.mean(v * z)
        hessian = np.array([[np.mean(v * z * z), vz], [vz, np.mean(v)]])
        step = np.linalg.solve(hessian, gradient)
        for _ in range(60):
            candidate = theta - step
            new_loss = _loss(candidate, z, y)
            if new_loss <= loss + 1e-15 * max(1.0, abs(loss)):
                break
            step = step / 2.0
        else:
            raise ValueError(f"platt: line search stalled at gradient {np.max(np.abs(gradient)):.3g}")
        theta, loss = candidate, new_loss
    raise ValueError(f"platt: Newton did not reach gradient < {GRADIENT_TOL:g} in {MAX_ITER} iterations")


def _loss(theta: np.ndarray, z: np.ndarray, y: np.ndarray) -> float:
    eta = theta[0] * z + theta[1]
    return float(np.mean(np.logaddexp(0.0, eta) - y * eta))
