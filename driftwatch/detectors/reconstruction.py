"""Multivariate drift as the error of a PCA reconstruction, fitted on the reference's rows.

Rows of the reference lie near a few directions (how its columns move together); PCA keeps
the fewest that explain more than ``variance`` of the standardised reference's variance. A row
that moves the way the reference did is rebuilt well from them; a row whose columns move
together differently (a correlation that flips, each column's own distribution unchanged) is
not. The figure is the window's mean reconstruction error: the mean Euclidean distance between
each standardised row and its projection back from the kept components.

Steps, all fitted on half the reference's joint rows (``driftwatch.joint``, seeded split):

1. a categorical column becomes the reference share of its category (a category outside the
   kept ones, the share of all of those together), so one column stays one number;
2. a missing value becomes the column's mean over those rows (0 once standardised);
3. each column is standardised by its mean and standard deviation there (a constant column by 1);
4. the components: ``numpy.linalg.svd`` of the centred matrix, keeping the fewest whose
   explained variance ratio adds up to more than ``variance`` (scikit-learn's rule for a
   fractional ``n_components``, and its numbers to 1e-9).

The other half calibrates: its rows' errors give the mean and standard deviation an unchanged
window's rows have. A window of ``n`` rows then has a mean error whose spread under "no
change" is ``sd · √(1/n + 1/m)`` (``m`` calibration rows; the mean of ``n`` independent rows,
against a reference mean that is itself estimated), so the p-value of its excess is one-sided
normal, and the threshold follows the window's size: quiet on unchanged data at any size.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..joint import OTHER, JointRows
from ..profiling import Profile

__all__ = ["Reconstruction", "as_numbers", "fit", "split"]


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A fitted reconstruction (see the module docstring) and its calibration."""

    columns: tuple[str, ...]
    #: Per categorical column, the reference share of each kept category; ``OTHER``'s share last.
    shares: dict[int, np.ndarray]
    fill: np.ndarray
    scale_mean: np.ndarray
    scale_sd: np.ndarray
    centre: np.ndarray
    components: np.ndarray
    explained: float
    #: The calibration rows' errors: their mean, standard deviation and count.
    error_mean: float
    error_sd: float
    error_rows: int
    #: The calibration rows' mean squared residual per column (what each column contributes).
    residual_mean: np.ndarray

    def standardised(self, encoded: np.ndarray) -> np.ndarray:
        """``encoded`` rows (``joint.encode``) as the standardised matrix the components act on
        (one new matrix, worked on in place: a million rows of 50 columns is 400 MB)."""
        numbers = as_numbers(encoded, self.shares)
        np.copyto(numbers, np.broadcast_to(self.fill, numbers.shape), where=np.isnan(numbers))
        numbers -= self.scale_mean
        numbers /= self.scale_sd
        return numbers

    def rebuilt(self, standardised: np.ndarray) -> np.ndarray:
        """Each row projected on the kept components and back (scikit-learn's
        ``inverse_transform(transform(x))``)."""
        centred = standardised - self.centre
        back: np.ndarray = (centred @ self.components.T) @ self.components + self.centre
        return back

    def residuals(self, encoded: np.ndarray) -> np.ndarray:
        """Each standardised row minus its reconstruction (what ``rebuilt`` takes off, in place)."""
        residual = self.standardised(encoded)
        residual -= self.centre
        residual -= (residual @ self.components.T) @ self.components
        return residual

    def test(self, encoded: np.ndarray, alpha: float, threshold: float) -> dict[str, object]:
        """The window's mean error, its p-value of "no increase", the error that alerts at this
        window's size (at least ``threshold`` relative above the reference's, and significant at
        ``alpha``), and the columns whose mean squared residual rose most (``moved``)."""
        residual = self.residuals(encoded)
        errors = np.sqrt(np.einsum("ij,ij->i", residual, residual))
        n = int(errors.size)
        mean = float(errors.mean())
        spread = self.error_sd * math.sqrt(1 / n + 1 / self.error_rows)
        if spread > 0:
            p_value = float(stats.norm.sf((mean - self.error_mean) / spread))
        else:
            p_value = 0.0 if mean > self.error_mean else 1.0
        alerts_at = max(self.error_mean * (1 + threshold), self.error_mean + float(stats.norm.isf(alpha)) * spread)
        grown = np.mean(residual * residual, axis=0) - self.residual_mean
        order = np.argsort(-grown, kind="stable")
        return {"value": mean, "p_value": p_value, "alerts_at": alerts_at, "rows": n,
                "increase": mean / self.error_mean - 1 if self.error_mean > 0 else math.inf,
                "moved": [{"column": self.columns[j], "residual_rise": float(grown[j])}
                          for j in order[:5] if grown[j] > 0]}


