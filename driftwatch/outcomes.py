"""What the model said and what really happened: labels, predictions and scores, row-aligned.

Drift profiles summarise columns one at a time; performance needs rows kept together (the label
of a row next to its prediction and score), so the reference keeps a seeded random sample of
whole labelled rows (at most ``max_sample``), and the current window is read the same way.

Class labels are compared as normalised strings (the same rule as categories: ``True`` is
``"true"``, ``1.0`` is ``"1"``) so a label read as an integer from Parquet matches the same label
read as a float from a CSV with gaps. The task is ``regression`` when the schema says so or the
target is a float column with non-integer values; otherwise ``binary`` (two classes or fewer) or
``multiclass``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import DataError
from .joint import encode
from .model import Schema
from .values import category_key, numeric_values

if TYPE_CHECKING:
    from .profiling import ColumnProfile

TASKS = ("binary", "multiclass", "regression")
#: Labelled reference rows whose features are kept, for a regression's loss estimate and for
#: the root cause of a performance drop.
FEATURE_ROWS = 20_000


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Row-aligned labels, predictions and scores of the rows that have a label.

    ``n_rows`` counts every row read, ``n_labelled`` those with a label (before sampling).
    ``y_true``/``y_pred`` hold strings for classification and floats for regression.
    """

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray | None
    score: np.ndarray | None
    n_rows: int
    n_labelled: int
    #: The features (``joint.encode``d) of up to ``FEATURE_ROWS`` of these rows, at positions
    #: ``feature_rows`` (the reference's only): for a regression's label-free loss estimate
    #: (``estimation.loss``) and the root cause of a performance drop (``root_cause``).
    features: np.ndarray | None = None
    feature_rows: np.ndarray | None = None
    feature_columns: tuple[str, ...] = ()
    #: Multiclass with ``schema.class_scores``: each row's probability of each of ``score_classes``.
    class_scores: np.ndarray | None = None
    score_classes: tuple[str, ...] = ()

    @property
    def classes(self) -> tuple[str, ...]:
        """Every class label seen in the labels (and predictions), sorted."""
        if self.task == "regression":
            return ()
        seen = set(self.y_true.tolist())
        if self.y_pred is not None:
            seen |= set(self.y_pred.tolist())
        return tuple(sorted(seen))


