"""Expected classification metrics of a window from calibrated probabilities alone."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["METRICS", "estimate_binary"]

#: The keys of ``estimate_binary``'s result, in order.
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def estimate_binary(
    calibrated: np.ndarray, threshold: float = 0.5, *, score: np.ndarray | None = None
) -> dict[str, float]:
    """Estimate accuracy, precision, recall, F1 and ROC AUC without labels.

    Why: if ``p_i = P(y_i = 1 | score_i)`` is right, each row is a positive with probability
    ``p_i``, so its expected share of the confusion matrix is known even though its label is not.

    The predicted class is ``d_i >= threshold`` with ``d`` the raw ``score`` when given (the
    model's own decision rule), else the calibrated probability. Expected counts::

        E[TP] = sum p_i [yhat_i = 1]        E[FP] = sum (1 - p_i) [yhat_i = 1]
        E[FN] = sum p_i [yhat_i = 0]        E[TN] = sum (1 - p_i) [yhat_i = 0]

    accuracy = (TP + TN) / n, precision = TP / (TP + FP), recall = TP / (TP + FN),
    f1 = 2 TP / (2 TP + FP + FN), each on the expected counts; ``0 / 0`` gives ``nan``
    (an empty window gives ``nan`` throughout).

    ROC AUC is the area under the *expected* ROC curve: rows sorted by ``d`` descending,
    tied values taken as one step (Fawcett 2006, "An introduction to ROC analysis"), with
    ``TPR(t) = sum_{d_i >= t} p_i / sum p_i`` and ``FPR(t) = sum_{d_i >= t} (1 - p_i) / sum (1 - p_i)``,
    integrated by the trapezoid rule from (0, 0). Equivalently ::

        AUC = sum_{i,j} p_i (1 - p_j) ([d_i > d_j] + [d_i = d_j] / 2) / (sum p_i * sum (1 - p_j))

    which differs from the expected pair count of the realised AUC only by the self-pairs
    ``i = j`` (O(1/n)); ``nan`` when ``sum p_i`` or ``sum (1 - p_i)`` is 0.
    With 0/1 values for ``p`` every figure equals the realised metric for labels ``p``.

    >>> p = np.array([0.9, 0.8, 0.3, 0.1])
    >>> est = estimate_binary(p)
    >>> {k: round(v, 6) for k, v in est.items()}
    {'accuracy': 0.825, 'precision': 0.85, 'recall': 0.809524, 'f1': 0.829268, 'roc_auc': 0.863409}
    >>> estimate_binary(np.array([1.0, 0.0, 1.0]), score=np.array([0.7, 0.6, 0.2]))["recall"]
    0.5
    """
    p = np.asarray(calibrated, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"calibrated: must be 1-D, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("calibrated: must be finite (no NaN or infinity)")
    outside = (p < 0) | (p > 1)
    if outside.any():
        row = int(np.argmax(outside))
        raise ValueError(f"calibrated: probabilities must lie in [0, 1], got {float(p[row])!r} at row {row}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise ValueError(f"threshold: must be a number, got {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold: must be finite, got {threshold!r}")
    if score is None:
        d = p
    else:
        d = np.asarray(score, dtype=np.float64)
        if d.shape != p.shape:
            raise ValueError(f"score: must have the shape of calibrated {p.shape}, got {d.shape}")
        if not np.isfinite(d).all():
            raise ValueError("score: must be finite (no NaN or infinity)")

    predicted = d >= threshold
    q = 1.0 - p
    tp, fp = float(p[predicted].sum()), float(q[predicted].sum())
    fn, tn = float(p[~predicted].sum()), float(q[~predicted].sum())
    return {
        "accuracy": _ratio(tp + tn, p.size),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2.0 * tp, 2.0 * tp + fp + fn),
        "roc_auc": _expected_auc(d, p, q),
    }


def _expected_auc(d: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    order = np.argsort(-d, kind="stable")
    d, p, q = d[order], p[order], q[order]
    last = np.empty(d.size, dtype=bool)  # last row of each run of equal d
    last[-1:] = True
    np.not_equal(d[1:], d[:-1], out=last[:-1])
    tps = np.concatenate(([0.0], np.cumsum(p)[last]))
    fps = np.concatenate(([0.0], np.cumsum(q)[last]))
    if tps[-1] <= 0 or fps[-1] <= 0:
        return math.nan
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan
