"""Multivariate drift as how well a classifier tells the window's rows from the reference's.

If the window's rows come from the reference's distribution, no classifier does better than a
coin: its ROC AUC on rows it was not trained on is 0.5 however the columns move together. A
gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``: it takes
missing values and categories as they are, and learns interactions, which a change in how
columns move together is) is trained on up to ``max_rows`` rows a side, seeded, and scored
by ``folds``-fold cross-validation: the figure is the mean of the folds' AUCs.

Each fold's AUC is a Mann–Whitney statistic of its held-out rows, whose standard deviation
with no difference is ``√((n₀ + n₁ + 1) / (12 n₀ n₁))``; the mean of ``k`` folds has that
over ``√k``. The p-value of the excess over 0.5 is one-sided normal, so the AUC that alerts
falls as the sample grows, and is never below ``0.5 + threshold`` (the practical minimum).

Details name the columns the classifier leaned on most: the drop of the first fold's held-out
AUC when one column is shuffled (permutation importance), so the report says *what* moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["CATEGORY_CAP", "SHALLOW", "classifier_test", "model_inputs"]

#: Category codes the classifier keeps apart (``HistGradientBoostingClassifier`` takes fewer
#: than 255 per column); rarer categories, and those outside the reference's kept ones, share one.
CATEGORY_CAP = 250


#: Small, shallow trees: the classifier has to find a difference, not model it finely, and deep
#: ones learn the noise of a few thousand rows (a 0.8-sd shift at 400 rows a side: held-out AUC
#: 0.62 with scikit-learn's defaults, 0.69 with these; the best any classifier can do is 0.71).
#: Depth 3 still learns how two columns move together.
SHALLOW: dict[str, int] = {"max_iter": 50, "max_depth": 3, "min_samples_leaf": 40}


def model_inputs(encoded: np.ndarray, categorical: Sequence[bool]) -> np.ndarray:
    """``joint.encode``'d rows as the classifier takes them: numbers as they are, category codes
    capped (``CATEGORY_CAP``, the ``OTHER`` code among the capped), missing as ``NaN``."""
    inputs = encoded.copy()
    for j, is_category in enumerate(categorical):
        if is_category:
            codes = inputs[:, j]
            present = ~np.isnan(codes)
            codes[present] = np.where((codes[present] < 0) | (codes[present] >= CATEGORY_CAP), CATEGORY_CAP,
                                      codes[present])
    return inputs


def _rows(matrix: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    if matrix.shape[0] <= most:
        return matrix
    return matrix[np.sort(rng.choice(matrix.shape[0], most, replace=False))]


def classifier_test(reference: np.ndarray, window: np.ndarray, categorical: Sequence[bool], columns: Sequence[str],
                    *, alpha: float, threshold: float, max_rows: int, folds: int, seed: int) -> dict[str, object]:
    """The cross-validated AUC of telling ``window`` rows from ``reference`` rows (both from
    ``model_inputs``), its p-value of "no better than chance", the AUC that alerts at this
    size, and the columns it leaned on most."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    ref, cur = _rows(reference, max_rows, rng), _rows(window, max_rows, rng)
    features = np.vstack([ref, cur])
    labels = np.concatenate([np.zeros(ref.shape[0], dtype=np.int64), np.ones(cur.shape[0], dtype=np.int64)])
    mask = np.asarray(categorical, dtype=bool)
    aucs, variances = [], []
    moved: list[dict[str, float | str]] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (train, held) in enumerate(splitter.split(features, labels)):
        model = HistGradientBoostingClassifier(categorical_features=mask if mask.any() else None,
                                               early_stopping=False, random_state=seed, **SHALLOW)
        model.fit(features[train], labels[train])
        scores = model.predict_proba(features[held])[:, 1]
        aucs.append(float(roc_auc_score(labels[held], scores)))
        n1 = int(labels[held].sum())
        n0 = int(held.size - n1)
        variances.append((n0 + n1 + 1) / (12 * n0 * n1))
        if k == 0:
            found = permutation_importance(model, features[held], labels[held], scoring="roc_auc", n_repeats=3,
                                           random_state=seed)
            order = np.argsort(-found.importances_mean, kind="stable")
            moved = [{"column": columns[j], "auc_drop": float(found.importances_mean[j])}
                     for j in order[:5] if found.importances_mean[j] > 0]
    auc = float(np.mean(aucs))
    spread = math.sqrt(float(np.mean(variances)) / len(aucs))
    return {"value": auc, "p_value": float(stats.norm.sf((auc - 0.5) / spread)),
            "alerts_at": 0.5 + max(threshold, float(stats.norm.isf(alpha)) * spread),
            "fold_aucs": aucs, "rows_reference": int(ref.shape[0]), "rows_current": int(cur.shape[0]),
            "moved": moved}
