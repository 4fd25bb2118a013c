"""Per-group classification rates and the fairness disparities fairlearn reports.

Why: a model can keep its overall accuracy while one group's selection rate or error rates
fall away from the others'. The fairness detector reports, per group of the sensitive
columns (their intersection when there are several), the rates below and the spread of each
rate across the groups, with the same definitions as ``fairlearn.metrics`` so a figure on a
driftwatch page can be checked against fairlearn on the same data (fairlearn is a test
dependency only; these kernels use numpy and pandas).

Per group ``a`` with ``n`` rows, ``P`` true positives in ``y_true`` and ``N = n - P`` true
negatives, ``S`` rows predicted positive and ``TP`` of them truly positive::

    selection_rate = S / n            = P[h(X)=1 | A=a]
    tpr            = TP / P           = P[h(X)=1 | A=a, Y=1]   (nan when P = 0)
    fpr            = (S - TP) / N     = P[h(X)=1 | A=a, Y=0]   (nan when N = 0)
    precision      = TP / S           = P[Y=1 | A=a, h(X)=1]   (nan when S = 0)

The disparities follow fairlearn 0.15, ``fairlearn/metrics/_fairness_metrics.py`` with
``method="between_groups"``, which takes ``MetricFrame.difference()`` (``max - min`` over
the groups) and ``MetricFrame.ratio()`` (``min / max``). Two details of fairlearn are
reproduced on purpose, because the point is to agree with it:

- A rate that is undefined for a group counts as 0, not as missing: fairlearn computes TPR
  and FPR with ``sklearn.metrics.confusion_matrix(normalize="true")``, which divides by the
  row sum and then applies ``nan_to_num``. So a group with no true positives has TPR 0 in
  the disparities (and usually makes ``equal_opportunity_difference`` its largest TPR).
  ``GroupRates`` itself keeps NaN, so a caller can see the rate is undefined and leave such
  a group out (callers may pass any subset of the groups to the disparity functions).
- ``0 / 0`` in a ratio is NaN (pandas division): every group's rate is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "MISSING_LABEL",
    "GroupRates",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_rates",
]

#: Label of the group formed by missing values (None, NaN, pd.NA, NaT) of a sensitive column.
MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class GroupRates:
    """Confusion-matrix rates of one group (one combination of the sensitive columns' values).

    ``group`` holds the group's value in each sensitive column, in column order, as
    ``str(value)`` (``MISSING_LABEL`` for a missing value). Undefined rates are NaN: ``tpr``
    when the group has no true positives, ``fpr`` when it has no true negatives,
    ``precision`` when nothing in it is predicted positive.
    """

    group: tuple[str, ...]
    count: int
    selection_rate: float
    tpr: float
    fpr: float
    precision: float
    positives: int
    negatives: int


def group_rates(y_true01: np.ndarray, y_pred01: np.ndarray, groups: pd.DataFrame) -> list[GroupRates]:
    """Return the rates of every group of rows present in the data, sorted by group.

    Why: the per-group table is both what a reader needs to see which group is hurt and the
    input of every disparity below, so it is computed once, with one ``np.bincount`` per
    count (no per-row Python).

    Rows are grouped by the combination of all columns of ``groups`` (the intersection, as
    fairlearn does for a DataFrame of sensitive features; only combinations that occur are
    returned). Missing values form their own group labelled ``MISSING_LABEL`` (fairlearn
    refuses missing sensitive values instead). Values that print the same (``1`` and
    ``"1"``; a missing value and the string ``"(missing)"``) are one group, because the
    label is the group's identity. Labels are ``str(value)``, so an integer column that
    pandas holds as float because of missing values shows ``"1.0"`` (use ``"Int64"`` for
    ``"1"``). Groups are sorted column by column in the column's natural order (numbers
    numerically, numbers before strings, categoricals in category order; by label when the
    values cannot be compared), missing last.

    ``y_true01`` and ``y_pred01`` hold 0/1 (or bool) per row of ``groups``.

    >>> y_true = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    >>> y_pred = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    >>> sex = pd.DataFrame({"sex": ["f", "f", "f", "f", "m", "m", "m", None]})
    >>> for r in group_rates(y_true, y_pred, sex):
    ...     print(r.group, r.count, r.selection_rate, r.tpr, r.fpr, r.precision)
    ('f',) 4 0.5 0.5 0.5 0.5
    ('m',) 3 0.6666666666666666 1.0 0.5 0.5
    ('(missing)',) 1 0.0 nan 0.0 nan
    """
    y_true = _binary("y_true01", y_true01)
    y_pred = _binary("y_pred01", y_pred01)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred01: must have the length of y_true01 ({y_true.shape[0]}), got {y_pred.shape[0]}")
    if groups.shape[1] == 0:
        raise ValueError("groups: must have at least one column")
    if groups.shape[0] != y_true.shape[0]:
        raise ValueError(f"groups: must have one row per label ({y_true.shape[0]}), got {groups.shape[0]}")
    if y_true.shape[0] == 0:
        return []

    codes: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for i in range(groups.shape[1]):
        column_codes, column_labels = _encode(groups.iloc[:, i])
        codes.append(column_codes)
        labels.append(column_labels)
    keys, inverse = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    k = keys.shape[0]

    count = np.bincount(inverse, minlength=k)
    positives = np.bincount(inverse, weights=y_true, minlength=k).astype(np.int64)
    selected = np.bincount(inverse, weights=y_pred, minlength=k).astype(np.int64)
    true_pos = np.bincount(inverse, weights=y_true * y_pred, minlength=k).astype(np.int64)
    negatives = count - positives
    false_pos = selected - true_pos

    return [
        GroupRates(
            group=tuple(str(labels[j][keys[g, j]]) for j in range(len(labels))),
            count=int(count[g]),
            selection_rate=_share(selected[g], count[g]),
            tpr=_share(true_pos[g], positives[g]),
            fpr=_share(false_pos[g], negatives[g]),
            precision=_share(true_pos[g], selected[g]),
            positives=int(positives[g]),
            negatives=int(negatives[g]),
        )
        for g in range(k)
    ]


def demographic_parity_difference(rates: Sequence[GroupRates]) -> float:
    """Return the largest minus the smallest selection rate over the groups.

    Why: demographic parity asks that every group be selected at the same rate, whatever
    its base rate; 0 means it holds.

    Formula (fairlearn ``demographic_parity_difference``, ``method="between_groups"``;
    Dwork et al. 2012, "Fairness through awareness")::

        max_a P[h(X)=1 | A=a] - min_a P[h(X)=1 | A=a]

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> [r.selection_rate for r in rates]
    [0.75, 0.25]
    >>> demographic_parity_difference(rates)
    0.5
    """
    return _difference("rates", [r.selection_rate for r in rates])


def demographic_parity_ratio(rates: Sequence[GroupRates]) -> float:
    """Return the smallest over the largest selection rate over the groups.

    Why: the ratio is the figure of the "four-fifths rule" (US EEOC Uniform Guidelines,
    29 CFR 1607.4(D)): a ratio below 0.8 is evidence of adverse impact; 1 means parity.

    Formula (fairlearn ``demographic_parity_ratio``, ``method="between_groups"``)::

        min_a P[h(X)=1 | A=a] / max_a P[h(X)=1 | A=a]

    NaN when no group has anything selected (``0 / 0``, as fairlearn returns).

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> demographic_parity_ratio(rates)
    0.3333333333333333
    >>> demographic_parity_ratio(group_rates(np.array([1, 0]), np.array([0, 0]), pd.DataFrame({"g": ["a", "b"]})))
    nan
    """
    return _ratio("rates", [r.selection_rate for r in rates])


def equalized_odds_difference(rates: Sequence[GroupRates]) -> float:
    """Return the larger of the TPR difference and the FPR difference over the groups.

    Why: equalized odds asks that the predictor's errors be independent of the group given
    the true label, i.e. equal TPR and equal FPR in every group; the worst of the two spreads
    is how far it is from holding (0 means it holds).

    Formula (Hardt, Price & Srebro 2016, "Equality of Opportunity in Supervised Learning";
    fairlearn ``equalized_odds_difference`` with its default ``agg="worst_case"``)::

        max(max_a TPR_a - min_a TPR_a,  max_a FPR_a - min_a FPR_a)

    An undefined TPR or FPR (no true positives / negatives in a group) counts as 0, as in
    fairlearn (see the module docstring).

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> [(r.tpr, r.fpr) for r in rates]
    [(1.0, 0.5), (0.5, 0.0)]
    >>> equalized_odds_difference(rates)
    0.5
    """
    tpr_diff = _difference("rates", [_fairlearn_rate(r.tpr) for r in rates])
    fpr_diff = _difference("rates", [_fairlearn_rate(r.fpr) for r in rates])
    return max(tpr_diff, fpr_diff)


def equalized_odds_ratio(rates: Sequence[GroupRates]) -> float:
    """Return the smaller of the TPR ratio and the FPR ratio over the groups.

    Why: the ratio form of equalized odds (1 means it holds), for a threshold such as the
    four-fifths rule on error rates.

    Formula (Hardt et al. 2016; fairlearn ``equalized_odds_ratio``, ``agg="worst_case"``)::

        min(min_a TPR_a / max_a TPR_a,  min_a FPR_a / max_a FPR_a)

    Undefined TPR/FPR count as 0 (see the module docstring). When a ratio is ``0 / 0``
    fairlearn's ``min()`` over the pair ``[tpr_ratio, fpr_ratio]`` keeps a NaN TPR ratio
    (NaN is never less than anything) and passes over a NaN FPR ratio; that is reproduced:
    NaN when every TPR is 0, the TPR ratio when only every FPR is 0.

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> equalized_odds_ratio(rates)             # min(0.5 / 1.0, 0.0 / 0.5)
    0.0
    >>> y_true, g = np.array([1, 1, 0, 0, 1, 1, 0, 0]), pd.DataFrame({"g": list("aaaabbbb")})
    >>> equalized_odds_ratio(group_rates(y_true, np.array([1, 0, 0, 0, 1, 1, 0, 0]), g))  # FPR 0/0
    0.5
    >>> equalized_odds_ratio(group_rates(y_true, np.array([0, 0, 1, 0, 0, 0, 1, 1]), g))  # TPR 0/0
    nan
    """
    tpr_ratio = _ratio("rates", [_fairlearn_rate(r.tpr) for r in rates])
    fpr_ratio = _ratio("rates", [_fairlearn_rate(r.fpr) for r in rates])
    return min(tpr_ratio, fpr_ratio)


def equal_opportunity_difference(rates: Sequence[GroupRates]) -> float:
    """Return the largest minus the smallest true positive rate over the groups.

    Why: equal opportunity is the half of equalized odds that concerns the people who
    deserve the positive outcome: each group's qualified members should receive it at the
    same rate; 0 means it holds.

    Formula (Hardt et al. 2016, "equal opportunity"; fairlearn
    ``equal_opportunity_difference``, new in fairlearn 0.11)::

        max_a P[h(X)=1 | A=a, Y=1] - min_a P[h(X)=1 | A=a, Y=1]

    A group with no true positives has TPR 0 here, as in fairlearn (see the module docstring).

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> equal_opportunity_difference(rates)
    0.5
    """
    return _difference("rates", [_fairlearn_rate(r.tpr) for r in rates])


def equal_opportunity_ratio(rates: Sequence[GroupRates]) -> float:
    """Return the smallest over the largest true positive rate over the groups.

    Why: the ratio form of equal opportunity (1 means it holds).

    Formula (fairlearn ``equal_opportunity_ratio``, new in fairlearn 0.11)::

        min_a P[h(X)=1 | A=a, Y=1] / max_a P[h(X)=1 | A=a, Y=1]

    NaN when every TPR is 0; a group with no true positives has TPR 0 here, as in fairlearn.

    >>> rates = group_rates(np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aaaabbbb")}))
    >>> equal_opportunity_ratio(rates)
    0.5
    """
    return _ratio("rates", [_fairlearn_rate(r.tpr) for r in rates])


def _binary(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name}: must hold 0/1, got dtype {array.dtype}")
    as_float = array.astype(np.float64)
    if not np.all((as_float == 0.0) | (as_float == 1.0)):
        bad = as_float[(as_float != 0.0) & (as_float != 1.0)][0]
        raise ValueError(f"{name}: must hold 0/1 only, got {bad!r}")
    return as_float


def _encode(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of one sensitive column and the label of each code, missing values last.

    Codes follow the column's natural order when its values can be sorted, else their
    labels' order; values with the same label share a code.
    """
    try:
        codes, uniques = pd.factorize(column, sort=True)
        labels = np.array([str(u) for u in uniques], dtype=object)
    except TypeError:  # values of types that do not compare (e.g. 1 and "a")
        codes, uniques = pd.factorize(column, sort=False)
        labels = np.array([str(u) for u in uniques], dtype=object)
        order = np.argsort(labels, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        codes = np.where(codes < 0, codes, rank[np.maximum(codes, 0)])
        labels = labels[order]
    if labels.shape[0] == 0:  # every value is missing: one group
        return np.zeros(len(column), dtype=np.int64), np.array([MISSING_LABEL], dtype=object)
    # Merge codes whose labels coincide; the first (smallest) code of a label keeps the order.
    label_codes, distinct = pd.factorize(labels)
    out_labels = np.asarray(distinct, dtype=object)
    missing = np.flatnonzero(out_labels == MISSING_LABEL)
    if missing.shape[0] == 0:  # missing values sort last
        missing = np.array([out_labels.shape[0]])
        out_labels = np.append(out_labels, MISSING_LABEL)
    codes = np.asarray(codes, dtype=np.int64)
    codes = np.where(codes < 0, missing[0], np.asarray(label_codes, dtype=np.int64)[np.maximum(codes, 0)])
    return codes, out_labels


def _share(part: np.integer | int, whole: np.integer | int) -> float:
    return float(part) / float(whole) if whole else math.nan


def _fairlearn_rate(rate: float) -> float:
    # sklearn's confusion_matrix(normalize="true") turns 0/0 into 0 (nan_to_num).
    return 0.0 if math.isnan(rate) else rate


def _difference(name: str, values: list[float]) -> float:
    if not values:
        raise ValueError(f"{name}: must hold at least one group")
    return max(values) - min(values)


def _ratio(name: str, values: list[float]) -> float:
    if not values:
        raise ValueError(f"{name}: must hold at least one group")
    top = max(values)
    return min(values) / top if top != 0.0 else math.nan

