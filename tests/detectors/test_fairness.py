"""The fairness detector through ``driftwatch.check``: per-group selection rates as computed by
hand, disparities equal to fairlearn's functions on the same rows (without the groups smaller
than ``min_group_size``), the four-fifths default, intersections, the per-group table, and bad
input (absent or all-missing group column, scores outside [0, 1]).

The kernels (``fairness_metrics``) have their own fairlearn tests; these test the detector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fm

import driftwatch
from driftwatch import Result
from driftwatch.detectors import FairnessDetector

SCHEMA: dict[str, Any] = {"numeric": ["x"], "target": "y", "prediction": "pred", "sensitive": ["g"]}
DISPARITIES = {
    "demographic_parity_difference": fm.demographic_parity_difference,
    "demographic_parity_ratio": fm.demographic_parity_ratio,
    "equalized_odds_difference": fm.equalized_odds_difference,
    "equalized_odds_ratio": fm.equalized_odds_ratio,
    "equal_opportunity_difference": fm.equal_opportunity_difference,
}
LABEL_BASED = ("equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference")


def run(ref: pd.DataFrame, cur: pd.DataFrame, schema: dict[str, Any] | None = None, **options: Any) -> list[Result]:
    results = driftwatch.check(ref, cur, schema=schema or SCHEMA, detectors=[FairnessDetector(**options)])
    assert {r.detector for r in results} == {"fairness"}
    return results


def one(results: list[Result], feature: str, metric: str) -> Result:
    found = [r for r in results if r.feature == feature and r.metric == metric]
    assert len(found) == 1, [(r.feature, r.metric) for r in results]
    return found[0]


def frame(rng: np.random.Generator, sizes: dict[str, int], selection: dict[str, float]) -> pd.DataFrame:
    """Rows of groups ``sizes`` whose predictions are positive with the group's ``selection``
    probability, and labels that agree with the prediction 75% of the time."""
    g = np.concatenate([[name] * n for name, n in sizes.items()])
    p = np.concatenate([[selection[name]] * n for name, n in sizes.items()])
    pred = (rng.random(g.size) < p).astype(int)
    y = np.where(rng.random(g.size) < 0.75, pred, 1 - pred)
    order = rng.permutation(g.size)
    return pd.DataFrame({"x": rng.normal(size=g.size), "y": y[order], "pred": pred[order], "g": g[order]})


def exact(n_a: int, selected_a: int, n_b: int, selected_b: int) -> pd.DataFrame:
    """Two groups with exactly the given number of rows predicted positive."""
    pred = np.r_[np.ones(selected_a), np.zeros(n_a - selected_a), np.ones(selected_b), np.zeros(n_b - selected_b)]
    y = np.tile([1, 0], (n_a + n_b) // 2 + 1)[: n_a + n_b]
    return pd.DataFrame({"x": np.linspace(0, 1, n_a + n_b), "y": y, "pred": pred.astype(int),
                         "g": ["a"] * n_a + ["b"] * n_b})


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - float(b)) <= 1e-9


SIZES = {"f": 160, "m": 140, "x": 90}
SELECTION = {"f": 0.35, "m": 0.55, "x": 0.45}


# --- per group -----------------------------------------------------------------------------------

def test_selection_rate_per_group_equals_the_share_predicted_positive() -> None:
    rng = np.random.default_rng(1)
    ref, cur = frame(rng, SIZES, SELECTION), frame(rng, SIZES, SELECTION)
    results = run(ref, cur)
    by_hand = cur.groupby("g")["pred"].mean()
    rates = {r.feature: r for r in results if r.metric == "selection_rate"}
    assert set(rates) == {"g=f", "g=m", "g=x"}
    for group, want in by_hand.items():
        r = rates[f"g={group}"]
        assert close(r.value, want), (group, r.value, want)
        assert r.status == "ok"
        rows = cur[cur["g"] == group]
        positives, negatives, selected = rows[rows["y"] == 1], rows[rows["y"] == 0], rows[rows["pred"] == 1]
        assert r.details["count"] == len(rows) == r.details["labelled"]
        assert close(r.details["tpr"], positives["pred"].mean())
        assert close(r.details["fpr"], negatives["pred"].mean())
        assert close(r.details["precision"], selected["y"].mean())


def test_disparities_equal_fairlearn() -> None:
    rng = np.random.default_rng(2)
    ref, cur = frame(rng, SIZES, SELECTION), frame(rng, SIZES, SELECTION)
    results = run(ref, cur)
    for metric, theirs in DISPARITIES.items():
        want = theirs(cur["y"], cur["pred"], sensitive_features=cur["g"])
        r = one(results, "g", metric)
        assert close(r.value, want), (metric, r.value, want)
        assert r.status in ("ok", "alert")


def test_per_group_table_is_in_the_details() -> None:
    rng = np.random.default_rng(3)
    ref, cur = frame(rng, SIZES, SELECTION), frame(rng, SIZES, SELECTION)
    results = run(ref, cur)
    table = one(results, "g", "demographic_parity_ratio").details["groups"]
    assert [row["group"] for row in table] == [["f"], ["m"], ["x"]]
    rates = {r.feature: r for r in results if r.metric == "selection_rate"}
    for row in table:
        assert row == dict(rates[f"g={row['group'][0]}"].details)
        assert set(row) == {"group", "count", "selection_rate", "labelled", "tpr", "fpr", "precision"}
    # which group is hurt: the lowest selection rate in the table is the one fairlearn's ratio uses
    lowest = min(table, key=lambda row: row["selection_rate"])
    assert lowest["group"] == [cur.groupby("g")["pred"].mean().idxmin()]


# --- four-fifths default and other bounds --------------------------------------------------------

@pytest.mark.parametrize("selected_b, ratio, status", [
    (78, 0.78, "alert"), (79, 0.79, "alert"), (80, 0.80, "ok"), (85, 0.85, "ok"), (100, 1.0, "ok"),
])
def test_four_fifths_rule_is_the_default(selected_b: int, ratio: float, status: str) -> None:
    cur = exact(200, 100, 200, selected_b)
    results = run(cur, cur)
    r = one(results, "g", "demographic_parity_ratio")
    assert r.value == pytest.approx(ratio, abs=1e-12)
    assert (r.status, r.threshold) == (status, 0.8)
    # the other disparities have no default bound
    for metric in DISPARITIES:
        if metric != "demographic_parity_ratio":
            assert (one(results, "g", metric).status, one(results, "g", metric).threshold) == ("ok", None)


def test_four_fifths_can_be_switched_off() -> None:
    cur = exact(200, 100, 200, 50)
    r = one(run(cur, cur, demographic_parity_ratio_min=None), "g", "demographic_parity_ratio")
    assert (r.value, r.status, r.threshold) == (0.5, "ok", None)


@pytest.mark.parametrize("metric, key", [
    ("demographic_parity_difference", "demographic_parity_difference_max"),
    ("equalized_odds_difference", "equalized_odds_difference_max"),
    ("equalized_odds_ratio", "equalized_odds_ratio_min"),
    ("equal_opportunity_difference", "equal_opportunity_difference_max"),
])
def test_configured_bounds(metric: str, key: str) -> None:
    rng = np.random.default_rng(4)
    ref, cur = frame(rng, SIZES, SELECTION), frame(rng, SIZES, SELECTION)
    value = one(run(ref, cur), "g", metric).value
    assert value is not None and 0 < value < 1
    is_min = key.endswith("_min")
    for bound, breached in ((value - 0.01, not is_min), (value + 0.01, is_min)):
        r = one(run(ref, cur, **{key: bound}), "g", metric)
        assert (r.status, r.threshold) == ("alert" if breached else "ok", bound), (metric, bound)


# --- small groups --------------------------------------------------------------------------------

def test_small_group_is_insufficient_data_and_left_out_of_the_disparities() -> None:
    rng = np.random.default_rng(5)
    sizes = {"big1": 150, "big2": 120, "tiny": 20}
    ref = frame(rng, sizes, {"big1": 0.5, "big2": 0.45, "tiny": 0.0})
    cur = frame(rng, sizes, {"big1": 0.5, "big2": 0.45, "tiny": 0.0})
    results = run(ref, cur)
    tiny = one(results, "g", "demographic_parity_ratio")
    assert tiny.details["excluded"] == ["tiny"]
    assert tiny.details["min_group_size"] == 30
    r = one(results, "g=tiny", "selection_rate")
    assert (r.status, r.value, r.details["count"]) == ("insufficient_data", 0.0, 20)
    assert one(results, "g=big1", "selection_rate").status == "ok"
    kept = cur[cur["g"] != "tiny"]
    for metric, theirs in DISPARITIES.items():
        want = theirs(kept["y"], kept["pred"], sensitive_features=kept["g"])
        everyone = theirs(cur["y"], cur["pred"], sensitive_features=cur["g"])
        got = one(results, "g", metric)
        assert close(got.value, want), (metric, got.value, want)
        if metric.startswith("demographic"):
            assert abs(everyone - want) > 0.1  # with the tiny group the figure would be another
    # the tiny group's selection rate of 0 would break the four-fifths rule: no alert from it
    assert one(results, "g", "demographic_parity_ratio").status == "ok"
    # a smaller min_group_size takes it in
    small = run(ref, cur, min_group_size=10)
    assert close(one(small, "g", "demographic_parity_ratio").value,
                 fm.demographic_parity_ratio(cur["y"], cur["pred"], sensitive_features=cur["g"]))
    assert one(small, "g", "demographic_parity_ratio").status == "alert"


def test_fewer_than_two_big_groups_is_insufficient_data() -> None:
    rng = np.random.default_rng(6)
    ref = frame(rng, {"a": 200, "b": 20}, {"a": 0.5, "b": 0.1})
    results = run(ref, ref)
    for metric in DISPARITIES:
        r = one(results, "g", metric)
        assert (r.status, r.value) == ("insufficient_data", None), metric
        assert ">= 30 rows" in r.details["reason"]


# --- intersections -------------------------------------------------------------------------------

def test_intersections_add_the_combined_feature() -> None:
    rng = np.random.default_rng(7)
    n = 1200
    cur = frame(rng, {"f": 600, "m": 600}, {"f": 0.4, "m": 0.6})
    cur["age"] = rng.choice(["young", "old"], n, p=[0.4, 0.6])
    cur.loc[(cur["g"] == "f") & (cur["age"] == "young"), "pred"] = 0  # hurt only in the intersection
    schema = {**SCHEMA, "sensitive": ["g", "age"]}
    plain = run(cur, cur, schema)
    assert {r.feature for r in plain if r.metric == "demographic_parity_ratio"} == {"g", "age"}
    results = run(cur, cur, schema, intersections=True)
    assert {r.feature for r in results if r.metric == "demographic_parity_ratio"} == {"g", "age", "g & age"}
    both = cur[["g", "age"]]
    for metric, theirs in DISPARITIES.items():
        want = theirs(cur["y"], cur["pred"], sensitive_features=both)
        assert close(one(results, "g & age", metric).value, want), metric
        single = theirs(cur["y"], cur["pred"], sensitive_features=cur["age"])
        assert close(one(results, "age", metric).value, single), metric
    cells = {r.feature: r.value for r in results if r.metric == "selection_rate" and r.feature.startswith("g & age=")}
    by_hand = cur.groupby(["g", "age"])["pred"].mean()
    assert set(cells) == {f"g & age={g}/{a}" for g, a in by_hand.index}
    for (g, a), want in by_hand.items():
        assert close(cells[f"g & age={g}/{a}"], want)
    assert cells["g & age=f/young"] == 0.0
    table = one(results, "g & age", "demographic_parity_ratio").details["groups"]
    assert sorted(row["group"] for row in table) == sorted([g, a] for g, a in by_hand.index)


def test_sensitive_option_overrides_the_schema() -> None:
    rng = np.random.default_rng(8)
    cur = frame(rng, SIZES, SELECTION)
    cur["h"] = rng.choice(["p", "q"], len(cur))
    results = run(cur, cur, sensitive=["h"])
    assert {r.feature for r in results if r.metric == "demographic_parity_ratio"} == {"h"}


# --- missing values and bad input ----------------------------------------------------------------

def test_absent_sensitive_column_is_an_error_finding() -> None:
    rng = np.random.default_rng(9)
    ref = frame(rng, SIZES, SELECTION)
    ref["h"] = "p"
    schema = {**SCHEMA, "sensitive": ["g", "h"]}
    results = run(ref, ref.drop(columns="h"), schema)
    errors = [r for r in results if r.status == "error"]
    assert [(r.feature, r.metric) for r in errors] == [("h", "fairness")]
    assert "'h'" in errors[0].details["error"] and "missing" in errors[0].details["error"]


def test_no_sensitive_columns_is_an_error_finding() -> None:
    rng = np.random.default_rng(10)
    ref = frame(rng, SIZES, SELECTION)
    results = run(ref, ref, {"numeric": ["x"], "target": "y", "prediction": "pred"})
    assert [(r.metric, r.status) for r in results] == [("fairness", "error")]
    assert "sensitive" in results[0].details["error"]


def test_missing_group_values_form_their_own_group() -> None:
    rng = np.random.default_rng(11)
    cur = frame(rng, SIZES, SELECTION)
    cur["g"] = cur["g"].astype(object)
    cur.loc[cur.index[:60], "g"] = None
    results = run(cur, cur)
    r = one(results, "g=(missing)", "selection_rate")
    assert r.details["count"] == 60
    assert close(r.value, cur.loc[cur.index[:60], "pred"].mean())
    filled = cur["g"].fillna("(missing)")
    want = fm.demographic_parity_difference(cur["y"], cur["pred"], sensitive_features=filled)
    assert close(one(results, "g", "demographic_parity_difference").value, want)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_all_missing_group_column_is_one_missing_group(missing: Any) -> None:
    rng = np.random.default_rng(12)
    ref = frame(rng, SIZES, SELECTION)
    cur = ref.assign(g=missing)
    results = run(ref, cur)
    rates = [r for r in results if r.metric == "selection_rate"]
    assert [(r.feature, r.details["count"]) for r in rates] == [("g=(missing)", len(cur))]
    for metric in DISPARITIES:
        assert one(results, "g", metric).status == "insufficient_data", metric


def test_labels_missing_in_some_rows() -> None:
    """Selection rates use every row; TPR / FPR and the label-based disparities the labelled ones."""
    rng = np.random.default_rng(13)
    cur = frame(rng, SIZES, SELECTION)
    cur["y"] = cur["y"].astype(float)
    unlabelled = rng.random(len(cur)) < 0.3
    cur.loc[unlabelled, "y"] = np.nan
    results = run(cur.dropna(), cur)
    labelled = cur[~unlabelled]
    for metric, theirs in DISPARITIES.items():
        rows = labelled if metric in LABEL_BASED else cur
        y = rows["y"].fillna(0).astype(int)  # demographic parity ignores y
        want = theirs(y, rows["pred"], sensitive_features=rows["g"])
        assert close(one(results, "g", metric).value, want), metric
    f = one(results, "g=f", "selection_rate")
    assert f.details["count"] == (cur["g"] == "f").sum()
    assert f.details["labelled"] == (labelled["g"] == "f").sum()


def test_no_label_column_leaves_only_demographic_parity() -> None:
    rng = np.random.default_rng(14)
    ref = frame(rng, SIZES, SELECTION)
    cur = frame(rng, SIZES, SELECTION).drop(columns="y")
    results = run(ref, cur)
    assert one(results, "g", "demographic_parity_ratio").value is not None
    for metric in LABEL_BASED:
        r = one(results, "g", metric)
        assert (r.status, r.value, r.details["reason"]) == ("insufficient_data", None, "no labelled rows")
    assert "tpr" not in one(results, "g=f", "selection_rate").details


def test_rows_without_a_prediction_are_not_counted_as_negative() -> None:
    # a: 100 rows predicted (50 positive) and 100 without a prediction; b: 200 rows, 100 positive
    cur = exact(200, 100, 200, 100)
    cur["pred"] = cur["pred"].astype(float)
    cur.loc[cur.index[:200], "pred"] = np.r_[np.tile([1.0, 0.0], 50), np.full(100, np.nan)]
    ref = exact(200, 100, 200, 100)
    results = run(ref, cur)
    want = cur.dropna(subset=["pred"]).groupby("g")["pred"].mean()
    assert (want["a"], want["b"]) == (0.5, 0.5)
    assert close(one(results, "g=a", "selection_rate").value, want["a"])  # 50/100, not 50/200
    ratio = one(results, "g", "demographic_parity_ratio")
    assert (ratio.value, ratio.status) == (1.0, "ok")  # not a four-fifths alert made of missing predictions


@pytest.mark.parametrize("threshold", [0.3, 0.7])
def test_predictions_from_scores_at_the_decision_threshold(threshold: float) -> None:
    rng = np.random.default_rng(15)
    cur = frame(rng, SIZES, SELECTION).drop(columns="pred")
    cur["score"] = np.round(rng.uniform(0, 1, len(cur)), 1)
    schema = {"numeric": ["x"], "target": "y", "score": "score", "sensitive": ["g"]}
    results = run(cur, cur, schema, decision_threshold=threshold)
    pred = (cur["score"] >= threshold).astype(int)
    for group, want in pred.groupby(cur["g"]).mean().items():
        assert close(one(results, f"g={group}", "selection_rate").value, want)
    for metric, theirs in DISPARITIES.items():
        assert close(one(results, "g", metric).value, theirs(cur["y"], pred, sensitive_features=cur["g"])), metric


def test_scores_outside_0_1_are_an_error_finding() -> None:
    rng = np.random.default_rng(16)
    ref = frame(rng, SIZES, SELECTION).drop(columns="pred")
    ref["score"] = rng.uniform(0, 1, len(ref))
    cur = ref.copy()
    cur.loc[4, "score"] = 1.7
    schema = {"numeric": ["x"], "target": "y", "score": "score", "sensitive": ["g"]}
    results = driftwatch.check(ref, cur, schema=schema, detectors=[FairnessDetector()])
    assert [(r.metric, r.status) for r in results] == [("fairness", "error")]
    assert "'score'" in results[0].details["error"] and "1.7" in results[0].details["error"]


def test_no_model_output_is_an_error_finding() -> None:
    rng = np.random.default_rng(17)
    ref = frame(rng, SIZES, SELECTION)
    results = run(ref, ref, {"numeric": ["x"], "target": "y", "sensitive": ["g"]})
    assert [(r.metric, r.status) for r in results] == [("fairness", "error")]
    assert "prediction" in results[0].details["error"]


@pytest.mark.parametrize("configured, positive", [(None, "yes"), ("no", "no")])
def test_positive_class(configured: str | None, positive: str) -> None:
    rng = np.random.default_rng(18)
    base = frame(rng, SIZES, SELECTION)
    names = np.array(["no", "yes"])
    cur = base.assign(y=names[base["y"]], pred=names[base["pred"]])
    results = run(cur, cur, positive_class=configured)
    for group, want in (cur["pred"] == positive).groupby(cur["g"]).mean().items():
        assert close(one(results, f"g={group}", "selection_rate").value, want)
    want_eo = fm.equalized_odds_difference(cur["y"] == positive, cur["pred"] == positive, sensitive_features=cur["g"])
    assert close(one(results, "g", "equalized_odds_difference").value, want_eo)


def test_empty_window_is_insufficient_data() -> None:
    rng = np.random.default_rng(19)
    ref = frame(rng, SIZES, SELECTION)
    results = run(ref, ref.iloc[:0])
    assert [r for r in results if r.metric == "selection_rate"] == []
    for metric in DISPARITIES:
        assert one(results, "g", metric).status == "insufficient_data"


def test_deterministic() -> None:
    rng = np.random.default_rng(20)
    ref = frame(rng, SIZES, SELECTION)
    assert [r.to_json() for r in run(ref, ref)] == [r.to_json() for r in run(ref, ref)]


@pytest.mark.parametrize("options, message", [
    ({"sensitive": "g"}, "sensitive"), ({"min_group_size": 0}, "min_group_size"),
    ({"min_group_size": True}, "min_group_size"), ({"intersections": "yes"}, "intersections"),
    ({"decision_threshold": -0.1}, "decision_threshold"), ({"demographic_parity_ratio_min": "0.8"},
                                                          "demographic_parity_ratio_min"),
])
def test_bad_parameters_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FairnessDetector(**options)
