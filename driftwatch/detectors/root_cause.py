"""Where a performance drop came from: the feature ranges whose errors grew.

When a performance metric alerts, the window's rows are wrong more often (or by more) than the
reference's: by their labels, or, for a label-free estimate, by the error it expects of each
row (``with_expected_causes``: where the estimate sees the errors growing before any label).
The error of a row is ``1`` when its predicted class is wrong (0 when right), or its absolute
error for a regression. The window's mean error minus the reference's,
``Δ``, splits exactly over the bins of any one feature (the reference's bins: its quantile bins
for a number, its most frequent categories and the rest for a category, missing apart):

    Δ = Σ_b (n_b · e_b − m_b · r_b)

with ``n_b``, ``m_b`` the window's and the reference's share of rows in bin ``b`` and ``e_b``,
``r_b`` their mean error there. Each term is the bin's share of the drop. It is the sum of the
error growing in that bin (``n_b · (e_b − r_b)``) and of more rows landing in a bin that was
already hard (``(n_b − m_b) · r_b``). Bins of every feature are ranked by their term, and the
top five go into the metric's ``details.causes``: where in which feature's range the errors grew.
The reference side is the labelled rows whose features its profile keeps (``outcomes``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..joint import OTHER, encode
from ..model import Finding
from ..outcomes import FEATURE_ROWS, Outcomes
from .metrics import Labels

if TYPE_CHECKING:
    from ..profiling import ColumnProfile, Profile

__all__ = ["TOP_CAUSES", "Expected", "bins_of", "causes", "errors_of", "with_causes", "with_expected_causes"]

#: Causes kept in a metric's details (the run page shows them all).
TOP_CAUSES = 5
#: Categories of a feature kept as bins of their own (the rest is one "other" bin).
_TOP_CATEGORIES = 20


def bins_of(encoded: np.ndarray, profile: ColumnProfile) -> tuple[np.ndarray, list[str]]:
    """Each row's bin of one ``joint.encode``d feature column, and the bins' labels (the last is
    "missing")."""
    missing = np.isnan(encoded)
    if profile.kind == "numeric":
        edges = profile.edges
        labels = ([f"< {edges[0]:.4g}"] + [f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(edges[:-1], edges[1:])]
                  + [f"≥ {edges[-1]:.4g}"]) if edges.size else ["all"]
        index = np.searchsorted(edges, np.where(missing, 0.0, encoded), side="right") if edges.size \
            else np.zeros(encoded.size, dtype=np.int64)
    else:
        kept = min(_TOP_CATEGORIES, len(profile.categories))
        labels = [str(c) for c in profile.categories[:kept]] + ["other"]
        codes = np.where(missing | (encoded == OTHER) | (encoded >= kept), kept, encoded)
        index = codes.astype(np.int64)
    return np.where(missing, len(labels), index), labels + ["missing"]


def causes(columns: Sequence[str], profiles: Mapping[str, ColumnProfile], reference: np.ndarray,
           reference_errors: np.ndarray, window: np.ndarray, window_errors: np.ndarray) -> list[dict[str, Any]]:
    """The ``TOP_CAUSES`` (feature, bin) pairs that explain most of the rise in mean error from
    the ``reference`` rows to the ``window`` rows (both ``joint.encode``d over ``columns``);
    none when the error did not rise."""
    drop = float(window_errors.mean() - reference_errors.mean()) if window_errors.size and reference_errors.size \
        else math.nan
    if not drop > 0:
        return []
    found: list[dict[str, Any]] = []
    for j, name in enumerate(columns):
        ref_bins, labels = bins_of(reference[:, j], profiles[name])
        cur_bins, _ = bins_of(window[:, j], profiles[name])
        size = len(labels)
        m = np.bincount(ref_bins, minlength=size) / ref_bins.size
        n = np.bincount(cur_bins, minlength=size) / cur_bins.size
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.bincount(ref_bins, weights=reference_errors, minlength=size) / (m * ref_bins.size)
            e = np.bincount(cur_bins, weights=window_errors, minlength=size) / (n * cur_bins.size)
        r, e = np.nan_to_num(r), np.nan_to_num(e)
        term = n * e - m * r
        for b in np.flatnonzero(term > 0):
            found.append({"feature": name, "bin": labels[b], "share_of_drop": float(term[b] / drop),
                          "error_grew": float(n[b] * (e[b] - r[b]) / drop),
                          "more_rows": float((n[b] - m[b]) * r[b] / drop),
                          "rows_share_reference": float(m[b]), "rows_share_current": float(n[b]),
                          "error_reference": float(r[b]), "error_current": float(e[b])})
    found.sort(key=lambda cause: (-cause["share_of_drop"], cause["feature"], cause["bin"]))
    return found[:TOP_CAUSES]


def with_causes(findings: list[Finding], reference: Profile, ref: Outcomes, ref_labels: Labels, cur: Outcomes,
                cur_labels: Labels) -> list[Finding]:
    """``findings`` with ``details.causes`` (``causes``) on those that alert: the feature
    ranges where the rows' errors grew, from the rows whose features both sides keep."""
    if ref.features is None or ref.feature_rows is None or cur.features is None or cur.feature_rows is None \
            or ref.feature_columns != cur.feature_columns:
        return findings
    found = causes(ref.feature_columns, reference.columns,
                   ref.features, errors_of(ref_labels, ref.feature_rows, ref.task),
                   cur.features, errors_of(cur_labels, cur.feature_rows, ref.task))
    return [Finding(f.feature, f.metric, f.value, f.status, threshold=f.threshold, p_value=f.p_value,
                    details={**f.details, "causes": found}) if f.status == "alert" and found else f
            for f in findings]


