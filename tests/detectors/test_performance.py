"""The performance detector through ``driftwatch.check``: every figure equals scikit-learn's on
the same rows (current window and reference), positive-class rules, derived predictions, the
``min`` / ``max`` / ``max_drop`` / auto (bootstrap) rules, label coverage and bad input, and the
label-free ``estimated_*`` metrics against the realised metric of held-back labels.

The metric kernels have their own tests (tests/detectors/metrics); these test the detector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from scipy.special import expit
from sklearn import metrics as skm

import driftwatch
from driftwatch import Result
from driftwatch.detectors import PerformanceDetector
from driftwatch.errors import DataError

SCHEMA: dict[str, Any] = {"numeric": ["x"], "target": "y", "prediction": "pred", "score": "score"}
BINARY = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
ESTIMATED = ("estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1", "estimated_roc_auc")


def run(ref: pd.DataFrame, cur: pd.DataFrame, schema: dict[str, Any] | None = None,
        **options: Any) -> dict[str, Result]:
    """The performance results of one check, by metric (each metric once)."""
    results = driftwatch.check(ref, cur, schema=schema or SCHEMA, detectors=[PerformanceDetector(**options)])
    assert {r.detector for r in results} == {"performance"}
    by_metric = {r.metric: r for r in results}
    assert len(by_metric) == len(results), [r.metric for r in results]
    return by_metric


def binary_frame(rng: np.random.Generator, n: int, *, noise: float = 0.15, flip: float = 0.1) -> pd.DataFrame:
    """Labels drawn from p, a noisy score, and class predictions that mostly (not always) follow
    the score, so predictions from the column and from the score give different figures."""
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p).astype(int)
    score = np.clip(p + rng.normal(0, noise, n), 0.001, 0.999)
    pred = (score >= 0.5).astype(int)
    flipped = rng.random(n) < flip
    pred[flipped] = 1 - pred[flipped]
    return pd.DataFrame({"x": rng.normal(size=n), "y": y, "pred": pred, "score": score})


def sk_binary(y01: np.ndarray, pred01: np.ndarray, score: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": skm.accuracy_score(y01, pred01),
        "precision": skm.precision_score(y01, pred01),
        "recall": skm.recall_score(y01, pred01),
        "f1": skm.f1_score(y01, pred01),
        "roc_auc": skm.roc_auc_score(y01, score),
        "log_loss": skm.log_loss(y01, score, labels=[0, 1]),
        "brier": skm.brier_score_loss(y01, score),
    }


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - float(b)) <= 1e-9


def with_accuracy(y: np.ndarray, wrong: int) -> pd.DataFrame:
    """A frame whose predictions are y except the first ``wrong`` rows (accuracy 1 - wrong/n)."""
    pred = y.copy()
    pred[:wrong] = 1 - pred[:wrong]
    rng = np.random.default_rng(wrong)
    score = np.where(pred == 1, rng.uniform(0.55, 0.95, y.size), rng.uniform(0.05, 0.45, y.size))
    return pd.DataFrame({"x": rng.normal(size=y.size), "y": y, "pred": pred, "score": score})


def alternating(n: int) -> np.ndarray:
    return np.tile([0, 1], n // 2)


# --- binary: each figure equals scikit-learn's ---------------------------------------------------

def test_binary_figures_equal_sklearn_on_labelled_rows_and_reference() -> None:
    rng = np.random.default_rng(11)
    ref = binary_frame(rng, 1500)
    cur = binary_frame(rng, 700, noise=0.25, flip=0.2)
    cur["y"] = cur["y"].astype(float)
    cur.loc[rng.random(len(cur)) < 0.15, "y"] = np.nan   # unlabelled rows: counted, not used
    got = run(ref, cur)

    labelled = cur[cur["y"].notna()]
    want = sk_binary(labelled["y"].to_numpy(int), labelled["pred"].to_numpy(), labelled["score"].to_numpy())
    want_ref = sk_binary(ref["y"].to_numpy(), ref["pred"].to_numpy(), ref["score"].to_numpy())
    for name in BINARY:
        assert close(got[name].value, want[name]), (name, got[name].value, want[name])
        assert close(got[name].details["reference"], want_ref[name]), name
        assert got[name].details["n"] == len(labelled)
        assert got[name].details["higher_is_better"] is (name not in ("log_loss", "brier"))
    assert set(got) == {"label_coverage", "new_label_share", *BINARY, *ESTIMATED}


def test_figures_use_the_prediction_column_not_the_score_when_both_exist() -> None:
    rng = np.random.default_rng(12)
    ref, cur = binary_frame(rng, 600), binary_frame(rng, 400, flip=0.3)
    got = run(ref, cur, metrics=["accuracy"])
    from_column = skm.accuracy_score(cur["y"], cur["pred"])
    from_score = skm.accuracy_score(cur["y"], (cur["score"] >= 0.5).astype(int))
    assert abs(from_column - from_score) > 0.05
    assert close(got["accuracy"].value, from_column)


def test_metrics_option_limits_the_figures() -> None:
    rng = np.random.default_rng(13)
    got = run(binary_frame(rng, 300), binary_frame(rng, 300), metrics=["f1", "brier"], estimate=False)
    assert set(got) == {"label_coverage", "new_label_share", "f1", "brier"}


def test_deterministic() -> None:
    rng = np.random.default_rng(14)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300)
    a = driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])
    b = driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])
    assert [r.to_json() for r in a] == [r.to_json() for r in b]


# --- positive class ------------------------------------------------------------------------------

@pytest.mark.parametrize("classes, configured, positive", [
    (("no", "yes"), None, "yes"),          # neither "1" nor "true": the last in sorted order
    ((0, 1), None, 1),                     # "1"
    ((False, True), None, True),           # "true"
    (("false", "true"), None, "true"),
    ((1, 2), None, 1),                     # "1" even though it sorts first
    (("no", "yes"), "no", "no"),           # positive_class overrides
    ((0, 1), 0, 0),                        # given as a number, matched as the label "0"
    (("b", "a"), "b", "b"),
])
def test_positive_class(classes: tuple[Any, Any], configured: Any, positive: Any) -> None:
    rng = np.random.default_rng(21)
    n = 400
    # asymmetric: class 0's predictions are much worse than class 1's
    y_idx = rng.integers(0, 2, n)
    pred_idx = np.where(y_idx == 1, np.where(rng.random(n) < 0.9, 1, 0), np.where(rng.random(n) < 0.5, 1, 0))
    values = np.array(classes, dtype=object)
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": values[y_idx].tolist(), "pred": values[pred_idx].tolist()})
    schema = {"numeric": ["x"], "target": "y", "prediction": "pred"}
    got = run(frame, frame, schema, positive_class=configured, metrics=["precision", "recall", "f1"])
    y, pred = frame["y"].to_numpy(), frame["pred"].to_numpy()
    other = classes[1] if positive == classes[0] else classes[0]
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(y, pred, pos_label=positive)
        assert abs(want - fn(y, pred, pos_label=other)) > 0.05  # the choice matters on this data
        assert close(got[name].value, want), (name, got[name].value, want)


# --- predictions from scores ---------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_predictions_from_score_at_the_decision_threshold(threshold: float) -> None:
    rng = np.random.default_rng(31)

    def frame(n: int) -> pd.DataFrame:
        score = np.round(rng.uniform(0.0, 1.0, n), 1)   # many scores exactly at the threshold
        y = (rng.random(n) < score).astype(int)
        return pd.DataFrame({"x": rng.normal(size=n), "y": y, "score": score})

    ref, cur = frame(800), frame(600)
    assert (cur["score"] == threshold).sum() > 20
    schema = {"numeric": ["x"], "target": "y", "score": "score"}
    got = run(ref, cur, schema, decision_threshold=threshold, estimate=False)
    assert set(got) == {"label_coverage", "new_label_share", *BINARY}
    for data, key in ((cur, None), (ref, "reference")):
        y, score = data["y"].to_numpy(), data["score"].to_numpy()
        pred = (score >= threshold).astype(int)
        want = sk_binary(y, pred, score)
        strictly = skm.accuracy_score(y, (score > threshold).astype(int))
        assert abs(strictly - want["accuracy"]) > 1e-6  # ">=" and ">" differ here
        for name in BINARY:
            value = got[name].value if key is None else got[name].details[key]
            assert close(value, want[name]), (threshold, key, name, value, want[name])


# --- multiclass and regression -------------------------------------------------------------------

def test_multiclass_figures_equal_sklearn() -> None:
    rng = np.random.default_rng(41)

    def frame(n: int, right: float) -> pd.DataFrame:
        y = rng.choice(["cat", "dog", "eel"], n, p=[0.5, 0.3, 0.2])
        pred = np.where(rng.random(n) < right, y, rng.choice(["cat", "dog", "eel"], n))
        return pd.DataFrame({"x": rng.normal(size=n), "y": y, "pred": pred})

    ref, cur = frame(900, 0.8), frame(500, 0.6)
    schema = {"numeric": ["x"], "target": "y", "prediction": "pred"}
    got = run(ref, cur, schema)
    names = ["accuracy"] + [f"{m}_{a}" for a in ("macro", "weighted") for m in ("precision", "recall", "f1")]
    assert set(got) == {"label_coverage", "new_label_share", *names}
    for data, key in ((cur, None), (ref, "reference")):
        y, pred = data["y"].to_numpy(), data["pred"].to_numpy()
        want = {"accuracy": skm.accuracy_score(y, pred)}
        for average in ("macro", "weighted"):
            want[f"precision_{average}"] = skm.precision_score(y, pred, average=average)
            want[f"recall_{average}"] = skm.recall_score(y, pred, average=average)
            want[f"f1_{average}"] = skm.f1_score(y, pred, average=average)
        for name in names:
            value = got[name].value if key is None else got[name].details[key]
            assert close(value, want[name]), (key, name, value, want[name])


def regression_frame(rng: np.random.Generator, n: int, zeros: int, noise: float) -> pd.DataFrame:
    y = rng.normal(5.0, 2.0, n).round(3)
    y[:zeros] = 0.0
    pred = (y + rng.normal(0.0, noise, n)).round(3)
    return pd.DataFrame({"x": rng.normal(size=n), "y": y, "pred": pred})


def sk_regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    nonzero = y != 0
    return {
        "mae": skm.mean_absolute_error(y, pred),
        "rmse": skm.root_mean_squared_error(y, pred),
        "mape": skm.mean_absolute_percentage_error(y[nonzero], pred[nonzero]),
        "r2": skm.r2_score(y, pred),
    }


def test_regression_figures_equal_sklearn_with_mape_on_nonzero_targets() -> None:
    rng = np.random.default_rng(42)
    ref, cur = regression_frame(rng, 800, 6, 0.8), regression_frame(rng, 400, 9, 1.5)
    schema = {"numeric": ["x"], "target": "y", "prediction": "pred"}
    got = run(ref, cur, schema)
    assert set(got) == {"label_coverage", "mae", "rmse", "mape", "r2", "estimated_mae", "estimated_rmse"}
    want = sk_regression(cur["y"].to_numpy(), cur["pred"].to_numpy())
    want_ref = sk_regression(ref["y"].to_numpy(), ref["pred"].to_numpy())
    # sklearn on every row would divide by ~2e-16 at y == 0: the figure must not be that one
    assert skm.mean_absolute_percentage_error(cur["y"], cur["pred"]) > 1e6
    for name in ("mae", "rmse", "mape", "r2"):
        assert close(got[name].value, want[name]), (name, got[name].value, want[name])
        assert close(got[name].details["reference"], want_ref[name]), name
    assert got["r2"].details["higher_is_better"] is True and got["mae"].details["higher_is_better"] is False
    assert got["mae"].details["n"] == 400  # rows with y == 0 are used by every other figure


def test_mape_says_how_many_zero_targets_were_left_out() -> None:
    rng = np.random.default_rng(43)
    ref, cur = regression_frame(rng, 300, 0, 0.8), regression_frame(rng, 200, 9, 0.8)
    got = run(ref, cur, {"numeric": ["x"], "target": "y", "prediction": "pred"}, metrics=["mape"])
    details = got["mape"].details
    assert any(("zero" in key or "excluded" in key) and value == 9 for key, value in details.items()), details


def test_mape_with_every_target_zero_is_not_ok() -> None:
    rng = np.random.default_rng(44)
    ref = regression_frame(rng, 300, 0, 0.8)
    cur = regression_frame(rng, 100, 0, 0.8).assign(y=0.0)
    got = run(ref, cur, {"numeric": ["x"], "target": "y", "prediction": "pred"}, metrics=["mape"])
    assert got["mape"].status == "insufficient_data", (got["mape"].value, got["mape"].status)


# --- rules: min / max / max_drop -----------------------------------------------------------------

@pytest.mark.parametrize("wrong, status", [(150, "alert"), (101, "alert"), (99, "ok"), (50, "ok")])
def test_min_rule(wrong: int, status: str) -> None:
    y = alternating(1000)
    got = run(with_accuracy(y, 30), with_accuracy(y, wrong), metrics=["accuracy"],
              rules={"accuracy": {"min": 0.9}})
    r = got["accuracy"]
    assert r.value == pytest.approx(1 - wrong / 1000, abs=1e-12)
    assert (r.status, r.threshold, r.details["rule"]) == (status, 0.9, "min")


@pytest.mark.parametrize("wrong, status", [(100, "ok"), (140, "ok"), (160, "alert"), (300, "alert")])
def test_max_drop_rule(wrong: int, status: str) -> None:
    y = alternating(1000)
    got = run(with_accuracy(y, 100), with_accuracy(y, wrong), metrics=["accuracy"],
              rules={"accuracy": {"max_drop": 0.05}})
    r = got["accuracy"]
    assert r.details["reference"] == pytest.approx(0.9, abs=1e-12)
    assert r.threshold == pytest.approx(0.85, abs=1e-12)
    assert (r.status, r.details["rule"]) == (status, "max_drop")


def test_max_drop_never_alerts_on_an_improvement() -> None:
    y = alternating(1000)
    r = run(with_accuracy(y, 300), with_accuracy(y, 0), metrics=["accuracy"],
            rules={"accuracy": {"max_drop": 0.0}})["accuracy"]
    assert (r.value, r.status) == (1.0, "ok")


def test_lower_is_better_max_and_max_drop() -> None:
    rng = np.random.default_rng(51)
    ref, cur = binary_frame(rng, 600, noise=0.1), binary_frame(rng, 400, noise=0.3)
    value = skm.log_loss(cur["y"], cur["score"])
    reference = skm.log_loss(ref["y"], ref["score"])
    assert value > reference + 0.05
    for rule, status, bound in (
        ({"max": value + 0.01}, "ok", value + 0.01),
        ({"max": value - 0.01}, "alert", value - 0.01),
        ({"max_drop": value - reference + 0.01}, "ok", value + 0.01),     # worse by less than allowed
        ({"max_drop": value - reference - 0.01}, "alert", value - 0.01),  # worse by more
    ):
        r = run(ref, cur, metrics=["log_loss"], estimate=False, rules={"log_loss": rule})["log_loss"]
        assert close(r.value, value)
        assert r.status == status, rule
        assert r.threshold == pytest.approx(bound, abs=1e-9)
        assert r.details["rule"] == next(iter(rule))


def test_rules_for_unknown_metrics_or_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="rules.accuracy.floor"):
        PerformanceDetector(rules={"accuracy": {"floor": 0.9}})
    with pytest.raises(ValueError, match="rules.acuracy"):
        PerformanceDetector(rules={"acuracy": {"min": 0.9}})
    with pytest.raises(ValueError, match="max_drop"):
        PerformanceDetector(rules={"accuracy": {"max_drop": -0.1}})
    with pytest.raises(ValueError, match="metrics"):
        PerformanceDetector(metrics=["accuracy", "auc"])


# --- rules: auto (bootstrap of the reference) ----------------------------------------------------

MAX_RESAMPLE = 10_000


def bootstrap_interval(y01: np.ndarray, pred: np.ndarray, score: np.ndarray, fn: Callable[..., float],
                       uses_score: bool, n: int, seed: int, count: int, confidence: float) -> list[float]:
    """Independent of driftwatch: ``count`` resamples of the reference rows of size ``n`` (at most
    10k), drawn with ``default_rng(seed).integers(0, n_ref, size)``, the metric on each, the
    central quantiles (mean ± z·sd of them for a tail finer than one resample); for a window above
    10k rows narrowed around the resamples' mean by sqrt(10k / n)."""
    rng = np.random.default_rng(seed)
    size = min(n, MAX_RESAMPLE)
    values = []
    for _ in range(count):
        rows = rng.integers(0, y01.size, size)
        values.append(fn(y01[rows], score[rows] if uses_score else pred[rows]))
    tail = (1 - confidence) / 2
    low, high = (float(q) for q in np.quantile(values, [tail, 1 - tail]))
    if tail * count < 1:  # a tail no resample reaches: mean ± z·sd of the resamples
        z = float(scipy.stats.norm.ppf(1 - tail))
        half = z * float(np.std(values, ddof=1))
        low, high = float(np.mean(values)) - half, float(np.mean(values)) + half
    if n > size:
        centre, shrink = float(np.mean(values)), float(np.sqrt(size / n))
        low, high = centre + (low - centre) * shrink, centre + (high - centre) * shrink
    return [low, high]


