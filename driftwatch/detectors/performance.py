"""Model performance on the labelled rows of a window, compared with the reference.

Each metric is computed on the current window's labelled rows and on the reference's, and the
current value is judged by one of three rules (per metric, ``rules.<metric>``):

* ``min`` / ``max`` — an absolute floor (higher-is-better metrics) or ceiling (lower-is-better);
* ``max_drop`` — the current value is worse than the reference value by more than this, in the
  metric's own units (accuracy 0.91 → 0.85 is a drop of 0.06);
* neither (the default, ``auto``) — the reference metric is bootstrapped over ``bootstrap``
  resamples the size of the current window; the current value alerts when it falls outside the
  central ``interval`` (0.99) on the worse side. An improvement never pages anyone. The interval
  goes into ``details`` so a report can draw it.

Rows without a label are counted (``label_coverage``), never dropped silently; labels the
reference never had are a ``new_label_share`` warning. For binary classifiers with scores, the
``estimated_*`` metrics need no labels at all: the scores are calibrated on the reference
(isotonic by default) and the expected confusion matrix of the current window gives estimated
accuracy, precision, recall, F1 and ROC AUC. For regression models, ``estimated_mae`` and
``estimated_rmse`` come from models of the error fitted on the reference (direct loss
estimation, ``estimation.loss``). Both estimates are blind to concept drift: if the
relationship between inputs and labels changes while the inputs look the same, they stay put.

A metric that alerts, realised or estimated, carries ``details.causes``: the feature ranges where
the rows' errors (for an estimate, the errors it expects) grew most (``root_cause``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataError
from ..joint import encode
from ..model import Finding, Schema
from ..outcomes import Outcomes, check_scores, class_probabilities, label_keys, outcomes_of
from ..profiling import Profile
from ..values import numeric_values
from .bootstrap import Bootstrap
from .current import CurrentData
from .estimation import estimate_binary, fit_isotonic, fit_platt
from .estimation.loss import LossModels, fit_loss_models, loss_inputs
from .estimation.multiclass import calibrate_classes, estimate_multiclass
from .fitted import per_profile
from .metric_rules import MetricRule, judge
from .metrics import METRICS, Labels, Metric, metrics_for
from .options import nested_tables
from .root_cause import Expected, with_causes, with_expected_causes

ESTIMATED = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: A regression's label-free estimates (direct loss estimation, ``estimation.loss``).
LOSS_ESTIMATED = ("mae", "rmse")
#: A multiclass model's label-free estimates (from ``schema.class_scores``, ``estimation.multiclass``).
CLASS_ESTIMATED = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
                   "recall_weighted", "f1_weighted")
CALIBRATIONS = ("isotonic", "platt")


def positive_class(classes: tuple[str, ...], configured: str | None) -> str:
    """The positive class: as configured, else "1" / "true" when the labels are 0/1 or booleans,
    else the last class in sorted order.

    >>> positive_class(("0", "1"), None), positive_class(("false", "true"), None), positive_class(("a", "b"), "a")
    ('1', 'true', 'a')
    """
    if configured is not None:
        return configured
    for candidate in ("1", "true"):
        if candidate in classes:
            return candidate
    if not classes:
        raise DataError("no class labels in the reference, so there is no positive class (set positive_class)")
    return classes[-1]


@dataclass(frozen=True)
class PerformanceDetector:
    """Performance metrics and label-free estimates (``type = "performance"``).

    >>> PerformanceDetector(interval=1.5)
    Traceback (most recent call last):
    ...
    ValueError: interval: must be in (0, 1), got 1.5
    """

    name: ClassVar[str] = "performance"

    metrics: tuple[str, ...] = ()
    positive_class: str | None = None
    decision_threshold: float = 0.5
    interval: float = 0.99
    bootstrap: int = 200
    seed: int = 0
    min_rows: int = 30
    estimate: bool = True
    calibration: str = "isotonic"
    rules: Mapping[str, MetricRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for name in self.metrics:
            if name not in METRICS:
                raise ValueError(f"metrics: unknown metric {name!r} (valid: {', '.join(sorted(METRICS))})")
        if not isinstance(self.decision_threshold, (int, float)) or not 0 <= self.decision_threshold <= 1:
            raise ValueError(f"decision_threshold: must be in [0, 1], got {self.decision_threshold!r}")
        if not isinstance(self.interval, (int, float)) or not 0 < self.interval < 1:
            raise ValueError(f"interval: must be in (0, 1), got {self.interval!r}")
        for key, low in (("bootstrap", 10), ("min_rows", 1), ("seed", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key}: must be an integer >= {low}, got {value!r}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration: must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}")
        if not isinstance(self.estimate, bool):
            raise ValueError(f"estimate: must be true or false, got {self.estimate!r}")
        if self.positive_class is not None and not isinstance(self.positive_class, str):
            object.__setattr__(self, "positive_class", str(self.positive_class))
        rules = nested_tables(self.rules, MetricRule, "rules")
        for metric in rules:
            if metric not in METRICS:
                raise ValueError(f"rules.{metric}: unknown metric (valid: {', '.join(sorted(METRICS))})")
        object.__setattr__(self, "rules", rules)

    def required_columns(self, schema: Schema) -> set[str]:
        named = (schema.target, schema.prediction, schema.score, schema.id, *(c for _, c in schema.class_scores))
        # the root cause of a drop, and a regression's loss estimate, read the features
        return {c for c in named if c is not None} | set(schema.features)

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        segments = current.segments_tested  # one of S segments tested together: a wider interval
        chosen = self if segments == 1 else replace(self, interval=1 - (1 - self.interval) / segments)
        return chosen._run(reference, current, schema)

    def _run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        ref = reference.outcomes
        if ref is None or ref.y_true.size == 0:
            reason = (f"the reference has no labelled rows (schema.target = {schema.target!r})"
                      if schema.target else "the schema names no target column")
            return [Finding("", "performance", None, "error", details={"error": reason})]
        try:
            cur = outcomes_of(current.frame, schema, task=ref.task, profiles=reference.columns)
            scored = self._scores(current, schema) if ref.task == "binary" else None
        except DataError as exc:
            return [Finding("", "performance", None, "error", details={"error": str(exc)})]
        due_at = current.context.get("labels_due_at")
        findings = [self._coverage(cur, current.n_rows, due_at)]
        labelled = cur if cur is not None and due_at is None else None
        pos = positive_class(ref.classes, self.positive_class) if ref.task != "regression" else None
        if labelled is not None and ref.task != "regression":
            findings.append(self._new_labels(ref, labelled))
        ref_labels = self._labels(ref, pos)
        cur_labels = self._labels(labelled, pos, classes=ref_labels.classes) if labelled is not None else None
        chosen = self._chosen(ref)
        resampled = Bootstrap(ref_labels, self.bootstrap, self.seed)
        realised = [self._judge(metric, metric.name, ref_labels, cur_labels,
                                None if cur_labels is None else cur_labels.y_true.size, resampled,
                                reason=_why_missing(labelled, due_at)) for metric in chosen]
        if labelled is not None and cur_labels is not None and any(f.status == "alert" for f in realised):
            realised = with_causes(realised, reference, ref, ref_labels, labelled, cur_labels)
        findings.extend(realised)
        estimated: tuple[list[Finding], Expected | None] = ([], None)
        if self.estimate and ref.task == "binary" and ref.score is not None and scored is not None:
            estimated = self._estimates(ref_labels, scored, resampled)
        if self.estimate and ref.task == "multiclass" and ref.class_scores is not None:
            estimated = self._class_estimates(ref, current.frame, schema, ref_labels, resampled)
        if self.estimate and ref.task == "regression" and ref.features is not None and schema.prediction:
            estimated = self._loss_estimates(reference, current.frame, schema.prediction, ref_labels, resampled)
        found, expected = estimated
        if expected is not None and any(f.status == "alert" for f in found):
            found = with_expected_causes(found, reference, ref_labels, current.frame, *expected, seed=self.seed)
        return findings + found

    def _class_estimates(self, ref: Outcomes, frame: pd.DataFrame, schema: Schema, labels: Labels,
                         resampled: Bootstrap) -> tuple[list[Finding], Expected | None]:
        """``estimated_accuracy`` and the macro / weighted ``estimated_precision``, ``_recall``,
        ``_f1`` of a multiclass window from its class probabilities (``estimation.multiclass``),
        every row with them, labelled or not; the class predicted is ``schema.prediction``'s
        (rows predicting a class without a probability column are left out) or the likeliest."""
        names = [f"estimated_{m}" for m in CLASS_ESTIMATED]
        absent = [c for _, c in schema.class_scores if c not in frame.columns]
        if absent:
            error = f"column(s) {', '.join(map(repr, absent))} missing from the current data"
            return [Finding("", name, None, "error", details={"error": error}) for name in names], None
        assert ref.class_scores is not None
        try:
            probabilities = class_probabilities(frame, schema)
        except DataError as exc:
            return [Finding("", name, None, "error", details={"error": str(exc)}) for name in names], None
        usable = ~np.isnan(probabilities).any(axis=1)
        predicted = probabilities.argmax(axis=1) if usable.any() else np.zeros(len(frame), dtype=np.int64)
        if schema.prediction is not None and schema.prediction in frame.columns:
            index = {label: j for j, label in enumerate(ref.score_classes)}
            predicted = np.array([index.get(label, -1) for label in label_keys(frame[schema.prediction])])
            usable &= predicted >= 0
        n = int(usable.sum())
        if n < self.min_rows:
            return [Finding("", name, None, "insufficient_data",
                            details={"reason": f"fewer than min_rows={self.min_rows} rows with class probabilities"})
                    for name in names], None
        calibrated = calibrate_classes(ref.class_scores, ref.y_true, ref.score_classes, probabilities[usable])
        estimate = estimate_multiclass(calibrated, predicted[usable])
        expected = (np.flatnonzero(usable), 1 - calibrated[np.arange(n), predicted[usable]])
        out = []
        for metric, name in zip(CLASS_ESTIMATED, names):
            finding = self._judge(METRICS[metric], name, labels, None, n, resampled, reason="", value=estimate[metric])
            out.append(Finding(finding.feature, finding.metric, finding.value, finding.status,
                               threshold=finding.threshold, details={**finding.details, "method": "cbpe"}))
        return out, expected

    def _loss_estimates(self, reference: Profile, frame: pd.DataFrame, prediction: str, ref: Labels,
                        resampled: Bootstrap) -> tuple[list[Finding], Expected | None]:
        """``estimated_mae`` and ``estimated_rmse`` of every row with a prediction, labelled or
        not (``estimation.loss``), judged like the realised metrics."""
        outcomes = reference.outcomes
        assert outcomes is not None
        columns = outcomes.feature_columns
        names = [f"estimated_{m}" for m in LOSS_ESTIMATED]
        absent = [c for c in (*columns, prediction) if c not in frame.columns]
        if absent:
            error = f"column(s) {', '.join(map(repr, absent))} missing from the current data"
            return [Finding("", name, None, "error", details={"error": error}) for name in names], None
        try:
            predicted = numeric_values(frame[prediction], prediction)
            usable = np.isfinite(predicted)
            if int(usable.sum()) < self.min_rows:
                return [Finding("", name, None, "insufficient_data",
                                details={"reason": f"fewer than min_rows={self.min_rows} rows with a prediction"})
                        for name in names], None
            categorical = [reference.columns[c].kind != "numeric" for c in columns]
            inputs = loss_inputs(encode(frame.loc[usable], columns, reference.columns), predicted[usable], categorical)
            models = _loss_models(reference, self.seed)
            estimate = models.estimate(inputs)
        except (DataError, ValueError) as exc:
            return [Finding("", name, None, "error", details={"error": str(exc)}) for name in names], None
        expected = (np.flatnonzero(usable), models.absolute_errors(inputs))
        out = []
        for metric, name in zip(LOSS_ESTIMATED, names):
            finding = self._judge(METRICS[metric], name, ref, None, int(usable.sum()), resampled, reason="",
                                  value=estimate[metric])
            out.append(Finding(finding.feature, finding.metric, finding.value, finding.status,
                               threshold=finding.threshold, details={**finding.details, "method": "dle"}))
        return out, expected

    # -- pieces ------------------------------------------------------------------------------
    def _scores(self, current: CurrentData, schema: Schema) -> tuple[np.ndarray, np.ndarray] | None:
        """The window's scores and the positions of their rows (rows without one left out)."""
        if schema.score is None or schema.score not in current.frame.columns:
            return None
        values = numeric_values(current.frame[schema.score], schema.score)
        rows = np.flatnonzero(~np.isnan(values))
        scores: np.ndarray = values[rows]
        check_scores(scores, f"column {schema.score!r}")
        return scores, rows

    def _coverage(self, cur: Outcomes | None, n_rows: int, due_at: str | None) -> Finding:
        labelled = cur.n_labelled if cur is not None else 0
        details: dict[str, Any] = {"rows": n_rows, "labelled": labelled}
        if due_at is not None:
            details["labels_due_at"] = due_at
        if n_rows == 0:
            return Finding("", "label_coverage", None, "insufficient_data", details=details)
        return Finding("", "label_coverage", labelled / n_rows, "ok", details=details)

    def _new_labels(self, ref: Outcomes, cur: Outcomes) -> Finding:
        """Share of labelled rows whose label or prediction the reference never had."""
        classes = set(ref.classes)  # a property that reads every label: once, not once a row
        # hashed look-ups: numpy's isin sorts a million object labels (0.8 s), pandas hashes them
        new_true = ~pd.Series(cur.y_true, dtype=object).isin(classes).to_numpy()
        new = new_true.copy()
        unknown = list(cur.y_true[new_true])
        if cur.y_pred is not None:
            new_pred = ~pd.Series(cur.y_pred, dtype=object).isin(classes).to_numpy()
            new |= new_pred
            unknown += list(cur.y_pred[new_pred])
        share = float(new.mean()) if new.size else 0.0
        return Finding("", "new_label_share", share, "warn" if unknown else "ok", threshold=0.0,
                       details={"labels": sorted(set(unknown))[:10], "reference_classes": list(ref.classes)})

    def _labels(self, outcomes: Outcomes, pos: str | None, *, classes: tuple[Any, ...] | None = None) -> Labels:
        y_pred = outcomes.y_pred
        if y_pred is None and outcomes.class_scores is not None:  # the likeliest class is the prediction
            y_pred = np.array(outcomes.score_classes, dtype=object)[outcomes.class_scores.argmax(axis=1)].astype(str)
        if y_pred is None and outcomes.score is not None and pos is not None:
            negatives = [c for c in (classes or outcomes.classes) if c != pos]
            negative = negatives[0] if negatives else f"not {pos}"
            y_pred = np.where(outcomes.score >= self.decision_threshold, pos, negative)
        return Labels(y_true=outcomes.y_true, y_pred=y_pred, score=outcomes.score,
                      classes=classes if classes is not None else outcomes.classes, pos_label=pos)

    def _chosen(self, ref: Outcomes) -> list[Metric]:
        predicts = ref.y_pred is not None or ref.score is not None or ref.class_scores is not None
        applicable = metrics_for(ref.task, predicts, ref.score is not None)
        if not self.metrics:
            return applicable
        return [m for m in applicable if m.name in self.metrics]

    def _judge(self, metric: Metric, name: str, ref: Labels, cur: Labels | None, n: int | None,
               resampled: Bootstrap, *, reason: str, value: float | None = None) -> Finding:
        return judge(metric, name, ref, cur, n, resampled, rule=self.rules.get(metric.name, MetricRule()),
                     min_rows=self.min_rows, confidence=self.interval, reason=reason, value=value)

    def _estimates(self, ref: Labels, scored: tuple[np.ndarray, np.ndarray],
                   resampled: Bootstrap) -> tuple[list[Finding], Expected | None]:
        scores, rows = scored
        fit = fit_isotonic if self.calibration == "isotonic" else fit_platt
        try:
            calibrator = fit(np.asarray(ref.score), ref.y_true01)
        except ValueError as exc:
            return [Finding("", "estimated_accuracy", None, "error", details={"error": str(exc)})], None
        if scores.size < self.min_rows:
            return [Finding("", f"estimated_{m}", None, "insufficient_data",
                            details={"reason": f"fewer than min_rows={self.min_rows} scored rows"})
                    for m in ESTIMATED], None
        calibrated = calibrator(scores)
        estimate = estimate_binary(calibrated, self.decision_threshold, score=scores)
        # a row predicted positive is wrong with the chance it is negative, and the other way round
        expected = (rows, np.where(scores >= self.decision_threshold, 1 - calibrated, calibrated))
        out = []
        for name in ESTIMATED:
            metric = METRICS[name]
            value = estimate[name]
            if not np.isfinite(value):
                out.append(Finding("", f"estimated_{name}", None, "insufficient_data",
                                   details={"reason": "undefined on this window (no predicted positives?)"}))
                continue
            finding = self._judge(metric, f"estimated_{name}", ref, None, int(scores.size), resampled,
                                  reason="", value=value)
            out.append(Finding(finding.feature, finding.metric, finding.value, finding.status,
                               threshold=finding.threshold,
                               details={**finding.details, "calibration": self.calibration}))
        return out, expected


@per_profile
def _loss_models(reference: Profile, seed: int) -> LossModels:
    """The loss regressors of a regression reference, fitted once per profile (``fitted.per_profile``)."""
    outcomes = reference.outcomes
    assert outcomes is not None and outcomes.features is not None and outcomes.feature_rows is not None
    assert outcomes.y_pred is not None
    rows = outcomes.feature_rows
    categorical = [reference.columns[c].kind != "numeric" for c in outcomes.feature_columns]
    inputs = loss_inputs(outcomes.features, outcomes.y_pred[rows], categorical)
    return fit_loss_models(inputs, outcomes.y_true[rows], outcomes.y_pred[rows], categorical, seed=seed)


def _why_missing(labelled: Outcomes | None, due_at: str | None) -> str:
    if due_at is not None:
        return f"labels are not due until {due_at}"
    if labelled is None:
        return "no label column in the current data"
    return ""
