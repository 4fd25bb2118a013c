"""The fitted map from a classifier's raw score to a calibrated probability.

A reference profile fits a calibrator once (on rows that have labels) and caches it as
JSON (``to_dict`` / ``from_dict``); every later window without labels only applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["METHODS", "Calibrator", "labelled"]

#: The calibration methods a ``Calibrator`` can hold.
METHODS = ("isotonic", "platt")


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A monotone map ``score -> P(y = 1 | score)`` learned on labelled reference rows.

    Why a record and not a fitted estimator object: the whole state is two short arrays or
    two numbers, so it serialises to JSON and a reference profile can cache it.

    ``method="isotonic"``: ``x`` holds the sorted breakpoints and ``y`` the fitted values
    there; a score is clipped to ``[x[0], x[-1]]`` and interpolated linearly between the two
    breakpoints around it (the prediction of ``sklearn.isotonic.IsotonicRegression`` with
    ``out_of_bounds="clip"``)::

        p(s) = y[k-1] + (y[k] - y[k-1]) / (x[k] - x[k-1]) * (s - x[k-1]),   x[k-1] <= s <= x[k]

    ``method="platt"``: ``x`` and ``y`` are empty and ``p(s) = 1 / (1 + exp(-(a*s + b)))``
    (Platt 1999, "Probabilistic outputs for support vector machines").

    >>> iso = Calibrator("isotonic", np.array([0.0, 1.0]), np.array([0.2, 0.8]))
    >>> iso(np.array([-5.0, 0.25, 0.5, 9.0])).round(12).tolist()
    [0.2, 0.35, 0.5, 0.8]
    >>> platt = Calibrator("platt", np.empty(0), np.empty(0), a=2.0, b=-1.0)
    >>> platt(np.array([0.5])).tolist()
    [0.5]
    >>> Calibrator.from_dict(iso.to_dict()) == iso
    True
    """

    method: str
    x: np.ndarray
    y: np.ndarray
    a: float = 0.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {self.method!r}")
        x = _frozen_1d("x", self.x)
        y = _frozen_1d("y", self.y)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        for name in ("a", "b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"{name}: must be a number, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"{name}: must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.method == "platt":
            if x.size or y.size:
                raise ValueError("x, y: must be empty for method 'platt'")
            return
        if x.size == 0:
            raise ValueError("x: isotonic calibrator needs at least one breakpoint")
        if x.shape != y.shape:
            raise ValueError(f"y: must have as many values as x ({x.size}), got {y.size}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("x, y: must be finite")
        if np.any(np.diff(x) <= 0):
            raise ValueError("x: breakpoints must be strictly increasing")
        if np.any(np.diff(y) < 0) or y[0] < 0 or y[-1] > 1:
            raise ValueError("y: fitted values must be non-decreasing and within [0, 1]")

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities in ``[0, 1]``, the same shape as ``score``."""
        s = np.asarray(score, dtype=np.float64)
        if not np.isfinite(s).all():
            raise ValueError("score: must be finite (no NaN or infinity)")
        if self.method == "platt":
            p = np.asarray(special.expit(self.a * s + self.b), dtype=np.float64)
        else:
            p = _interpolate(self.x, self.y, s.reshape(-1)).reshape(s.shape)
        return np.clip(p, 0.0, 1.0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calibrator):
            return NotImplemented
        return (
            self.method == other.method
            and np.array_equal(self.x, other.x)
            and np.array_equal(self.y, other.y)
            and self.a == other.a
            and self.b == other.b
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: equal by value, so unhashable

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict; floats round-trip exactly through ``json`` (shortest repr)."""
        return {
            "method": self.method,
            "x": [float(v) for v in self.x],
            "y": [float(v) for v in self.y],
            "a": self.a,
            "b": self.b,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Calibrator:
        """Rebuild a calibrator from ``to_dict()`` output; a missing or bad key is named."""
        missing = [k for k in ("method", "x", "y", "a", "b") if k not in d]
        if missing:
            raise ValueError(f"calibrator: missing key(s) {', '.join(missing)}")
        method = d["method"]
        if not isinstance(method, str):
            raise ValueError(f"method: must be a string, got {method!r}")
        arrays = {}
        for key in ("x", "y"):
            value = d[key]
            if not isinstance(value, (list, tuple, np.ndarray)):
                raise ValueError(f"{key}: must be a list of numbers, got {type(value).__name__}")
            try:
                arrays[key] = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{key}: must be a list of numbers") from None
        return cls(method, arrays["x"], arrays["y"], d["a"], d["b"])  # type: ignore[arg-type]


def labelled(score: np.ndarray, y01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check a calibration sample: 1-D finite scores, labels that are exactly 0 or 1."""
    s = np.asarray(score, dtype=np.float64)
    try:
        y = np.asarray(y01, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("y01: must hold only 0 and 1") from None
    if s.ndim != 1:
        raise ValueError(f"score: must be 1-D, got shape {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"y01: must have as many values as score ({s.size}), got shape {y.shape}")
    if s.size == 0:
        raise ValueError("score: must not be empty")
    if not np.isfinite(s).all():
        raise ValueError("score: must be finite (no NaN or infinity)")
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        raise ValueError(f"y01: must hold only 0 and 1, got {float(y[bad][0])!r} at row {int(np.argmax(bad))}")
    return s, y


def _frozen_1d(name: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)  # a copy: the caller's array may change later
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be an array of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be 1-D, got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


def _interpolate(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    # scipy.interpolate.interp1d(kind="linear")'s arithmetic, so results match sklearn's
    # IsotonicRegression.predict to the last bit or two, after sklearn's clip to [x[0], x[-1]].
    if x.size == 1:
        return np.full(s.shape, y[0])
    s = np.clip(s, x[0], x[-1])
    hi = np.clip(np.searchsorted(x, s), 1, x.size - 1)
    lo = hi - 1
    slope = (y[hi] - y[lo]) / (x[hi] - x[lo])
    return np.asarray(slope * (s - x[lo]) + y[lo], dtype=np.float64)
