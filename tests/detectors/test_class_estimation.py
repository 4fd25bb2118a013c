"""Label-free estimates of a multiclass classifier from its class probabilities
(``schema.class_scores``, ``estimation.multiclass``).

With probabilities that are the true labels, the expected confusion matrix is the realised one:
accuracy and the macro / weighted precision, recall and F1 equal scikit-learn's
``classification_report`` to 1e-12. On seeded data whose labels follow the probabilities, the
estimates are within 0.02 of the realised metrics on 10k-row windows with no label in them;
probabilities that do not sum to 1 are an error that names the columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.metrics import classification_report

import driftwatch
from driftwatch.detectors import PerformanceDetector
from driftwatch.detectors.estimation.multiclass import estimate_multiclass
from driftwatch.model import Schema
from driftwatch.profiling import Profile

CLASSES = ["a", "b", "c"]
SCHEMA: dict[str, Any] = {"numeric": ["x"], "target": "y", "prediction": "pred",
                          "class_scores": {c: f"p_{c}" for c in CLASSES}}
ESTIMATED = ["accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted", "recall_weighted",
             "f1_weighted"]


def frame(n: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Labels drawn from the model's own probabilities (so they are calibrated); ``shift``
    moves ``x``, and with it the mix of classes and how sure the model is."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    p = softmax(np.column_stack([x, -x, np.full(n, 0.5)]) * 1.5 + rng.normal(0, 0.3, (n, 3)), axis=1)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    found = pd.DataFrame({"x": x, "y": np.array(CLASSES)[y], "pred": np.array(CLASSES)[p.argmax(axis=1)]})
    for j, c in enumerate(CLASSES):
        found[f"p_{c}"] = p[:, j]
    return found


@pytest.fixture(scope="module")
def reference() -> Profile:
    return Profile.from_bytes(driftwatch.profile(frame(20_000, 1), SCHEMA).to_bytes())  # survives the cache


def test_with_the_true_labels_as_probabilities_the_estimate_is_sklearns_report() -> None:
    rng = np.random.default_rng(7)
    truth, predicted = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    predicted[:200] = truth[:200]
    found = estimate_multiclass(np.eye(4)[truth], predicted)
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    assert found["accuracy"] == pytest.approx(report["accuracy"], abs=1e-12)
    for average in ("macro", "weighted"):
        for figure in ("precision", "recall", "f1"):
            assert found[f"{figure}_{average}"] == pytest.approx(report[f"{average} avg"][f"{figure}-score"
                                                                 if figure == "f1" else figure], abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, 1.5])
def test_the_estimates_are_within_two_hundredths_of_the_realised_metrics_without_labels(
        reference: Profile, shift: float) -> None:
    window = frame(10_000, 2, shift=shift)
    realised = {r.metric: r for r in driftwatch.check(reference, window, detectors=[PerformanceDetector()])}
    estimated = {r.metric: r for r in driftwatch.check(reference, window.drop(columns="y"),
                                                       detectors=[PerformanceDetector()])}
    for metric in ESTIMATED:
        found = estimated[f"estimated_{metric}"]
        assert found.value == pytest.approx(realised[metric].value, abs=0.02), metric
        assert found.details["method"] == "cbpe" and found.status == realised[metric].status, metric
    assert realised["recall_macro"].status == ("alert" if shift else "ok")  # the shift does cost recall


@pytest.mark.parametrize("case, says", [
    ("off by 0.1", "class_scores columns 'p_a', 'p_b', 'p_c': 1 row(s) whose probabilities do not sum to 1 "
                   "(e.g. 1.1); they must be one probability per class"),
    ("missing column", "column(s) 'p_c' missing from the current data"),
])
def test_bad_class_probabilities_are_an_error_that_names_the_columns(reference: Profile, case: str,
                                                                     says: str) -> None:
    window = frame(300, 3).drop(columns="y")
    if case == "off by 0.1":
        window.loc[window.index[5], "p_a"] += 0.1
    else:
        window = window.drop(columns="p_c")
    found = {r.metric: r for r in driftwatch.check(reference, window, detectors=[PerformanceDetector()])}
    for metric in ESTIMATED:
        assert (found[f"estimated_{metric}"].status, found[f"estimated_{metric}"].details["error"]) == ("error", says)


@pytest.mark.parametrize("value, message", [
    ({"class_scores": {"a": "p_a", "b": "p_b"}, "score": "s"},
     "class_scores: set it or score (a binary model's one probability), not both"),
    ({"class_scores": {"a": "p_a"}}, "class_scores: a multiclass model has a probability column for each of at least "
                                     "two classes"),
    ({"class_scores": ["p_a", "p_b"]}, "class_scores: must be a table of class label = probability column, "
                                       "got ['p_a', 'p_b']"),
])
def test_class_scores_are_checked(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Schema.from_value(value)
    assert str(raised.value) == message