def errors_of(labels: Labels, rows: np.ndarray, task: str) -> np.ndarray:
    """Each of ``rows``' error: 1 for a wrong class and 0 for a right one, or the absolute error."""
    if labels.y_pred is None:
        return np.zeros(rows.size)
    truth, predicted = np.asarray(labels.y_true)[rows], np.asarray(labels.y_pred)[rows]
    if task == "regression":
        error: np.ndarray = np.abs(truth.astype(np.float64) - predicted.astype(np.float64))
        return error
    wrong: np.ndarray = (truth != predicted).astype(np.float64)
    return wrong


#: A window's rows (positions in its frame) and each one's expected error: what a label-free
#: estimate expects where the labels are not in yet.
Expected = tuple[np.ndarray, np.ndarray]


def with_expected_causes(findings: list[Finding], reference: Profile, ref_labels: Labels, frame: pd.DataFrame,
                         rows: np.ndarray, expected: np.ndarray, *, seed: int) -> list[Finding]:
    """``findings`` (label-free estimates) with ``details.causes`` on those that alert, from the
    window rows' expected errors (up to ``FEATURE_ROWS`` of them) against the reference's
    realised ones: where the estimate expects the errors to have grown."""
    ref = reference.outcomes
    if ref is None or ref.features is None or ref.feature_rows is None or rows.size == 0:
        return findings
    picked = np.arange(rows.size)
    if rows.size > FEATURE_ROWS:
        picked = np.sort(np.random.default_rng(seed).choice(rows.size, FEATURE_ROWS, replace=False))
    try:
        window = encode(frame.iloc[rows[picked]], ref.feature_columns, reference.columns)
    except DataError:  # text in a numeric feature: no causes, the estimates stand
        return findings
    found = causes(ref.feature_columns, reference.columns, ref.features,
                   errors_of(ref_labels, ref.feature_rows, ref.task), window, expected[picked])
    return [Finding(f.feature, f.metric, f.value, f.status, threshold=f.threshold, p_value=f.p_value,
                    details={**f.details, "causes": found}) if f.status == "alert" and found else f
            for f in findings]