@pytest.mark.parametrize("seed, count, confidence", [(0, 200, 0.99), (7, 60, 0.9)])
def test_auto_interval_is_the_bootstrap_of_the_reference(seed: int, count: int, confidence: float) -> None:
    rng = np.random.default_rng(61)
    ref, cur = binary_frame(rng, 900), binary_frame(rng, 250)
    got = run(ref, cur, seed=seed, bootstrap=count, interval=confidence, metrics=["accuracy", "roc_auc", "brier"],
              estimate=False)
    y, pred, score = ref["y"].to_numpy(), ref["pred"].to_numpy(), ref["score"].to_numpy()
    for name, fn, uses_score, higher in (("accuracy", skm.accuracy_score, False, True),
                                         ("roc_auc", skm.roc_auc_score, True, True),
                                         ("brier", skm.brier_score_loss, True, False)):
        want = bootstrap_interval(y, pred, score, fn, uses_score, 250, seed, count, confidence)
        r = got[name]
        assert r.details["rule"] == "auto" and r.details["confidence"] == confidence
        assert r.details["interval"] == pytest.approx(want, abs=1e-9), name
        assert r.threshold == pytest.approx(want[0] if higher else want[1], abs=1e-9)
        assert r.details["n"] == 250


@pytest.mark.parametrize("n", [MAX_RESAMPLE, 25_000])
def test_auto_interval_of_a_large_window(n: int) -> None:
    rng = np.random.default_rng(65)
    ref, cur = binary_frame(rng, 900), binary_frame(rng, n)
    got = run(ref, cur, seed=3, bootstrap=20, metrics=["accuracy", "brier"], estimate=False)
    y, pred, score = ref["y"].to_numpy(), ref["pred"].to_numpy(), ref["score"].to_numpy()
    for name, fn, uses_score in (("accuracy", skm.accuracy_score, False), ("brier", skm.brier_score_loss, True)):
        want = bootstrap_interval(y, pred, score, fn, uses_score, n, 3, 20, 0.99)
        assert got[name].details["interval"] == pytest.approx(want, abs=1e-9), name
        assert got[name].details["n"] == n


