"""The Metric records: names, tasks, needs, direction, and each compute against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from driftwatch.detectors.metrics import METRICS, TASKS, Labels, Metric, metrics_for
from driftwatch.detectors.metrics.regression import mape

NAMES = ["accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro",
         "precision_weighted", "recall_weighted", "f1_weighted", "roc_auc", "log_loss", "brier",
         "mae", "rmse", "mape", "r2"]
LOWER_IS_BETTER = {"log_loss", "brier", "mae", "rmse", "mape"}


def approx(x: float) -> object:
    return pytest.approx(x, rel=0, abs=1e-9)


def test_names_and_directions() -> None:
    assert list(METRICS) == NAMES
    assert all(name == m.name for name, m in METRICS.items())
    assert {n for n, m in METRICS.items() if not m.higher_is_better} == LOWER_IS_BETTER
    assert {n for n, m in METRICS.items() if m.needs == "score"} == {"roc_auc", "log_loss", "brier"}


@pytest.mark.parametrize(("task", "has_prediction", "has_score", "expected"), [
    ("binary", True, True, ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier"]),
    ("binary", True, False, ["accuracy", "precision", "recall", "f1"]),
    ("binary", False, True, ["roc_auc", "log_loss", "brier"]),
    ("binary", False, False, []),
    ("multiclass", True, True, ["accuracy", "precision_macro", "recall_macro", "f1_macro",
                                "precision_weighted", "recall_weighted", "f1_weighted"]),
    ("multiclass", False, True, []),
    ("regression", True, False, ["mae", "rmse", "mape", "r2"]),
    ("regression", False, True, []),
])
def test_metrics_for(task: str, has_prediction: bool, has_score: bool, expected: list[str]) -> None:
    assert [m.name for m in metrics_for(task, has_prediction, has_score)] == expected


def test_metrics_for_unknown_task() -> None:
    with pytest.raises(ValueError, match=r"task: must be one of \['binary', 'multiclass', 'regression'\]"):
        metrics_for("ranking", True, True)


def test_metric_record_checks_fields() -> None:
    with pytest.raises(ValueError, match="needs: must be 'prediction' or 'score'"):
        Metric("x", frozenset({"binary"}), "labels", True, lambda lab: 0.0)
    with pytest.raises(ValueError, match="tasks: must be a non-empty subset"):
        Metric("x", frozenset({"clustering"}), "score", True, lambda lab: 0.0)
    assert TASKS == {"binary", "multiclass", "regression"}


def _binary_labels(pos_label: object | None) -> Labels:
    rng = np.random.default_rng(11)
    n = 2000
    y_true = np.where(rng.random(n) < 0.2, "fraud", "ok")
    positive = "ok" if pos_label is None else pos_label
    score = np.clip(0.5 * (y_true == positive) + 0.6 * rng.random(n), 0, 1)
    y_pred = np.where(score >= 0.5, positive, "fraud" if positive == "ok" else "ok")
    return Labels(y_true, y_pred=y_pred, score=score, classes=("fraud", "ok"), pos_label=pos_label)


@pytest.mark.parametrize("pos_label", [None, "fraud"])
def test_binary_records_match_sklearn(pos_label: object | None) -> None:
    lab = _binary_labels(pos_label)
    pos = "ok" if pos_label is None else "fraud"  # default: classes[-1]
    assert lab.positive == pos
    y01 = lab.y_true == pos
    np.testing.assert_array_equal(lab.y_true01, y01)
    assert lab.y_pred is not None and lab.score is not None
    expected = {
        "accuracy": skm.accuracy_score(lab.y_true, lab.y_pred),
        "precision": skm.precision_score(lab.y_true, lab.y_pred, pos_label=pos, zero_division=0.0),
        "recall": skm.recall_score(lab.y_true, lab.y_pred, pos_label=pos, zero_division=0.0),
        "f1": skm.f1_score(lab.y_true, lab.y_pred, pos_label=pos, zero_division=0.0),
        "roc_auc": skm.roc_auc_score(y01, lab.score),
        "log_loss": skm.log_loss(y01, lab.score),
        "brier": skm.brier_score_loss(y01, lab.score),
    }
    got = {m.name: m.compute(lab) for m in metrics_for("binary", True, True)}
    assert got == {k: approx(v) for k, v in expected.items()}
    assert all(isinstance(v, float) for v in got.values())


def test_multiclass_records_match_sklearn() -> None:
    rng = np.random.default_rng(12)
    classes = (1, 2, 3, 4)
    y_true = rng.choice(classes, size=3000, p=[0.6, 0.25, 0.1, 0.05])
    y_pred = np.where(rng.random(3000) < 0.7, y_true, rng.choice(classes[:3], size=3000))  # 4 never predicted
    lab = Labels(y_true, y_pred=y_pred, classes=classes)
    got = {m.name: m.compute(lab) for m in metrics_for("multiclass", True, False)}
    expected = {"accuracy": skm.accuracy_score(y_true, y_pred)}
    for avg in ("macro", "weighted"):
        kw = {"labels": list(classes), "average": avg, "zero_division": 0.0}
        expected[f"precision_{avg}"] = skm.precision_score(y_true, y_pred, **kw)  # type: ignore[arg-type]
        expected[f"recall_{avg}"] = skm.recall_score(y_true, y_pred, **kw)  # type: ignore[arg-type]
        expected[f"f1_{avg}"] = skm.f1_score(y_true, y_pred, **kw)  # type: ignore[arg-type]
    assert got == {k: approx(v) for k, v in expected.items()}


def test_regression_records_match_sklearn() -> None:
    rng = np.random.default_rng(13)
    y = np.round(rng.exponential(3.0, 5000))  # about 1 in 7 targets is 0
    yhat = y + rng.normal(0, 1, 5000)
    lab = Labels(y, y_pred=yhat)
    got = {m.name: m.compute(lab) for m in metrics_for("regression", True, False)}
    keep = y != 0
    expected = {
        "mae": skm.mean_absolute_error(y, yhat),
        "rmse": skm.root_mean_squared_error(y, yhat),
        "mape": skm.mean_absolute_percentage_error(y[keep], yhat[keep]),
        "r2": skm.r2_score(y, yhat),
    }
    assert got == {k: approx(v) for k, v in expected.items()}
    # the record returns the value only; the count of excluded rows comes from mape itself
    assert mape(y, yhat) == (got["mape"], int((~keep).sum()))
    assert mape(y, yhat)[1] > 0


def test_labels_checks_shapes_and_missing_inputs() -> None:
    with pytest.raises(ValueError, match=r"y_pred: shape \(2,\) differs from y_true's \(3,\)"):
        Labels(np.zeros(3), y_pred=np.zeros(2))
    with pytest.raises(ValueError, match=r"score: shape \(4,\) differs"):
        Labels(np.zeros(3), score=np.zeros(4))
    with pytest.raises(ValueError, match="y_true: must be 1-D"):
        Labels(np.zeros((3, 1)))
    lab = Labels(np.array([0, 1]), classes=(0, 1))
    with pytest.raises(ValueError, match="y_pred: this metric needs predictions"):
        METRICS["accuracy"].compute(lab)
    with pytest.raises(ValueError, match="score: this metric needs scores"):
        METRICS["roc_auc"].compute(lab)
    with pytest.raises(ValueError, match="classes: empty"):
        Labels(np.array([0.5])).positive  # noqa: B018


def test_single_class_window_auc_raises_and_others_are_defined() -> None:
    lab = Labels(np.array(["ok"] * 4), y_pred=np.array(["ok", "ok", "fraud", "ok"]),
                 score=np.array([0.9, 0.8, 0.3, 0.7]), classes=("fraud", "ok"))
    with pytest.raises(ValueError, match="roc_auc: needs both classes in y_true"):
        METRICS["roc_auc"].compute(lab)
    assert METRICS["accuracy"].compute(lab) == 0.75
    assert METRICS["log_loss"].compute(lab) == approx(skm.log_loss(lab.y_true01, lab.score, labels=[False, True]))
    assert not math.isnan(METRICS["brier"].compute(lab))
