"""Classification metric kernels: pure functions of aligned label and score arrays.

Why here and not scikit-learn: the daemon must not pull scikit-learn in at run time, yet every
figure must equal scikit-learn's function of the same name (to 1e-9) so a user can check a
number with the tool they already trust. The tests compare each kernel with scikit-learn on
the same input.

Preconditions (the caller owns them): the arrays are 1-D, of one length, non-empty, row ``i``
of each describes the same case, and no value is missing (the performance detector counts and
drops rows without a label before calling in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["accuracy", "brier", "confusion_matrix", "log_loss", "precision_recall_f1", "roc_auc"]

Average = Literal["binary", "macro", "weighted"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[object] | np.ndarray) -> np.ndarray:
    """Return the K×K int64 count matrix, rows = true class, columns = predicted class.

    Why: every set-wise classification figure (accuracy, precision, recall, F1) is a ratio of
    cells of this matrix, and the page shows it as is.

    ``C[i, j] = #{rows : y_true = labels[i] and y_pred = labels[j]}`` in the order of
    ``labels``; a row whose true or predicted value is not in ``labels`` is left out.
    Same as ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=labels)`` (Kohavi &
    Provost 1998, "Glossary of terms"), by one ``searchsorted`` and one ``bincount``
    instead of a per-row dictionary look-up. Unlike scikit-learn it returns zeros, rather
    than raising, when no true value is in ``labels``.

    >>> confusion_matrix(np.array(["cat", "dog", "dog", "owl"]),
    ...                  np.array(["cat", "cat", "dog", "dog"]), labels=["dog", "cat"])
    array([[1, 1],
           [0, 1]])
    """
    t, p = _pair(y_true, y_pred, "y_pred")
    lab = _labels(labels)
    k = lab.shape[0]
    ti, pi = _codes(t, lab), _codes(p, lab)
    keep = (ti < k) & (pi < k)
    flat = np.bincount(ti[keep] * k + pi[keep], minlength=k * k)
    return flat.astype(np.int64).reshape(k, k)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the share of rows whose prediction equals the true label.

    Why: the one figure everyone reads first; it is blind to class imbalance, so the
    detector reports it beside precision, recall and F1.

    ``accuracy = (1/n) Σ 1[y_pred_i = y_true_i]``, as ``sklearn.metrics.accuracy_score``.

    >>> accuracy(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
    0.75
    """
    t, p = _pair(y_true, y_pred, "y_pred")
    return float(np.mean(np.asarray(t == p, dtype=bool)))