def test_auto_alerts_on_a_clearly_worse_window_and_not_on_a_better_one() -> None:
    rng = np.random.default_rng(62)
    ref = binary_frame(rng, 1000, noise=0.15, flip=0.1)
    worse = binary_frame(rng, 400, noise=0.35, flip=0.35)
    better = with_accuracy(alternating(400), 0)  # every prediction right, scores well separated
    bad = run(ref, worse, estimate=False)
    good = run(ref, better, estimate=False)
    for name in BINARY:
        low, high = bad[name].details["interval"]
        assert bad[name].status == "alert", (name, bad[name].value, low, high)
        higher = bad[name].details["higher_is_better"]
        assert (bad[name].value < low) if higher else (bad[name].value > high)  # type: ignore[operator]
    for name in BINARY:
        low, high = good[name].details["interval"]
        higher = good[name].details["higher_is_better"]
        assert (good[name].value > high) if higher else (good[name].value < low), name  # type: ignore[operator]
        assert good[name].status == "ok", name


def test_auto_same_seed_same_interval_other_seed_other_interval() -> None:
    rng = np.random.default_rng(63)
    ref, cur = binary_frame(rng, 700), binary_frame(rng, 300)
    a = run(ref, cur, seed=5, metrics=["f1"], estimate=False)["f1"].details["interval"]
    b = run(ref, cur, seed=5, metrics=["f1"], estimate=False)["f1"].details["interval"]
    c = run(ref, cur, seed=6, metrics=["f1"], estimate=False)["f1"].details["interval"]
    assert a == b
    assert a != c


