"""``type = "multivariate"``: drift in how columns move together, by PCA reconstruction error
and by a domain classifier.

The reconstruction is scikit-learn's PCA on the same standardised matrix (to 1e-9), its
encoding is checked by hand; a correlation flip (ρ 0.8 → −0.8, marginals unchanged) is flagged
by both methods while every univariate test stays ok; unchanged windows of 1k and 100k rows are
not; bad input ends in one finding that says what is wrong.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

import driftwatch
from driftwatch.detectors import CurrentData, DriftDetector, MultivariateDetector, joint_rows_wanted
from driftwatch.detectors.domain_classifier import SHALLOW, classifier_test, model_inputs
from driftwatch.detectors.reconstruction import fit, split
from driftwatch.joint import OTHER, encode
from driftwatch.model import Schema
from driftwatch.profiling import Profile, profile

SCHEMA = Schema(numeric=("a", "b", "c"), categorical=("k",))
CLASSIFIER = MultivariateDetector(method="classifier", max_rows=1500)


def rows(n: int, rho: float, seed: int) -> pd.DataFrame:
    """``a`` and ``b`` standard normal with correlation ``rho``; ``c`` normal, ``k`` three levels, some missing."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"a": z[:, 0], "b": rho * z[:, 0] + math.sqrt(1 - rho * rho) * z[:, 1],
                          "c": rng.normal(5.0, 2.0, n), "k": rng.choice(["p", "q", "r"], n, p=[0.5, 0.3, 0.2])})
    frame.loc[rng.random(n) < 0.02, "c"] = np.nan
    return frame


@pytest.fixture(scope="module")
def reference() -> Profile:
    return profile(rows(20_000, 0.8, 1), SCHEMA, joint_rows=joint_rows_wanted([MultivariateDetector()]))


def test_the_reconstruction_is_scikit_learns_pca_on_the_same_standardised_matrix(reference: Profile) -> None:
    assert reference.joint is not None and reference.joint.values.shape == (20_000, 4)
    fitted = fit(reference, reference.joint, ("a", "b", "c", "k"), 0.65, 0)
    fitting, calibrating = split(20_000, 0)
    encoded = reference.joint.values
    z = fitted.standardised(encoded[fitting])
    pca = PCA(n_components=0.65, svd_solver="full").fit(z)
    assert fitted.components.shape[0] == pca.n_components_
    assert fitted.explained == pytest.approx(float(pca.explained_variance_ratio_.sum()), abs=1e-12)
    for part in (fitting, calibrating):
        rows_z = fitted.standardised(encoded[part])
        np.testing.assert_allclose(fitted.rebuilt(rows_z), pca.inverse_transform(pca.transform(rows_z)), rtol=0,
                                   atol=1e-9)
    # by hand: a category is its reference share, a missing number the fitting rows' mean, then z-scores
    raw = encoded[fitting]
    share = {0.0: reference.columns["k"].counts[0] / 20_000, 1.0: reference.columns["k"].counts[1] / 20_000}
    k = np.array([share.get(v, np.nan) for v in raw[:, 3]])
    known = ~np.isnan(k)
    c = raw[:, 2]
    filled = np.where(np.isnan(c), np.nanmean(c), c)
    np.testing.assert_allclose(z[:, 2], (filled - filled.mean()) / filled.std(), atol=1e-12)
    np.testing.assert_allclose(fitted.standardised(raw)[known, 3] * fitted.scale_sd[3] + fitted.scale_mean[3],
                               k[known], atol=1e-12)


def test_rows_are_encoded_against_the_reference_categories(reference: Profile) -> None:
    window = pd.DataFrame({"a": [1.0, np.inf], "b": [None, 2.0], "c": [3.0, 4.0], "k": ["q", "new"]})
    encoded = encode(window, ["a", "b", "c", "k"], reference.columns)
    q = list(reference.columns["k"].categories).index("q")
    assert np.array_equal(encoded, [[1.0, np.nan, 3.0, q], [np.nan, 2.0, 4.0, OTHER]], equal_nan=True)


def test_a_correlation_flip_is_flagged_by_both_methods_while_every_univariate_test_stays_ok(
        reference: Profile) -> None:
    flipped = rows(5_000, -0.8, 2)
    results = driftwatch.check(reference, flipped, detectors=[DriftDetector(), MultivariateDetector(), CLASSIFIER])
    univariate = {r.feature: r.status for r in results if r.detector == "drift"}
    assert univariate == {"a": "ok", "b": "ok", "c": "ok", "k": "ok", "": "ok"}
    found = {r.metric: r for r in results if r.detector == "multivariate"}
    assert {m: r.status for m, r in found.items()} == {"reconstruction_error": "alert", "domain_classifier_auc": "alert"}
    assert {m["column"] for m in found["reconstruction_error"].details["moved"][:2]} == {"a", "b"}
    assert {m["column"] for m in found["domain_classifier_auc"].details["moved"][:2]} == {"a", "b"}
    assert found["domain_classifier_auc"].value > 0.8 and found["reconstruction_error"].details["increase"] > 0.2