def precision_recall_f1(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    labels: Sequence[object] | np.ndarray,
    average: Average,
    pos_label: object | None = None,
) -> tuple[float, float, float]:
    """Return (precision, recall, F1) averaged as named.

    Why: accuracy hides a model that never finds the rare class; precision (how many
    flagged rows are right) and recall (how many right rows are flagged) do not.

    Per class k, with TP_k the diagonal of the confusion matrix, P_k the number of rows
    *predicted* k and T_k the number of rows *truly* k (van Rijsbergen 1979, ch. 7)::

        precision_k = TP_k / P_k      recall_k = TP_k / T_k      F1_k = 2 TP_k / (P_k + T_k)

    An undefined ratio (0/0: a class never predicted, or never present) counts as 0.0, as
    scikit-learn's ``zero_division=0``. Averages:

    - ``"binary"``: the figures of ``pos_label`` alone (default ``labels[-1]``); ``labels``
      serves only for that default, every other value is the negative class.
    - ``"macro"``: the unweighted mean over ``labels``.
    - ``"weighted"``: the mean over ``labels`` weighted by T_k (plain mean if all T_k = 0).

    P_k and T_k count every row predicted (or truly) k, including rows whose other side is
    not in ``labels``: the row and column sums of the confusion matrix extended by one
    "other" class. Equals ``sklearn.metrics.precision_recall_fscore_support(y_true, y_pred,
    labels=labels, average=average, pos_label=pos_label, zero_division=0.0)[:3]``.

    >>> y_true = np.array(["a", "a", "b", "b", "c"])
    >>> y_pred = np.array(["a", "b", "b", "b", "a"])
    >>> precision_recall_f1(y_true, y_pred, labels=["a", "b"], average="binary", pos_label="a")
    (0.5, 0.5, 0.5)
    >>> p, r, f = precision_recall_f1(y_true, y_pred, labels=["a", "b", "c"], average="macro")
    >>> round(p, 6), round(r, 6), round(f, 6)
    (0.388889, 0.5, 0.433333)
    """
    t, p = _pair(y_true, y_pred, "y_pred")
    lab = _labels(labels)
    if average == "binary":
        lab = np.asarray([lab[-1] if pos_label is None else pos_label])
    elif average not in ("macro", "weighted"):
        raise ValueError(f"average: must be 'binary', 'macro' or 'weighted', got {average!r}")
    tp, true_sum, pred_sum = _class_counts(t, p, lab)
    precision = _ratio(tp, pred_sum)
    recall = _ratio(tp, true_sum)
    f1 = _ratio(2 * tp, true_sum + pred_sum)
    if average == "weighted" and true_sum.sum() > 0:
        w = true_sum / true_sum.sum()
        return float(w @ precision), float(w @ recall), float(w @ f1)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def roc_auc(y_true01: np.ndarray, score: np.ndarray) -> float:
    """Return the area under the ROC curve of a binary score.

    Why: it judges the ranking a score induces, independent of any decision threshold, so it
    moves when the model gets worse even if the threshold hides it.

    Mann–Whitney form (Hanley & McNeil 1982, eq. 2): with ``R_i`` the rank of ``score_i``
    among all n rows (ties get the average of their ranks), n1 positives and n0 negatives::

        AUC = (Σ_{i positive} R_i - n1 (n1 + 1) / 2) / (n1 n0)

    i.e. P(score of a random positive > score of a random negative) + ½ P(tie), which is
    the trapezoidal area ``sklearn.metrics.roc_auc_score`` computes. Ranks are half-integers,
    so the sum is exact in float64.

    Raises ValueError when ``y_true01`` holds one class only (the ratio is 0/0).

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.4, 0.8]))
    0.875
    """
    y = _binary("y_true01", y_true01)
    _, s = _pair(y, score, "score")
    n1 = int(np.count_nonzero(y))
    n0 = int(y.shape[0]) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("roc_auc: needs both classes in y_true")
    ranks = np.asarray(stats.rankdata(np.asarray(s, dtype=np.float64)), dtype=np.float64)
    u = float(ranks[y].sum()) - n1 * (n1 + 1) / 2.0
    return u / (n1 * n0)


def log_loss(y_true01: np.ndarray, p: np.ndarray) -> float:
    """Return the mean binary cross-entropy of probabilities ``p`` of the positive class.

    Why: it punishes confident mistakes, so it sees a model whose probabilities went bad
    while its decisions (accuracy) did not.

    ``L = -(1/n) Σ [y_i log q_i + (1 - y_i) log(1 - q_i)]`` with natural log (Bishop 2006,
    eq. 4.90). As ``sklearn.metrics.log_loss`` (1.9), each of ``p`` and ``1 - p`` is clipped
    to ``[eps, 1 - eps]`` before the log, ``eps`` the machine epsilon of ``p``'s float type
    (2.2e-16 for float64; 1.2e-7 for float32, 9.8e-4 for float16; other types count as
    float64), so an exact 0 or 1 on the wrong side costs ``-log(eps)`` (36.04 nats in
    float64) instead of infinity, and on the right side ``-log(1 - eps)``, not 0. The sum
    is taken in float64 (scikit-learn keeps float32 input in float32).

    Raises ValueError when a probability is outside [0, 1] (or NaN).

    >>> round(log_loss(np.array([1, 0, 1]), np.array([0.9, 0.2, 0.6])), 6)
    0.279777
    >>> round(log_loss(np.array([1]), np.array([0.0])), 4)   # clipped, not infinite
    36.0437
    """
    return float(-np.mean(log_terms(y_true01, p)))