def test_auto_interval_follows_the_size_of_the_current_window() -> None:
    rng = np.random.default_rng(64)
    ref = binary_frame(rng, 1000)
    small = run(ref, binary_frame(rng, 50), metrics=["accuracy"], estimate=False)["accuracy"].details["interval"]
    large = run(ref, binary_frame(rng, 900), metrics=["accuracy"], estimate=False)["accuracy"].details["interval"]
    assert small[1] - small[0] > 1.8 * (large[1] - large[0])


# --- label coverage, new labels, bad input ------------------------------------------------------

def test_label_coverage_counts_rows_without_labels() -> None:
    rng = np.random.default_rng(71)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 400)
    cur["y"] = cur["y"].astype(object)
    cur.loc[:99, "y"] = None        # missing
    cur.loc[100:119, "y"] = np.nan  # NaN is missing too
    got = run(ref, cur, metrics=["accuracy"], estimate=False)
    r = got["label_coverage"]
    assert r.value == pytest.approx(280 / 400)
    assert (r.status, r.details["rows"], r.details["labelled"]) == ("ok", 400, 280)
    labelled = cur.iloc[120:]
    assert got["accuracy"].details["n"] == 280
    assert close(got["accuracy"].value, skm.accuracy_score(labelled["y"].astype(int), labelled["pred"]))


