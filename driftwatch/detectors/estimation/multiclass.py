"""Label-free accuracy, precision, recall and F1 of a multiclass classifier (CBPE per class).

Why and where it is blind: as for the binary estimate (``estimation``): the class probabilities,
once calibrated on the labelled reference, say how often each prediction should be right; a
change in how labels follow the inputs (concept drift) goes unseen.

How: per class ``c``, a one-vs-rest isotonic calibrator learns ``P(y = c | p_c)`` from the
reference's probability of ``c``; a window row's calibrated probabilities, normalised to sum to
1, are its expected share of each true class. Summed by predicted class they make the expected
confusion matrix ``E[t, p]``, from which accuracy (its trace over ``n``) and per class
precision ``E[c, c] / Σₜ E[t, c]``, recall ``E[c, c] / Σₚ E[c, p]`` and F1 follow; macro
averages weigh classes alike, weighted ones by the expected support ``Σₚ E[c, p]``. With
probabilities that are the true labels, the estimate is scikit-learn's realised report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .isotonic import fit_isotonic

__all__ = ["calibrate_classes", "estimate_multiclass"]


def calibrate_classes(reference_scores: np.ndarray, reference_labels: np.ndarray, classes: Sequence[str],
                      window_scores: np.ndarray) -> np.ndarray:
    """``window_scores`` (rows × classes) calibrated one class at a time on the reference, each
    row normalised to sum to 1 (a row the calibrators give nothing keeps its own scores)."""
    calibrated = np.empty_like(window_scores, dtype=np.float64)
    for j, label in enumerate(classes):
        calibrator = fit_isotonic(reference_scores[:, j], (reference_labels == label).astype(np.int64))
        calibrated[:, j] = calibrator(window_scores[:, j])
    total = calibrated.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    calibrated[empty] = window_scores[empty]
    total[empty] = window_scores[empty].sum(axis=1, keepdims=True)
    normalised: np.ndarray = calibrated / total
    return normalised


def estimate_multiclass(probabilities: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Expected accuracy and macro / weighted precision, recall and F1 of rows whose true-class
    probabilities are ``probabilities`` (rows × classes) and whose predicted class index is
    ``predicted``; names as the realised metrics (``precision_macro``, …).

    >>> truth = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> estimate_multiclass(truth, np.array([0, 1, 0]))["accuracy"]
    0.6666666666666666
    """
    classes = probabilities.shape[1]
    expected = np.zeros((classes, classes))  # [true, predicted]
    for p in range(classes):
        expected[:, p] = probabilities[predicted == p].sum(axis=0)
    hits = np.diag(expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(expected.sum(axis=0) > 0, hits / expected.sum(axis=0), 0.0)
        support = expected.sum(axis=1)
        recall = np.where(support > 0, hits / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    weights = support / support.sum()
    found = {"accuracy": float(hits.sum() / probabilities.shape[0])}
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        found[f"{name}_macro"] = float(values.mean())
        found[f"{name}_weighted"] = float(np.dot(weights, values))
    return found
