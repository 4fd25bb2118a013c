from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import numpy as np
import pytest
import sklearn
from scipy.special import expit
from sklearn import metrics
from sklearn.isotonic import IsotonicRegression, isotonic_regression
from sklearn.linear_model import LogisticRegression

from driftwatch.detectors.estimation import Calibrator, estimate_binary, fit_isotonic, fit_platt
from driftwatch.detectors.estimation import platt as platt_module
from driftwatch.detectors.estimation.expected import METRICS
from driftwatch.detectors.estimation.isotonic import _pav

Draw = Callable[[np.random.Generator, int], np.ndarray]


# --------------------------------------------------------------------------- references


def sk_isotonic(score: np.ndarray, y: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(score, y)


def sk_logistic(score: np.ndarray, y: np.ndarray) -> LogisticRegression:
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    # sklearn 1.8 deprecated penalty=None in favour of C=inf (and warnings are errors here).
    no_penalty: dict[str, object] = {"C": np.inf} if (major, minor) >= (1, 8) else {"penalty": None}
    model = LogisticRegression(solver="newton-cholesky", tol=1e-14, max_iter=10_000, **no_penalty)
    return model.fit(score[:, None], y)


def realised(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (score >= threshold).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "precision": float(metrics.precision_score(y, predicted)),
        "recall": float(metrics.recall_score(y, predicted)),
        "f1": float(metrics.f1_score(y, predicted)),
        "roc_auc": float(metrics.roc_auc_score(y, score)),
    }


def bernoulli(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return (rng.random(p.shape[0]) < p).astype(int)


# --------------------------------------------------------------------------- isotonic


def isotonic_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20240601)
    cases = []
    s = rng.normal(size=2_000)
    cases.append(("continuous", s, bernoulli(rng, expit(2 * s))))
    s = np.round(rng.normal(size=3_000), 1)  # ~60 distinct scores, heavy ties
    cases.append(("rounded ties", s, bernoulli(rng, expit(s))))
    s = np.repeat(rng.random(25), rng.integers(1, 40, 25))  # every score duplicated
    cases.append(("duplicated", s, bernoulli(rng, s)))
    s = rng.random(500)
    cases.append(("all zero", s, np.zeros(500, dtype=int)))
    cases.append(("all one", s, np.ones(500, dtype=int)))
    s = np.round(rng.random(200), 2)
    cases.append(("anti-monotone", s, (s < 0.5).astype(int)))  # pools to one flat block
    s = rng.random(50_000)
    cases.append(("large", s, bernoulli(rng, s**2)))  # long enough to reach the stack pass
    cases.append(("one score", np.full(30, 0.3), bernoulli(rng, np.full(30, 0.5))))
    s = rng.integers(0, 5, 400).astype(float)
    cases.append(("five scores", s, bernoulli(rng, s / 5)))
    return cases


@pytest.mark.parametrize(("name", "score", "y"), isotonic_cases(), ids=[c[0] for c in isotonic_cases()])
def test_isotonic_matches_sklearn(name: str, score: np.ndarray, y: np.ndarray) -> None:
    cal = fit_isotonic(score, y)
    ref = sk_isotonic(score, y)
    assert cal.x.shape == ref.X_thresholds_.shape
    np.testing.assert_allclose(cal.x, ref.X_thresholds_, rtol=0, atol=0)
    np.testing.assert_allclose(cal.y, ref.y_thresholds_, rtol=0, atol=1e-12)
    lo, hi = float(score.min()), float(score.max())
    grid = np.concatenate([
        np.linspace(lo - 1.0, hi + 1.0, 1_001),  # beyond both ends of the fitted range
        score[:500],  # exactly on data points and breakpoints
        cal.x,
        np.array([lo - 1e9, hi + 1e9]),
    ])
    np.testing.assert_allclose(cal(grid), ref.predict(grid), rtol=0, atol=1e-9)
    assert np.all(np.diff(cal(np.sort(grid))) >= 0)


def test_isotonic_pools_scores_closer_than_sklearn_tie_eps() -> None:
    # sklearn's _make_unique treats 1.0 and the next float up as one score (gap < 1e-15).
    one_up = np.nextafter(1.0, 2.0)
    score = np.array([0.0, 1.0, one_up, 1.0 + 1e-9, 2.0])
    y = np.array([0, 1, 0, 1, 1])
    cal = fit_isotonic(score, y)
    ref = sk_isotonic(score, y)
    assert cal.x.tolist() == ref.X_thresholds_.tolist()
    assert one_up not in cal.x.tolist()
    probe = np.array([1.0, one_up, 1.0 + 5e-10, 1.5])
    np.testing.assert_allclose(cal(probe), ref.predict(probe), rtol=0, atol=1e-9)


def test_isotonic_outputs_are_probabilities_and_monotone() -> None:
    rng = np.random.default_rng(7)
    s = rng.normal(size=5_000)
    cal = fit_isotonic(s, bernoulli(rng, expit(s)))
    assert np.all(np.diff(cal.x) > 0) and np.all(np.diff(cal.y) >= 0)
    out = cal(rng.normal(scale=10, size=1_000))
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pav_matches_sklearn_on_weighted_real_values(seed: int) -> None:
    # The kernel itself, on real-valued means with weights (not only 0/1 label means),
    # including a cascade that makes each vectorised round merge one block only.
    rng = np.random.default_rng(seed)
    values = rng.normal(size=3_000)
    weights = rng.integers(1, 5, 3_000).astype(float)
    got = _pav(values * weights, weights)
    want = isotonic_regression(values, sample_weight=weights)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    cascade = np.append(np.arange(1.0, 301.0), 0.0)
    np.testing.assert_allclose(_pav(cascade, np.ones(301)), isotonic_regression(cascade), rtol=0, atol=1e-12)


def test_isotonic_fit_of_250k_rows_is_fast() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=250_000)
    y = bernoulli(rng, expit(2 * s - 1))
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        fit_isotonic(s, y)
        best = min(best, time.perf_counter() - start)
    assert best < 1.0  # measured ~0.04 s