def test_label_coverage_zero_when_no_label_column() -> None:
    rng = np.random.default_rng(72)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300).drop(columns="y")
    got = run(ref, cur, estimate=False)
    assert (got["label_coverage"].value, got["label_coverage"].details["labelled"]) == (0.0, 0)
    assert "new_label_share" not in got
    for name in BINARY:
        assert (got[name].status, got[name].value) == ("insufficient_data", None), name
        assert got[name].details["reason"] == "no label column in the current data"


def test_all_labels_nan_is_insufficient_data_not_a_number() -> None:
    rng = np.random.default_rng(73)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300).assign(y=np.nan)
    got = run(ref, cur, estimate=False)
    assert got["label_coverage"].value == 0.0
    for name in BINARY:
        assert (got[name].status, got[name].value) == ("insufficient_data", None), name


def test_new_label_warns_and_names_it() -> None:
    rng = np.random.default_rng(74)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300)
    clean = run(ref, cur, metrics=["accuracy"], estimate=False)["new_label_share"]
    assert (clean.value, clean.status) == (0.0, "ok")
    cur.loc[:29, "y"] = 2
    r = run(ref, cur, metrics=["accuracy"], estimate=False)["new_label_share"]
    assert r.status == "warn"
    assert r.value is not None and r.value > 0
    assert r.details["labels"] == ["2"]
    assert r.details["reference_classes"] == ["0", "1"]