def label_keys(series: pd.Series) -> np.ndarray:
    """Class labels as normalised strings, ``None`` where missing (vectorised over uniques).

    >>> label_keys(pd.Series([1.0, None, 0.0])).tolist(), label_keys(pd.Series([True, False])).tolist()
    (['1', None, '0'], ['true', 'false'])
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = np.array([category_key(u) for u in uniques] + [None], dtype=object)
    picked: np.ndarray = keys[codes]  # code -1 picks the trailing None
    return picked


def infer_task(target: pd.Series, schema: Schema) -> str:
    """``schema.task`` when set, else regression for non-integer floats, else by class count.

    >>> infer_task(pd.Series([0.5, 1.25]), Schema()), infer_task(pd.Series([1, 0, 1]), Schema())
    ('regression', 'binary')
    """
    if schema.task in TASKS:
        return schema.task
    values = target.dropna()
    if schema.task != "classification" and pd.api.types.is_float_dtype(values.dtype) \
            and not np.all(np.mod(values.to_numpy(), 1) == 0):
        return "regression"
    return "binary" if len(set(label_keys(values).tolist())) <= 2 else "multiclass"


#: How far a row's class probabilities may sum from 1 (rounded model outputs, float sums).
SUM_TOLERANCE = 0.01


def class_probabilities(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """``frame``'s ``schema.class_scores`` columns as a rows × classes matrix of probabilities;
    a value outside [0, 1] or a row not summing to 1 (± ``SUM_TOLERANCE``) is a ``DataError``
    naming the columns (a row with a missing probability is ``NaN`` throughout)."""
    names = [column for _, column in schema.class_scores]
    matrix = np.column_stack([numeric_values(frame[c], c) for c in names]) if len(frame) else np.empty((0, len(names)))
    present = ~np.isnan(matrix).any(axis=1)
    shown = ", ".join(map(repr, names))
    check_scores(matrix[present].ravel(), f"class_scores columns {shown}")
    sums = matrix[present].sum(axis=1)
    off = np.abs(sums - 1) > SUM_TOLERANCE
    if off.any():
        raise DataError(f"class_scores columns {shown}: {int(off.sum())} row(s) whose probabilities do not sum to 1 "
                        f"(e.g. {float(sums[off][0]):.4g}); they must be one probability per class")
    matrix[~present] = np.nan
    return matrix


def check_scores(score: np.ndarray, where: str) -> None:
    """Scores are probabilities: a value outside [0, 1] is a ``DataError`` naming the column."""
    bad = (score < 0) | (score > 1)
    if np.any(bad):
        raise DataError(f"{where}: {int(bad.sum())} score value(s) outside [0, 1] "
                        f"(e.g. {float(score[bad][0])!r}); scores must be probabilities")


def outcomes_of(frame: pd.DataFrame, schema: Schema, *, task: str | None = None,
                max_sample: int | None = None, seed: int = 0,
                profiles: Mapping[str, ColumnProfile] | None = None) -> Outcomes | None:
    """The labelled rows of ``frame`` as ``Outcomes``; None when the schema names no target or the
    frame lacks it. ``task`` None infers it (see module docstring). ``profiles``: the reference's
    column profiles, given when building it; then the features of some of the rows are kept too."""
    if schema.target is None or schema.target not in frame.columns:
        return None
    target = frame[schema.target]
    task = task or infer_task(target, schema)
    regression = task == "regression"
    labelled = target.notna().to_numpy()
    usable = labelled.copy()  # a labelled row also needs the model's outputs the schema names
    for column in (schema.prediction, schema.score, *(c for _, c in schema.class_scores)):
        if column is not None and column in frame.columns:
            usable &= frame[column].notna().to_numpy()
    rows = np.flatnonzero(usable)
    if max_sample is not None and rows.size > max_sample:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_sample, replace=False))

    def pick(column: str | None, *, numeric: bool) -> np.ndarray | None:
        if column is None or column not in frame.columns:
            return None
        series = frame[column].iloc[rows]
        if numeric:
            return numeric_values(series, column)
        return label_keys(series)

    y_true = pick(schema.target, numeric=regression)
    if not regression:
        y_true = y_true.astype(str) if y_true is not None else None
        y_pred = pick(schema.prediction, numeric=False)
        y_pred = y_pred.astype(str) if y_pred is not None else None
        score = pick(schema.score, numeric=True)
        if score is not None:
            check_scores(score, f"column {schema.score!r}")
        found = Outcomes(task=task, y_true=y_true if y_true is not None else np.empty(0, dtype=str),
                         y_pred=y_pred, score=score, n_rows=int(len(frame)), n_labelled=int(labelled.sum()))
        if schema.class_scores and all(c in frame.columns for _, c in schema.class_scores):
            found = replace(found, class_scores=class_probabilities(frame.iloc[rows], schema),
                            score_classes=tuple(label for label, _ in schema.class_scores))
    else:
        found = Outcomes(task=task, y_true=y_true if y_true is not None else np.empty(0),
                         y_pred=pick(schema.prediction, numeric=True), score=None, n_rows=int(len(frame)),
                         n_labelled=int(labelled.sum()))
    columns = tuple(c for c in schema.features if c in frame.columns and profiles is not None and c in profiles)
    if profiles is None or not columns or rows.size == 0:
        return found
    kept = np.arange(rows.size)
    if rows.size > FEATURE_ROWS:
        kept = np.sort(np.random.default_rng(seed + 1).choice(rows.size, FEATURE_ROWS, replace=False))
    try:
        features = encode(frame.iloc[rows[kept]], columns, profiles)
    except DataError:  # text in a numeric feature: the drift and quality findings say so; the labels still count
        return found
    return replace(found, features=features, feature_rows=kept, feature_columns=columns)