@pytest.mark.parametrize("n", [1_000, 100_000])
def test_an_unchanged_window_is_quiet_at_any_size(reference: Profile, n: int) -> None:
    same = rows(n, 0.8, 3)
    found = {r.metric: r for r in driftwatch.check(reference, same, detectors=[MultivariateDetector(), CLASSIFIER])}
    assert {m: r.status for m, r in found.items()} == {"reconstruction_error": "ok", "domain_classifier_auc": "ok"}
    error = found["reconstruction_error"]
    # the bound narrows with the window: sd·√(1/n + 1/m) above the reference mean, never under 2 %
    details = error.details
    spread = details["reference_sd"] * math.sqrt(1 / n + 1 / details["calibration_rows"])
    assert error.threshold == pytest.approx(max(details["reference_mean"] * 1.02,
                                                details["reference_mean"] + 2.3263478740408408 * spread))


def test_the_classifier_auc_is_the_mean_of_its_folds_roc_auc() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=(600, 2)), rng.normal(size=(600, 2)) + [0.0, 0.8]
    found = classifier_test(model_inputs(ref, [False, False]), model_inputs(cur, [False, False]), [False, False],
                            ["x", "y"], alpha=0.01, threshold=0.05, max_rows=10_000, folds=3, seed=0)
    assert found["value"] == pytest.approx(float(np.mean(found["fold_aucs"])), abs=1e-15)
    assert all(0.63 < auc < 0.76 for auc in found["fold_aucs"])  # a 0.8-sd shift: at best Φ(0.8/√2) ≈ 0.71
    # the null spread of a fold of 400 rows a side, and the p-value of the mean
    spread = math.sqrt((400 + 400 + 1) / (12 * 400 * 400) / 3)
    assert found["p_value"] == pytest.approx(0.5 * math.erfc((found["value"] - 0.5) / spread / math.sqrt(2)))
    assert found["moved"][0]["column"] == "y"
    # each fold's AUC is scikit-learn's on that fold's held-out rows, the window's rows labelled 1
    features, labels = np.vstack([ref, cur]), np.r_[np.zeros(600), np.ones(600)]
    for k, (train, held) in enumerate(StratifiedKFold(3, shuffle=True, random_state=0).split(features, labels)):
        model = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **SHALLOW)
        scores = model.fit(features[train], labels[train]).predict_proba(features[held])[:, 1]
        assert found["fold_aucs"][k] == pytest.approx(roc_auc_score(labels[held], scores), abs=1e-12)


def _finding(reference: Profile, window: pd.DataFrame, detector: MultivariateDetector,
             schema: Schema = SCHEMA) -> Any:
    (found,) = detector.run(reference, CurrentData(window, reference), schema)
    return found


@pytest.mark.parametrize("case, status, says", [
    ("no joint rows", "error", "keeps no rows: build it with driftwatch.profile(..., joint_rows=20000)"),
    ("missing column", "error", "'b' missing from the current data"),
    ("one column", "error", "at least two columns"),
    ("unknown column", "error", "'zz' are not among the reference's features"),
    ("few rows", "insufficient_data", "fewer than min_rows=100"),
    ("text in a number", "error", "column 'c': non-numeric value 'n/a' in a numeric column"),
])
def test_bad_input_is_one_finding_that_says_what_is_wrong(reference: Profile, case: str, status: str,
                                                           says: str) -> None:
    window = rows(500, 0.8, 4)
    detector = MultivariateDetector()
    if case == "no joint rows":
        reference = profile(rows(300, 0.8, 4), SCHEMA)
    elif case == "missing column":
        window = window.drop(columns="b")
    elif case == "one column":
        detector = MultivariateDetector(columns=("a",))
    elif case == "unknown column":
        detector = MultivariateDetector(columns=("a", "zz"))
    elif case == "few rows":
        window = window.head(99)
    else:
        window = window.astype({"c": object})
        window.loc[window.index[3], "c"] = "n/a"
    found = _finding(reference, window, detector)
    assert (found.status, found.value, found.metric) == (status, None, "reconstruction_error")
    assert says in (found.details.get("error") or found.details.get("reason"))


@pytest.mark.parametrize("settings, message", [
    ({"method": "pca"}, "method: must be one of reconstruction, classifier, got 'pca'"),
    ({"variance": 1.0}, "variance: must be in (0, 1), got 1.0"),
    ({"reference_rows": 10}, "reference_rows: must be an integer > 19, got 10"),
    ({"columns": "a"}, "columns: must be a list of column names, got 'a'"),
])
def test_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        MultivariateDetector(**settings)
    assert str(raised.value) == message