def test_new_predicted_class_warns_too() -> None:
    rng = np.random.default_rng(75)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300)
    cur["pred"] = cur["pred"].astype(object)
    cur.loc[:9, "pred"] = "maybe"
    r = run(ref, cur, metrics=["accuracy"], estimate=False)["new_label_share"]
    assert (r.status, r.details["labels"]) == ("warn", ["maybe"])


@pytest.mark.parametrize("bad", [1.5, -0.01])
def test_scores_outside_0_1_are_an_error_naming_the_column(bad: float) -> None:
    rng = np.random.default_rng(76)
    ref, cur = binary_frame(rng, 400), binary_frame(rng, 300)
    cur.loc[17, "score"] = bad
    results = driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])
    assert [(r.metric, r.status, r.value) for r in results] == [("performance", "error", None)]
    message = results[0].details["error"]
    assert "'score'" in message and repr(bad) in message and "[0, 1]" in message


def test_scores_outside_0_1_in_an_unlabelled_row_are_an_error_too() -> None:
    rng = np.random.default_rng(77)
    ref, cur = binary_frame(rng, 400), binary_frame(rng, 300)
    cur["y"] = cur["y"].astype(float)
    cur.loc[5, ["y", "score"]] = [np.nan, 3.0]
    results = driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])
    assert [(r.metric, r.status) for r in results] == [("performance", "error")]
    assert "'score'" in results[0].details["error"]