def log_terms(y_true01: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's ``log q`` (positive) or ``log(1 - q)`` (negative), clipped as ``log_loss``
    says: its mean, negated, is the log loss (the bootstrap averages them per resample)."""
    y = _binary("y_true01", y_true01)
    q = _probabilities(y, p)
    raw = np.asarray(p)
    ftype = raw.dtype if raw.dtype in (np.float32, np.float16) else np.dtype(np.float64)
    eps = float(np.finfo(ftype).eps)
    lo, hi = eps, float(ftype.type(1) - ftype.type(eps))
    terms: np.ndarray = np.where(y, np.log(np.clip(q, lo, hi)), np.log(np.clip(1.0 - q, lo, hi)))
    return terms


def brier(y_true01: np.ndarray, p: np.ndarray) -> float:
    """Return the Brier score: the mean squared error of probabilities ``p`` of the positive class.

    Why: a proper scoring rule like log loss, but bounded in [0, 1] and not dominated by a
    few confident mistakes.

    ``BS = (1/n) Σ (p_i - y_i)^2`` (Brier 1950), as ``sklearn.metrics.brier_score_loss``
    (binary, whose ``scale_by_half="auto"`` gives this same form).

    Raises ValueError when a probability is outside [0, 1] (or NaN).

    >>> round(brier(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])), 6)
    0.0375
    """
    y = _binary("y_true01", y_true01)
    q = _probabilities(y, p)
    return float(np.mean((q - y) ** 2))


def _pair(first: np.ndarray, second: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(first), np.asarray(second)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"{name}: y_true and {name} must be 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"{name}: length {b.shape[0]} differs from y_true's {a.shape[0]}")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: no rows")
    return a, b


def _binary(name: str, values: np.ndarray) -> np.ndarray:
    y = np.asarray(values)
    if y.dtype == np.bool_:
        return y
    if y.dtype.kind not in "iuf" or not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{name}: must hold booleans or 0/1, got values such as {y[:3].tolist()!r}")
    return np.asarray(y == 1, dtype=bool)


def _probabilities(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    _, raw = _pair(y, p, "p")
    if raw.dtype.kind not in "iufb":
        raise ValueError(f"p: probabilities must be numbers in [0, 1], got dtype {raw.dtype}")
    q = raw.astype(np.float64)
    bad = ~((q >= 0.0) & (q <= 1.0))
    if bad.any():
        raise ValueError(f"p: probabilities must be in [0, 1]; {int(bad.sum())} are not, e.g. {q[bad][0]!r}")
    return q


def _labels(labels: Sequence[object] | np.ndarray) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] == 0:
        raise ValueError(f"labels: must be a non-empty 1-D sequence, got {labels!r}")
    s = np.sort(lab)
    if np.any(s[1:] == s[:-1]):
        raise ValueError(f"labels: must be distinct, got {labels!r}")
    return lab


def _codes(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each value in ``labels`` (any order), or ``len(labels)`` when absent."""
    k = labels.shape[0]
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    pos = np.minimum(np.searchsorted(ordered, values), k - 1)
    found = np.asarray(ordered[pos] == values, dtype=bool)
    codes: np.ndarray = np.where(found, order[pos], k).astype(np.intp)
    return codes


def _class_counts(t: np.ndarray, p: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(TP_k, T_k, P_k) per label: diagonal, row and column sums of the confusion matrix
    extended by an "other" class for values outside ``labels`` (sklearn's multilabel
    confusion matrix), by bincount in O(n + K) rather than building the (K+1)² matrix."""
    k = labels.shape[0]
    ti, pi = _codes(t, labels), _codes(p, labels)
    tp = np.bincount(ti[(ti == pi) & (ti < k)], minlength=k)
    true_sum = np.bincount(ti, minlength=k + 1)[:k]
    pred_sum = np.bincount(pi, minlength=k + 1)[:k]
    return tp.astype(np.float64), true_sum.astype(np.float64), pred_sum.astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, with 0/0 (den = 0 implies num = 0 here) counted as 0.0."""
    out: np.ndarray = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out