def as_numbers(encoded: np.ndarray, shares: dict[int, np.ndarray]) -> np.ndarray:
    """``encoded`` with each categorical column's codes replaced by their categories' shares
    (missing stays ``NaN``)."""
    numbers = np.array(encoded, dtype=np.float64, order="F")  # a copy, column by column
    for j, column_shares in shares.items():
        codes = numbers[:, j]
        present = ~np.isnan(codes)
        index = np.where(codes[present] == OTHER, column_shares.size - 1, codes[present]).astype(np.int64)
        codes[present] = column_shares[index]
    return numbers


def split(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The joint rows that fit (the first half of a seeded shuffle) and those that calibrate."""
    order = np.random.default_rng(seed).permutation(rows)
    half = rows // 2
    return np.sort(order[:half]), np.sort(order[half:])


def fit(reference: Profile, joint: JointRows, columns: tuple[str, ...], variance: float,
        seed: int) -> Reconstruction:
    """The reconstruction of ``columns`` fitted and calibrated on ``joint``'s rows."""
    where = [joint.columns.index(c) for c in columns]
    encoded = joint.values[:, where]
    fitting, calibrating = split(encoded.shape[0], seed)
    shares = {}
    for j, name in enumerate(columns):
        profile = reference.columns[name]
        if profile.kind != "numeric":
            present = max(profile.n_present, 1)
            shares[j] = np.append(profile.counts / present, profile.other_count / present).astype(np.float64)
    numbers = as_numbers(encoded[fitting], shares)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column's mean: filled with 0 below
        fill = np.nan_to_num(np.nanmean(numbers, axis=0), nan=0.0)
    numbers = np.where(np.isnan(numbers), fill, numbers)
    scale_mean = numbers.mean(axis=0)
    scale_sd = numbers.std(axis=0)
    scale_sd[scale_sd == 0] = 1.0
    standardised = (numbers - scale_mean) / scale_sd
    centre = standardised.mean(axis=0)
    _, singular, vt = np.linalg.svd(standardised - centre, full_matrices=False)
    explained_variance = singular**2 / max(standardised.shape[0] - 1, 1)
    total = explained_variance.sum()
    ratio = explained_variance / total if total > 0 else np.zeros_like(explained_variance)
    keep = min(int(np.searchsorted(np.cumsum(ratio), variance, side="right")) + 1, vt.shape[0])
    fitted = Reconstruction(columns, shares, fill, scale_mean, scale_sd, centre, vt[:keep],
                            float(ratio[:keep].sum()), 0.0, 0.0, 0, np.zeros(len(columns)))
    residual = fitted.residuals(encoded[calibrating])
    errors = np.sqrt(np.einsum("ij,ij->i", residual, residual))
    return Reconstruction(columns, shares, fill, scale_mean, scale_sd, centre, vt[:keep], float(ratio[:keep].sum()),
                          float(errors.mean()), float(errors.std(ddof=1)) if errors.size > 1 else 0.0,
                          int(errors.size), np.mean(residual * residual, axis=0))