def test_scores_outside_0_1_in_the_reference_are_a_data_error_naming_the_column() -> None:
    rng = np.random.default_rng(78)
    ref, cur = binary_frame(rng, 400), binary_frame(rng, 300)
    ref.loc[3, "score"] = 1.2
    with pytest.raises(DataError, match=r"'score'.*outside \[0, 1\]"):
        driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])


def test_reference_without_labels_is_an_error() -> None:
    rng = np.random.default_rng(79)
    ref, cur = binary_frame(rng, 400).drop(columns="y"), binary_frame(rng, 300)
    results = driftwatch.check(ref, cur, schema=SCHEMA, detectors=[PerformanceDetector()])
    assert [(r.metric, r.status) for r in results] == [("performance", "error")]
    assert "reference has no labelled rows" in results[0].details["error"]
    none = driftwatch.check(ref, cur, schema={"numeric": ["x"]}, detectors=[PerformanceDetector()])
    assert [(r.metric, r.status) for r in none] == [("performance", "error")]
    assert "no target" in none[0].details["error"]


@pytest.mark.parametrize("labelled, status", [(29, "insufficient_data"), (30, "ok")])
def test_min_rows(labelled: int, status: str) -> None:
    y = alternating(400)
    cur = with_accuracy(alternating(100), 0)
    cur["y"] = cur["y"].astype(float)
    cur.loc[labelled:, "y"] = np.nan
    got = run(with_accuracy(y, 40), cur, metrics=["accuracy"], estimate=False, min_rows=30,
              rules={"accuracy": {"min": 0.5}})
    r = got["accuracy"]
    assert r.status == status
    assert got["label_coverage"].value == pytest.approx(labelled / 100)
    if status == "insufficient_data":
        assert r.value is None and "min_rows=30" in r.details["reason"]
        assert close(r.details["reference"], 0.9)
    else:
        assert r.value == 1.0


def test_empty_current_window() -> None:
    rng = np.random.default_rng(80)
    ref = binary_frame(rng, 400)
    got = run(ref, ref.iloc[:0])
    assert got["label_coverage"].status == "insufficient_data"
    for name in (*BINARY, *ESTIMATED):
        assert (got[name].status, got[name].value) == ("insufficient_data", None), name


@pytest.mark.parametrize("options, message", [
    ({"interval": 1.0}, "interval"), ({"interval": 0}, "interval"), ({"decision_threshold": 1.5}, "decision_threshold"),
    ({"bootstrap": 5}, "bootstrap"), ({"min_rows": 0}, "min_rows"), ({"seed": -1}, "seed"),
    ({"calibration": "beta"}, "calibration"), ({"estimate": "yes"}, "estimate"),
])
def test_bad_parameters_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PerformanceDetector(**options)


# --- label-free estimates ------------------------------------------------------------------------

