"""The root cause of a performance drop: which feature ranges the errors grew in.

By hand: the drop in mean error splits exactly over one feature's bins, each bin's term is the
error growing there plus more rows landing in a hard bin. In a run: a model broken for one
category and one range of a feature has its accuracy alert name those two first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch.detectors import PerformanceDetector
from driftwatch.detectors.root_cause import causes
from driftwatch.joint import encode
from driftwatch.profiling import profile


def test_a_bins_share_of_the_drop_is_its_growth_plus_its_extra_rows_by_hand() -> None:
    ref_frame = pd.DataFrame({"k": ["a"] * 60 + ["b"] * 40})
    reference = profile(ref_frame, {"categorical": ["k"]})
    # reference: a wrong 10 of 60, b wrong 10 of 40 (mean 0.2); window: a wrong 6 of 30, b wrong 35 of 70
    window_frame = pd.DataFrame({"k": ["a"] * 30 + ["b"] * 70})
    ref_errors = np.r_[np.ones(10), np.zeros(50), np.ones(10), np.zeros(30)]
    cur_errors = np.r_[np.ones(6), np.zeros(24), np.ones(35), np.zeros(35)]
    found = causes(["k"], reference.columns, encode(ref_frame, ["k"], reference.columns), ref_errors,
                   encode(window_frame, ["k"], reference.columns), cur_errors)
    drop = 0.41 - 0.2
    (b,) = [c for c in found if c["bin"] == "b"]  # a's term is 0.3·0.2 − 0.6·(1/6) < 0: not a cause
    assert len(found) == 1
    assert b["share_of_drop"] == pytest.approx((0.7 * 0.5 - 0.4 * 0.25) / drop)
    assert b["error_grew"] == pytest.approx(0.7 * (0.5 - 0.25) / drop)
    assert b["more_rows"] == pytest.approx((0.7 - 0.4) * 0.25 / drop)
    assert b["error_grew"] + b["more_rows"] == pytest.approx(b["share_of_drop"])
    assert causes(["k"], reference.columns, encode(ref_frame, ["k"], reference.columns), ref_errors,
                  encode(ref_frame, ["k"], reference.columns), ref_errors) == []  # no drop, no cause


def test_an_accuracy_alert_names_the_category_and_the_range_where_the_model_broke() -> None:
    schema = {"numeric": ["x", "z"], "categorical": ["k"], "target": "y", "prediction": "pred", "score": "p"}

    def frame(n: int, seed: int, *, broken: bool = False) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x, z, k = rng.normal(size=n), rng.normal(size=n), rng.choice(["a", "b", "c"], n)
        p = 1 / (1 + np.exp(-2 * x))
        y = (rng.random(n) < p).astype(int)
        if broken:  # wrong for k = c with z above 1
            bad = (k == "c") & (z > 1)
            y[bad] = 1 - y[bad]
        return pd.DataFrame({"x": x, "z": z, "k": k, "p": p, "pred": (p >= 0.5).astype(int), "y": y})

    reference = driftwatch.profile(frame(6_000, 1), schema)
    found = {r.metric: r for r in driftwatch.check(reference, frame(3_000, 2, broken=True),
                                                   detectors=[PerformanceDetector(estimate=False)])}
    accuracy = found["accuracy"]
    assert accuracy.status == "alert"
    top = [(c["feature"], c["bin"]) for c in accuracy.details["causes"][:2]]
    assert top[0] == ("k", "c") and top[1][0] == "z" and top[1][1].startswith("[")  # the top range of z
    assert float(top[1][1][1:].split(",")[0]) > 0.8
    assert all(c["error_current"] > c["error_reference"] for c in accuracy.details["causes"][:2])
    quiet = driftwatch.check(reference, frame(3_000, 3), detectors=[PerformanceDetector(estimate=False)])
    assert all("causes" not in r.details for r in quiet)  # nothing alerts, nothing to explain
    broken = frame(3_000, 2, broken=True).astype({"z": object})
    broken.loc[broken.index[0], "z"] = "n/a"  # text in a feature: no causes, the metrics still judged
    found = {r.metric: r for r in driftwatch.check(reference, broken, detectors=[PerformanceDetector(estimate=False)])}
    assert found["accuracy"].status == "alert" and "causes" not in found["accuracy"].details


def test_a_label_free_estimate_that_alerts_names_where_it_expects_the_errors() -> None:
    """No labels: the window's x crowds around 0, where the model is least sure. The estimated
    accuracy alerts, and its causes are the bins of x around 0, by more rows landing there."""
    schema = {"numeric": ["x", "z"], "target": "y", "prediction": "pred", "score": "p"}

    def frame(n: int, seed: int, spread: float) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(0, spread, n)
        p = 1 / (1 + np.exp(-2 * x))
        return pd.DataFrame({"x": x, "z": rng.normal(size=n), "p": p, "pred": (p >= 0.5).astype(int),
                             "y": (rng.random(n) < p).astype(int)})

    reference = driftwatch.profile(frame(6_000, 1, 1.0), schema)
    found = {r.metric: r for r in driftwatch.check(reference, frame(3_000, 2, 0.3).drop(columns="y"),
                                                   detectors=[PerformanceDetector()])}
    accuracy = found["estimated_accuracy"]
    assert accuracy.status == "alert"
    top = accuracy.details["causes"][:2]
    for cause in top:
        low, high = (float(v) for v in cause["bin"].strip("[)").split(", "))
        assert cause["feature"] == "x" and low < 0.3 and high > -0.3
        assert cause["more_rows"] == pytest.approx(cause["share_of_drop"], abs=0.05)
