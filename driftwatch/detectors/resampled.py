"""A metric over every bootstrap resample at once, from the counts or row terms it is made of.

The bootstrap recomputes each reference metric on 200 resamples. Done one resample and one
metric at a time, a window's performance check rebuilt 2,400 label arrays and sorted each
resample's scores for ROC AUC; a monitor with ten segments did that eleven times, two thirds of
its run. Every figure here is a function of per-row terms fixed by the reference row:

* accuracy, log loss and Brier are means of a per-row term (right or wrong, the row's loss):
  the term is computed once and averaged over each resample's rows;
* precision, recall and F1 are ratios of per-class counts (true positives, rows truly k, rows
  predicted k): one ``bincount`` over every resample's class codes gives all of them;
* ROC AUC of a resample is the Mann–Whitney statistic over its rows, counted on the rank of
  each row's score among the reference's distinct scores (found once), all resamples in one
  2-D sort.

Each equals the metric's own kernel on the resample (the tests compare them to 1e-12); a
metric without a fast form (regression's) returns None and is computed the plain way.
"""

from __future__ import annotations

import numpy as np

from .metrics import Labels
from .metrics.classification import _codes, _labels, _probabilities, _ratio, log_terms

__all__ = ["resampled"]

_PRF = {"precision": 0, "recall": 1, "f1": 2}


def resampled(name: str, labels: Labels, draws: np.ndarray,
              memo: dict[str, tuple[np.ndarray, ...]] | None = None) -> np.ndarray | None:
    """Metric ``name`` on each resample (row of ``draws``: reference row indices), NaN where it
    is undefined (ROC AUC of a resample with one class); None when it has no fast form here.
    ``memo`` keeps the class counts of the same ``draws`` for precision, recall and F1 alike."""
    if draws.size == 0:
        return None
    try:
        if name == "accuracy" and labels.y_pred is not None:
            right = np.asarray(np.asarray(labels.y_true) == np.asarray(labels.y_pred), dtype=np.float64)
            shares: np.ndarray = right[draws].mean(axis=1)
            return shares
        figure, _, average = name.partition("_")
        if figure in _PRF and labels.y_pred is not None and average in ("", "macro", "weighted"):
            average = average or "binary"
            memo = {} if memo is None else memo
            if average not in memo:
                memo[average] = _class_counts(labels, draws, average)
            tp, true_sum, pred_sum = memo[average]
            return _prf(tp, true_sum, pred_sum, _PRF[figure], average)
        if name in ("log_loss", "brier") and labels.score is not None:
            means: np.ndarray = _row_losses(labels, name)[draws].mean(axis=1)
            return -means if name == "log_loss" else means
        if name == "roc_auc" and labels.score is not None:
            return _roc_auc(labels.y_true01, np.asarray(labels.score, dtype=np.float64), draws)
    except ValueError:  # a reference the kernel would refuse: let it say so the plain way
        return None
    return None


def _class_counts(labels: Labels, draws: np.ndarray, average: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per resample and class: true positives, rows truly the class, rows predicted it (the
    counts of ``precision_recall_f1``), binned for every resample by one ``bincount`` each."""
    lab = _labels(labels.classes)  # raises, as the kernel does, without classes
    if average == "binary":
        lab = np.asarray([labels.positive])
    k = lab.shape[0]
    ti, pi = _codes(np.asarray(labels.y_true), lab), _codes(np.asarray(labels.y_pred), lab)
    count = draws.shape[0]
    offset = (np.arange(count) * (k + 1))[:, None]

    def per_resample(codes: np.ndarray) -> np.ndarray:  # each resample's rows per code, "other" dropped
        binned = np.bincount((offset + codes[draws]).ravel(), minlength=count * (k + 1))
        counts: np.ndarray = binned.reshape(count, k + 1)[:, :k].astype(np.float64)
        return counts

    tp = per_resample(np.where((ti == pi) & (ti < k), ti, k))  # a true positive of class k, or none
    return tp, per_resample(ti), per_resample(pi)


def _prf(tp: np.ndarray, true_sum: np.ndarray, pred_sum: np.ndarray, which: int, average: str) -> np.ndarray:
    """``precision_recall_f1``'s figure ``which`` of each resample, from its class counts."""
    figures = (_ratio(tp, pred_sum), _ratio(tp, true_sum), _ratio(2 * tp, true_sum + pred_sum))[which]
    if average != "weighted":
        means: np.ndarray = figures.mean(axis=1)
        return means
    totals = true_sum.sum(axis=1)
    weights = np.divide(true_sum, totals[:, None], out=np.zeros_like(true_sum), where=totals[:, None] > 0)
    weighted = np.einsum("ij,ij->i", weights, figures)
    chosen: np.ndarray = np.where(totals > 0, weighted, figures.mean(axis=1))
    return chosen


def _row_losses(labels: Labels, name: str) -> np.ndarray:
    """Each reference row's log-likelihood term (log loss, before the minus) or squared error."""
    if name == "log_loss":
        return log_terms(labels.y_true01, np.asarray(labels.score))
    y = labels.y_true01
    squared: np.ndarray = (_probabilities(y, np.asarray(labels.score)) - y) ** 2
    return squared


def _roc_auc(positive: np.ndarray, score: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """ROC AUC of each resample, P(positive scores above negative) + ½ P(tie): every resample's
    rows sorted by the rank of their score among the reference's distinct scores (one 2-D
    sort), then per positive the negatives before its group of ties and within it."""
    rank = np.unique(score, return_inverse=True)[1].reshape(-1)[draws]
    order = np.argsort(rank, axis=1, kind="stable")
    ranks = np.take_along_axis(rank, order, axis=1)
    is_positive = np.take_along_axis(positive[draws], order, axis=1)
    negative = (~is_positive).astype(np.int64)
    before = np.cumsum(negative, axis=1) - negative  # negatives earlier in the sort
    columns = np.arange(ranks.shape[1])
    starts = np.ones(ranks.shape, dtype=bool)
    starts[:, 1:] = ranks[:, 1:] != ranks[:, :-1]
    first = np.maximum.accumulate(np.where(starts, columns, 0), axis=1)  # where each one's ties begin
    ends = np.ones(ranks.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    last = np.minimum.accumulate(np.where(ends, columns, ranks.shape[1])[:, ::-1], axis=1)[:, ::-1]
    below = np.take_along_axis(before, first, axis=1)
    tied = np.take_along_axis(before + negative, last, axis=1) - below
    n1 = is_positive.sum(axis=1)
    n0 = ranks.shape[1] - n1
    pairs = np.where(is_positive, below + 0.5 * tied, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc: np.ndarray = np.where((n1 > 0) & (n0 > 0), pairs / (n1 * n0), np.nan)
    return auc