def realised(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    pred = (score >= threshold).astype(int)
    return {
        "estimated_accuracy": skm.accuracy_score(y, pred),
        "estimated_precision": skm.precision_score(y, pred),
        "estimated_recall": skm.recall_score(y, pred),
        "estimated_f1": skm.f1_score(y, pred),
        "estimated_roc_auc": skm.roc_auc_score(y, score),
    }


@pytest.fixture(scope="module")
def calibrated() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A 50k labelled reference and a 10k current window whose labels are held back; every label
    is drawn from the score itself (y ~ Bernoulli(score): calibrated scores)."""
    rng = np.random.default_rng(2024)

    def frame(n: int, a: float, b: float) -> pd.DataFrame:
        p = rng.beta(a, b, n)
        return pd.DataFrame({"x": rng.normal(size=n), "y": (rng.random(n) < p).astype(int), "score": p})

    ref = frame(50_000, 2.0, 2.0)
    cur = frame(10_000, 2.5, 1.5)  # the score mix moved: the estimate has to follow it
    return ref, cur.drop(columns="y"), cur["y"].to_numpy()


SCORED = {"numeric": ["x"], "target": "y", "score": "score"}


def test_estimates_are_within_0_02_of_the_realised_metric(
        calibrated: tuple[pd.DataFrame, pd.DataFrame, np.ndarray]) -> None:
    ref, cur, held_back = calibrated
    got = run(ref, cur, SCORED)
    want = realised(held_back, cur["score"].to_numpy())
    want_ref = realised(ref["y"].to_numpy(), ref["score"].to_numpy())
    assert got["label_coverage"].value == 0.0
    for name in ESTIMATED:
        r = got[name]
        assert r.value is not None and abs(r.value - want[name]) <= 0.02, (name, r.value, want[name])
        assert r.details["calibration"] == "isotonic"
        assert r.details["n"] == 10_000
        assert close(r.details["reference"], want_ref[name])
        assert r.status in ("ok", "alert")
    for name in BINARY:
        assert got[name].status == "insufficient_data"


def test_estimate_false_removes_the_estimates(calibrated: tuple[pd.DataFrame, pd.DataFrame, np.ndarray]) -> None:
    ref, cur, _ = calibrated
    got = run(ref, cur, SCORED, estimate=False)
    assert not [m for m in got if m.startswith("estimated_")]
    assert "label_coverage" in got


def test_platt_calibration_estimates_within_0_02() -> None:
    """Scores that are a logistic function away from calibrated: Platt scaling recovers them."""
    rng = np.random.default_rng(2025)

    def frame(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        score = rng.uniform(0.0, 1.0, n)
        y = (rng.random(n) < expit(6.0 * score - 2.5)).astype(int)
        return pd.DataFrame({"x": rng.normal(size=n), "y": y, "score": score}), y

    ref, _ = frame(50_000)
    cur, held_back = frame(10_000)
    got = run(ref, cur.drop(columns="y"), SCORED, calibration="platt")
    want = realised(held_back, cur["score"].to_numpy())
    for name in ESTIMATED:
        r = got[name]
        assert r.details["calibration"] == "platt"
        assert r.value is not None and abs(r.value - want[name]) <= 0.02, (name, r.value, want[name])


def test_estimates_need_scores() -> None:
    rng = np.random.default_rng(91)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 300)
    schema = {"numeric": ["x"], "target": "y", "prediction": "pred"}
    got = run(ref, cur, schema)
    assert not [m for m in got if m.startswith("estimated_")]
    assert not {"roc_auc", "log_loss", "brier"} & set(got)


def test_estimates_insufficient_below_min_rows() -> None:
    rng = np.random.default_rng(92)
    ref, cur = binary_frame(rng, 500), binary_frame(rng, 20)
    got = run(ref, cur.drop(columns="y"), min_rows=30)
    for name in ESTIMATED:
        assert (got[name].status, got[name].value) == ("insufficient_data", None), name


def test_estimates_follow_the_decision_threshold() -> None:
    rng = np.random.default_rng(93)
    ref, cur = binary_frame(rng, 3000, noise=0.0, flip=0.0), binary_frame(rng, 1000, noise=0.0, flip=0.0)
    schema = {"numeric": ["x"], "target": "y", "score": "score"}
    low = run(ref, cur.drop(columns="y"), schema, decision_threshold=0.2)["estimated_recall"].value
    high = run(ref, cur.drop(columns="y"), schema, decision_threshold=0.8)["estimated_recall"].value
    assert low is not None and high is not None and low > high + 0.3