@pytest.mark.parametrize(
    ("score", "y", "message"),
    [
        (np.array([0.1, np.nan]), np.array([0, 1]), "score: must be finite"),
        (np.array([0.1, 0.2]), np.array([0, 0.5]), "y01: must hold only 0 and 1, got 0.5 at row 1"),
        (np.array([0.1, 0.2]), np.array([0, np.nan]), "y01: must hold only 0 and 1"),
        (np.array([0.1, 0.2]), np.array([0, 1, 1]), "y01: must have as many values as score"),
        (np.array([]), np.array([]), "score: must not be empty"),
        (np.ones((2, 2)), np.ones((2, 2)), "score: must be 1-D"),
    ],
)
def test_fits_reject_bad_labelled_samples(score: np.ndarray, y: np.ndarray, message: str) -> None:
    for fit in (fit_isotonic, fit_platt):
        with pytest.raises(ValueError, match=message):
            fit(score, y)


# --------------------------------------------------------------------------- Platt


def platt_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(99)
    cases = []
    s = rng.normal(0.5, 1.0, 20_000)
    cases.append(("logistic", s, bernoulli(rng, expit(2 * s - 1))))
    s = rng.random(5_000)
    cases.append(("miscalibrated", s, bernoulli(rng, s**3)))
    s = rng.normal(size=40)
    cases.append(("small", s, bernoulli(rng, expit(s))))
    s = rng.normal(1e4, 50.0, 10_000)  # far from 0: the centring must keep Newton stable
    cases.append(("offset", s, bernoulli(rng, expit((s - 1e4) / 25))))
    s = rng.normal(size=5_000)
    cases.append(("rare positives", s, bernoulli(rng, expit(3 * s - 6))))
    return cases


@pytest.mark.parametrize(("name", "score", "y"), platt_cases(), ids=[c[0] for c in platt_cases()])
def test_platt_matches_sklearn_logistic_regression(name: str, score: np.ndarray, y: np.ndarray) -> None:
    cal = fit_platt(score, y)
    ref = sk_logistic(score, y)
    assert cal.method == "platt" and cal.x.size == 0 and cal.y.size == 0
    assert cal.a == pytest.approx(float(ref.coef_[0, 0]), rel=1e-6, abs=1e-6)
    assert cal.b == pytest.approx(float(ref.intercept_[0]), rel=1e-6, abs=1e-6)
    grid = np.linspace(score.min() - 3 * score.std(), score.max() + 3 * score.std(), 2_001)
    np.testing.assert_allclose(cal(grid), ref.predict_proba(grid[:, None])[:, 1], rtol=0, atol=1e-7)


def test_platt_gradient_is_zero_at_the_fit() -> None:
    rng = np.random.default_rng(5)
    s = rng.normal(size=3_000)
    y = bernoulli(rng, expit(s))
    cal = fit_platt(s, y)
    r = cal(s) - y
    assert abs(np.mean(r)) < 1e-9 and abs(np.mean(r * s)) < 1e-9


@pytest.mark.parametrize(
    ("score", "y", "message"),
    [
        (np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1]), r"platt: score separates the classes \(negatives"),
        (np.array([0.0, 1.0, 2.0, 3.0]), np.array([1, 1, 0, 0]), r"platt: score separates the classes \(positives"),
        (np.array([0.0, 1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]), "platt: score separates"),  # touching at a tie
        (np.array([0.0, 1.0, 2.0]), np.array([1, 1, 1]), "platt: y01 holds one class only"),
        (np.array([0.5, 0.5, 0.5]), np.array([0, 1, 0]), "platt: score is constant"),
    ],
)
def test_platt_refuses_fits_that_would_diverge(score: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_platt(score, y)


def test_platt_refuses_an_unconverged_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    s = rng.normal(size=1_000)
    y = bernoulli(rng, expit(4 * s))
    monkeypatch.setattr(platt_module, "MAX_ITER", 1)
    with pytest.raises(ValueError, match="platt: Newton did not reach gradient"):
        fit_platt(s, y)


# --------------------------------------------------------------------------- Calibrator


def test_calibrator_round_trips_through_json() -> None:
    rng = np.random.default_rng(12)
    s = rng.normal(size=2_000)
    y = bernoulli(rng, expit(s))
    probe = rng.normal(scale=3, size=500)
    for cal in (fit_isotonic(s, y), fit_platt(s, y)):
        again = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
        assert again == cal
        assert np.array_equal(again(probe), cal(probe))
    assert fit_isotonic(s, y) != fit_platt(s, y)


def test_calibrator_keeps_its_own_read_only_copy() -> None:
    x = np.array([0.0, 1.0])
    y = np.array([0.1, 0.9])
    cal = Calibrator("isotonic", x, y)
    x[1] = 50.0
    assert cal.x.tolist() == [0.0, 1.0]
    with pytest.raises(ValueError):
        cal.x[0] = 3.0
    assert cal(np.array([[0.5, 2.0]])).shape == (1, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "beta", "x": [], "y": []}, "method: must be one of isotonic, platt"),
        ({"method": "isotonic", "x": [], "y": []}, "x: isotonic calibrator needs at least one breakpoint"),
        ({"method": "isotonic", "x": [0.0, 1.0], "y": [0.5]}, "y: must have as many values as x"),
        ({"method": "isotonic", "x": [1.0, 0.0], "y": [0.2, 0.5]}, "x: breakpoints must be strictly increasing"),
        ({"method": "isotonic", "x": [0.0, 1.0], "y": [0.5, 0.2]}, "y: fitted values must be non-decreasing"),
        ({"method": "isotonic", "x": [0.0, 1.0], "y": [0.5, 1.2]}, "within"),
        ({"method": "isotonic", "x": [0.0, np.nan], "y": [0.5, 0.6]}, "x, y: must be finite"),
        ({"method": "platt", "x": [0.0], "y": [0.5]}, "must be empty for method 'platt'"),
        ({"method": "platt", "x": [], "y": [], "a": math.inf}, "a: must be finite"),
        ({"method": "platt", "x": [], "y": [], "b": "1"}, "b: must be a number"),
    ],
)
def test_calibrator_rejects_bad_fields(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calibrator(**kwargs)  # type: ignore[arg-type]


def test_calibrator_from_dict_names_the_bad_key() -> None:
    with pytest.raises(ValueError, match="calibrator: missing key"):
        Calibrator.from_dict({"method": "platt", "x": [], "y": []})
    with pytest.raises(ValueError, match="x: must be a list of numbers"):
        Calibrator.from_dict({"method": "isotonic", "x": "0,1", "y": [0.0, 1.0], "a": 0.0, "b": 0.0})
    with pytest.raises(ValueError, match="score: must be finite"):
        Calibrator("platt", np.empty(0), np.empty(0), a=1.0)(np.array([np.nan]))


# --------------------------------------------------------------------------- estimate_binary


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimate_equals_realised_metrics_when_probabilities_are_labels(seed: int) -> None:
    # With p in {0, 1} the expected confusion matrix is the realised one, tied scores included.
    rng = np.random.default_rng(seed)
    score = np.round(rng.random(1_000), 2)
    y = bernoulli(rng, score)
    est = estimate_binary(y.astype(float), 0.5, score=score)
    want = realised(y, score, 0.5)
    assert list(est) == list(METRICS)
    for key in METRICS:
        assert est[key] == pytest.approx(want[key], rel=0, abs=1e-12), key
    # Without score, the decision and the ranking use the calibrated values themselves.
    est = estimate_binary(y.astype(float))
    assert est["accuracy"] == 1.0 and est["precision"] == 1.0 and est["recall"] == 1.0
    assert est["roc_auc"] == pytest.approx(1.0, abs=1e-12)


def test_expected_auc_is_the_pairwise_formula() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(80)
    score = np.round(rng.normal(size=80), 1)  # ties
    num = 0.0
    for i in range(80):
        for j in range(80):
            num += p[i] * (1 - p[j]) * ((score[i] > score[j]) + 0.5 * (score[i] == score[j]))
    want = num / (p.sum() * (1 - p).sum())
    assert estimate_binary(p, 0.0, score=score)["roc_auc"] == pytest.approx(want, rel=0, abs=1e-12)


def test_expected_counts_by_hand() -> None:
    p = np.array([0.9, 0.6, 0.4, 0.2])
    score = np.array([3.0, 1.0, 2.0, 0.0])
    est = estimate_binary(p, 1.5, score=score)  # predicted positive: rows 0 and 2
    tp, fp, fn, tn = 0.9 + 0.4, 0.1 + 0.6, 0.6 + 0.2, 0.4 + 0.8
    assert est["accuracy"] == pytest.approx((tp + tn) / 4, abs=1e-15)
    assert est["precision"] == pytest.approx(tp / (tp + fp), abs=1e-15)
    assert est["recall"] == pytest.approx(tp / (tp + fn), abs=1e-15)
    assert est["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-15)


def test_zero_over_zero_is_nan() -> None:
    none_predicted = estimate_binary(np.array([0.2, 0.3]), 0.9)
    assert math.isnan(none_predicted["precision"]) and none_predicted["recall"] == 0.0
    no_positives = estimate_binary(np.array([0.0, 0.0]))
    assert math.isnan(no_positives["recall"]) and math.isnan(no_positives["roc_auc"])
    assert no_positives["accuracy"] == 1.0
    empty = estimate_binary(np.array([]))
    assert all(math.isnan(v) for v in empty.values())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: estimate_binary(np.array([0.5, 1.2])), r"calibrated: probabilities must lie in \[0, 1\], got 1.2 at row 1"),
        (lambda: estimate_binary(np.array([0.5, np.nan])), "calibrated: must be finite"),
        (lambda: estimate_binary(np.ones((2, 2))), "calibrated: must be 1-D"),
        (lambda: estimate_binary(np.array([0.5]), math.nan), "threshold: must be finite"),
        (lambda: estimate_binary(np.array([0.5]), True), "threshold: must be a number"),
        (lambda: estimate_binary(np.array([0.5]), score=np.array([1.0, 2.0])), "score: must have the shape"),
        (lambda: estimate_binary(np.array([0.5]), score=np.array([np.inf])), "score: must be finite"),
    ],
)
def test_estimate_rejects_bad_input(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- acceptance (issue 3)

TOLERANCE = 0.02  # the bar for 10k-row windows; worst error seen here ~0.011, per-metric sd <= 0.006


def logistic_score(shift: float, scale: float = 1.0) -> Draw:
    return lambda rng, n: rng.normal(0.5 + shift, scale, n)


def beta_score(a: float, b: float) -> Draw:
    return lambda rng, n: rng.beta(a, b, n)


def logistic_truth(s: np.ndarray) -> np.ndarray:
    return np.asarray(expit(2 * s - 1))


def smoothstep_truth(s: np.ndarray) -> np.ndarray:
    # A monotone map the score misstates: the model says 0.2, the truth is 0.104.
    return s**2 * (3 - 2 * s)


ACCEPTANCE = [
    # name, true P(y=1 | score), reference scores, current windows (covariate shift included), methods
    ("logistic", logistic_truth, logistic_score(0.0),
     [logistic_score(0.0), logistic_score(0.6), logistic_score(-0.6), logistic_score(0.0, 1.5)], ("isotonic", "platt")),
    ("miscalibrated", smoothstep_truth, beta_score(0.6, 0.6),
     [beta_score(0.6, 0.6), beta_score(1.2, 0.6), beta_score(0.6, 1.2)], ("isotonic",)),
]


@pytest.mark.parametrize(
    ("name", "truth", "reference", "windows", "methods"), ACCEPTANCE, ids=[case[0] for case in ACCEPTANCE]
)
def test_estimate_is_within_002_of_realised_on_10k_windows(
    name: str,
    truth: Callable[[np.ndarray], np.ndarray],
    reference: Draw,
    windows: list[Draw],
    methods: tuple[str, ...],
) -> None:
    rng = np.random.default_rng(2024)
    ref_score = reference(rng, 50_000)
    ref_y = bernoulli(rng, truth(ref_score))
    fits = {"isotonic": fit_isotonic, "platt": fit_platt}
    calibrators = [fits[m](ref_score, ref_y) for m in methods]
    for k, draw in enumerate(windows):
        score = draw(rng, 10_000)
        y = bernoulli(rng, truth(score))
        want = realised(y, score, 0.5)
        for cal in calibrators:
            est = estimate_binary(cal(score), 0.5, score=score)
            for key in METRICS:
                assert abs(est[key] - want[key]) <= TOLERANCE, (name, cal.method, k, key, est[key], want[key])


def test_concept_drift_is_the_documented_blind_spot() -> None:
    # Same inputs, labels flipped relative to P(y | score): the real model got worse, the
    # estimate cannot see it because it only looks at the (unchanged) scores.
    rng = np.random.default_rng(77)
    ref_score = rng.normal(0.5, 1.0, 50_000)
    ref_y = bernoulli(rng, logistic_truth(ref_score))
    cal = fit_isotonic(ref_score, ref_y)
    reference_realised = realised(ref_y, ref_score, 0.5)

    score = rng.normal(0.5, 1.0, 10_000)
    y_flipped = bernoulli(rng, 1.0 - logistic_truth(score))
    est = estimate_binary(cal(score), 0.5, score=score)
    now = realised(y_flipped, score, 0.5)

    for key in ("accuracy", "roc_auc"):
        assert abs(est[key] - reference_realised[key]) <= TOLERANCE, key  # the estimate stays put
    assert now["accuracy"] < reference_realised["accuracy"] - 0.3  # ~0.70 -> ~0.30
    assert now["roc_auc"] < 0.5 < reference_realised["roc_auc"] - 0.2
    assert est["accuracy"] - now["accuracy"] > 0.3
