"""Data quality through ``driftwatch.check``: the documented defaults that alert (and the values
just below them that do not), shares judged against what the reference predicts for a sample
of the current size, schema problems, and small windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import driftwatch
from driftwatch import Result


def quality(results: list[Result], feature: str, metric: str) -> Result:
    found = [r for r in results if r.detector == "quality" and r.feature == feature and r.metric == metric]
    assert len(found) == 1, found
    return found[0]


def metrics_of(results: list[Result], feature: str) -> set[str]:
    return {r.metric for r in results if r.detector == "quality" and r.feature == feature}


def numeric(n: int, missing: int = 0, seed: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).uniform(0.0, 1.0, n)
    values[:missing] = np.nan
    return values


# --- missing share -----------------------------------------------------------------------------

@pytest.mark.parametrize("ref_missing, cur_missing, status", [
    (0, 100, "alert"),   # +0.10 exactly
    (0, 99, "ok"),       # +0.099: significant, but under the practical minimum
    (50, 150, "alert"),  # 0.05 -> 0.15: +0.10 after rounding
    (50, 149, "ok"),
    (200, 0, "ok"),      # a fall does not alert by default
    (0, 1000, "alert"),  # all missing
])
def test_missing_share_alerts_on_a_significant_rise_of_a_tenth(ref_missing: int, cur_missing: int,
                                                                status: str) -> None:
    ref = pd.DataFrame({"x": numeric(1000, ref_missing, 1)})
    cur = pd.DataFrame({"x": numeric(1000, cur_missing, 2)})
    r = quality(driftwatch.check(ref, cur), "x", "missing_share")
    assert r.value == pytest.approx(cur_missing / 1000)
    assert r.details["ref"] == pytest.approx(ref_missing / 1000)
    assert r.details["delta"] == pytest.approx((cur_missing - ref_missing) / 1000)
    assert r.threshold == 0.10
    assert r.status == status
    # the test is Fisher's exact test of the two shares, one-sided for a rise
    table = [[cur_missing, 1000 - cur_missing], [ref_missing, 1000 - ref_missing]]
    assert r.p_value == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, rel=1e-9, abs=0)
    assert r.details["test"] == "Fisher exact" and r.details["expected"] == pytest.approx(ref_missing / 1000)


def test_a_rise_of_missing_values_that_chance_explains_at_this_size_does_not_alert() -> None:
    # 0 of 40 -> 5 of 40 is +0.125, over the practical minimum, but p = 0.03 at this size
    ref = pd.DataFrame({"x": numeric(40, 0, 1)})
    cur = pd.DataFrame({"x": numeric(40, 5, 2)})
    r = quality(driftwatch.check(ref, cur), "x", "missing_share")
    assert r.details["excess"] == pytest.approx(0.125)
    assert r.p_value == pytest.approx(stats.fisher_exact([[5, 35], [0, 40]], alternative="greater").pvalue)
    assert r.details["p_adjusted"] > r.details["alpha"] == 0.001
    assert r.status == "ok"


@pytest.mark.parametrize("direction, ref_missing, cur_missing, status", [
    ("decrease", 20, 0, "alert"), ("decrease", 0, 20, "ok"),
    ("both", 20, 0, "alert"), ("both", 0, 20, "alert"), ("both", 0, 5, "ok"),
])
def test_missing_direction(direction: str, ref_missing: int, cur_missing: int, status: str) -> None:
    ref = pd.DataFrame({"x": numeric(100, ref_missing, 1)})
    cur = pd.DataFrame({"x": numeric(100, cur_missing, 2)})
    r = quality(driftwatch.check(ref, cur, missing_direction=direction), "x", "missing_share")
    assert r.status == status and r.details["direction"] == direction


def test_missing_share_threshold_is_configurable() -> None:
    ref = pd.DataFrame({"x": numeric(1000, 0, 1)})
    cur = pd.DataFrame({"x": numeric(1000, 50, 2)})
    assert quality(driftwatch.check(ref, cur), "x", "missing_share").status == "ok"
    assert quality(driftwatch.check(ref, cur, missing_share_increase=0.05), "x", "missing_share").status == "alert"


def test_missing_share_of_categorical_columns() -> None:
    ref = pd.DataFrame({"c": pd.Series(["a", "b"] * 50, dtype=object)})
    cur = pd.DataFrame({"c": pd.Series(["a", "b"] * 40 + [None] * 20, dtype=object)})  # p < 1e-6
    r = quality(driftwatch.check(ref, cur), "c", "missing_share")
    assert (r.value, r.status) == (pytest.approx(0.2), "alert")


def test_all_nan_current_alerts_on_missing_share() -> None:
    ref = pd.DataFrame({"x": numeric(200, 0, 3), "c": ["a", "b"] * 100})
    cur = pd.DataFrame({"x": [np.nan] * 100, "c": pd.Series([None] * 100, dtype=object)})
    results = driftwatch.check(ref, cur)
    for column in ("x", "c"):
        r = quality(results, column, "missing_share")
        assert (r.value, r.status) == (1.0, "alert")
    assert quality(results, "x", "out_of_range_share").status == "insufficient_data"
    assert quality(results, "c", "new_category_share").status == "insufficient_data"
    assert quality(results, "x", "non_finite_share").status == "ok"


# --- non-finite ----------------------------------------------------------------------------------

def test_infinities_where_the_reference_had_none_alert() -> None:
    ref = pd.DataFrame({"x": numeric(1000, 0, 4)})
    cur_values = numeric(1000, 0, 5)
    cur_values[:15] = np.inf
    cur_values[15:20] = -np.inf
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values})), "x", "non_finite_share")
    assert r.value == pytest.approx(20 / 1000)
    assert (r.details["posinf"], r.details["neginf"]) == (15, 5)
    assert r.threshold == 0.01
    assert r.p_value == pytest.approx(stats.fisher_exact([[20, 980], [0, 1000]], alternative="greater").pvalue)
    assert r.status == "alert"


def test_a_single_infinity_is_reported_but_does_not_page() -> None:
    # one row in a thousand is neither significant nor of the practical size (1 %)
    ref = pd.DataFrame({"x": numeric(1_000, 0, 6)})
    cur_values = numeric(1_000, 0, 7)
    cur_values[0] = -np.inf
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values})), "x", "non_finite_share")
    assert (r.value, r.details["neginf"], r.status) == (0.001, 1, "ok")
    assert r.p_value == pytest.approx(0.5)
    strict = driftwatch.check(ref, pd.DataFrame({"x": cur_values}), non_finite_share_increase=0.001)
    assert quality(strict, "x", "non_finite_share").status == "ok"  # still p = 0.5


def test_infinities_the_reference_also_had_do_not_alert() -> None:
    ref_values = numeric(200, 0, 8)
    ref_values[0] = np.inf
    cur_values = numeric(200, 0, 9)
    cur_values[:5] = np.inf
    r = quality(driftwatch.check(pd.DataFrame({"x": ref_values}), pd.DataFrame({"x": cur_values})),
                "x", "non_finite_share")
    assert r.details["ref"] == pytest.approx(1 / 200)
    assert r.status == "ok"


def test_no_infinities_is_ok() -> None:
    r = quality(driftwatch.check(pd.DataFrame({"x": numeric(100)}), pd.DataFrame({"x": numeric(100, seed=1)})),
                "x", "non_finite_share")
    assert (r.value, r.status) == (0.0, "ok")


# --- out of range --------------------------------------------------------------------------------

@pytest.mark.parametrize("below, above, status", [
    (0, 0, "ok"),
    (10, 10, "alert"),  # 2 %: 1.8 % over the 0.2 % expected, p < 1e-5
    (0, 20, "alert"),
    (3, 5, "ok"),       # 0.8 %: under the practical minimum (and p = 0.02)
    (0, 11, "ok"),      # 1.1 %: 0.9 % over the expectation
    (0, 13, "ok"),      # 1.3 %: 1.1 % over it, but p = 0.0009: not significant at 0.001 once corrected
    (0, 16, "alert"),   # 1.6 %: p = 0.00013
])
def test_out_of_range_alerts_on_one_percent_over_the_expected_share(below: int, above: int, status: str) -> None:
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 1000)})
    cur_values = np.random.default_rng(10).uniform(0.0, 1.0, 1000)
    cur_values[:below] = -0.5
    cur_values[below:below + above] = 1.5
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values})), "x", "out_of_range_share")
    assert r.value == pytest.approx((below + above) / 1000)
    assert (r.details["below"], r.details["above"]) == (below, above)
    assert (r.details["ref_min"], r.details["ref_max"]) == (0.0, 1.0)
    # the order-statistics expectation for 1,000 reference values and its beta-binomial tail
    assert r.details["expected"] == pytest.approx(2 / 1001, rel=1e-12)
    assert r.details["excess"] == pytest.approx((below + above) / 1000 - 2 / 1001)
    assert r.p_value == pytest.approx(stats.betabinom.sf(below + above - 1, 1000, 2, 999), rel=1e-9)
    assert r.threshold == 0.01 and r.status == status


def test_a_few_values_past_a_small_reference_range_do_not_page() -> None:
    # 300 reference rows: 2 / 301 = 0.66 % of a fresh sample lands outside their range, and 5 of
    # 300 (1.7 %) happens one time in ten; the old fixed 1 % rule alerted on it
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 300)})
    cur_values = np.random.default_rng(10).uniform(0.0, 1.0, 300)
    cur_values[:5] = 1.5
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values})), "x", "out_of_range_share")
    assert r.value == pytest.approx(5 / 300) and r.status == "ok"
    assert r.p_value == pytest.approx(0.1082, abs=1e-4)


def test_values_on_the_reference_range_ends_are_in_range() -> None:
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 300)})
    cur = pd.DataFrame({"x": [0.0] * 50 + [1.0] * 50})
    r = quality(driftwatch.check(ref, cur), "x", "out_of_range_share")
    assert (r.value, r.status) == (0.0, "ok")


def test_out_of_range_ignores_missing_and_infinite_values() -> None:
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 300)})
    cur_values = np.r_[np.full(96, 0.5), [np.nan, np.inf, -np.inf, 2.0]]
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values})), "x", "out_of_range_share")
    assert r.value == pytest.approx(1 / 97)  # of the finite current values


def test_out_of_range_counts_every_current_row_when_the_reference_is_thinned() -> None:
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 5_000)})
    cur_values = np.random.default_rng(11).uniform(0.0, 1.0, 50_000)
    cur_values[:500] = 2.0
    r = quality(driftwatch.check(ref, pd.DataFrame({"x": cur_values}), max_sample=100, out_of_range_share=0.005),
                "x", "out_of_range_share")
    assert (r.details["ref_min"], r.details["ref_max"]) == (0.0, 1.0)
    assert r.details["above"] == 500
    assert r.details["expected"] == pytest.approx(2 / 5001)  # of all 5,000 reference values, not the 100 kept
    assert (r.value, r.status) == (0.01, "alert")


# --- categories ----------------------------------------------------------------------------------

def categorical_ref() -> pd.DataFrame:
    return pd.DataFrame({"c": ["a"] * 80 + ["b"] * 60 + ["c"] * 40 + ["d"] * 20})


@pytest.mark.parametrize("new_rows, status", [(2, "ok"), (4, "ok"), (10, "ok"), (16, "alert"), (0, "ok")])
def test_new_categories_alert_when_significant_and_at_least_one_percent(new_rows: int, status: str) -> None:
    # the reference has no singletons: Good-Turing expects no new rows, but 4 of 200 (p = 0.06)
    # is still within what an unseen 1-in-200 category gives, and 10 (p = 0.0009) is not
    # significant at alpha 0.001 once corrected over the column's three shares
    cur = pd.DataFrame({"c": ["a"] * (80 - new_rows) + ["b"] * 60 + ["c"] * 40 + ["d"] * 20 + ["zz"] * new_rows})
    r = quality(driftwatch.check(categorical_ref(), cur), "c", "new_category_share")
    assert r.value == pytest.approx(new_rows / 200)
    assert r.details["expected"] == 0.0
    assert r.threshold == 0.01 and r.status == status
    assert r.details["count"] == (1 if new_rows else 0)
    if new_rows:
        assert r.details["top"] == {"zz": new_rows}


def test_new_category_share_is_of_present_current_rows() -> None:
    cur = pd.DataFrame({"c": pd.Series(["a"] * 97 + ["new"] * 3 + [None] * 100, dtype=object)})
    r = quality(driftwatch.check(categorical_ref(), cur), "c", "new_category_share")
    assert r.value == pytest.approx(3 / 100)


def test_new_category_details_list_the_largest_first() -> None:
    cur = pd.DataFrame({"c": ["a"] * 150 + [f"n{i}" for i in range(12) for _ in range(i + 1)]})
    r = quality(driftwatch.check(categorical_ref(), cur), "c", "new_category_share")
    assert r.details["count"] == 12
    assert list(r.details["top"]) == [f"n{i}" for i in range(11, 1, -1)]


@pytest.mark.parametrize("drop, status", [("d", "warn"), (None, "ok")])
def test_vanished_categories_warn(drop: str | None, status: str) -> None:
    ref = categorical_ref()
    cur = ref[ref["c"] != drop] if drop else ref
    r = quality(driftwatch.check(ref, cur), "c", "vanished_category_share")
    assert r.status == status
    if drop:
        assert r.value == pytest.approx(20 / 200)
        assert r.details["top"] == {"d": 20}


def test_a_rare_vanished_category_below_one_percent_is_ok() -> None:
    ref = pd.DataFrame({"c": ["a"] * 500 + ["b"] * 499 + ["rare"]})
    cur = pd.DataFrame({"c": ["a"] * 500 + ["b"] * 500})
    r = quality(driftwatch.check(ref, cur), "c", "vanished_category_share")
    assert r.value == pytest.approx(1 / 1_000) and r.status == "ok"


def test_bool_and_int_categories_compare_across_dtypes() -> None:
    ref = pd.DataFrame({"flag": [True, False] * 100, "n": [1, 2, 3, 4] * 50})
    cur = pd.DataFrame({"flag": pd.Series([True, False] * 100, dtype=object), "n": [1.0, 2.0, 3.0, 4.0] * 50})
    results = driftwatch.check(ref, cur, {"categorical": ["flag", "n"]})
    for column in ("flag", "n"):
        assert quality(results, column, "new_category_share").value == 0.0
        assert quality(results, column, "vanished_category_share").value == 0.0


# --- schema problems -----------------------------------------------------------------------------

def test_a_schema_column_absent_from_current_is_column_missing() -> None:
    ref = pd.DataFrame({"x": numeric(100), "c": ["a", "b"] * 50})
    results = driftwatch.check(ref, ref[["c"]], {"numeric": ["x"], "categorical": ["c"]})
    r = quality(results, "x", "column_missing")
    assert (r.value, r.status) == (1.0, "alert")
    assert "'x'" in r.details["error"]
    assert metrics_of(results, "x") == {"column_missing"}
    assert quality(results, "c", "missing_share").status == "ok"


def test_text_in_a_numeric_column_is_dtype_mismatch_naming_it() -> None:
    ref = pd.DataFrame({"amount": numeric(100), "y": numeric(100, seed=1)})
    cur = pd.DataFrame({"amount": ["1.5"] * 99 + ["about three"], "y": numeric(100, seed=2)})
    results = driftwatch.check(ref, cur)
    r = quality(results, "amount", "dtype_mismatch")
    assert r.status == "alert"
    assert "'amount'" in r.details["error"] and "'about three'" in r.details["error"]
    assert r.details["dtype_ref"] == "float64"
    assert r.details["dtype_cur"] == str(cur["amount"].dtype)
    assert metrics_of(results, "amount") == {"dtype_mismatch"}
    assert quality(results, "y", "missing_share").status == "ok"


def test_numeric_strings_in_a_numeric_column_are_fine() -> None:
    ref = pd.DataFrame({"x": np.linspace(0.0, 1.0, 100)})
    cur = pd.DataFrame({"x": [f"{v:.3f}" for v in np.linspace(0.0, 1.0, 100)]})
    results = driftwatch.check(ref, cur)
    assert "dtype_mismatch" not in metrics_of(results, "x")
    assert quality(results, "x", "out_of_range_share").status == "ok"


def test_an_extra_current_column_warns_when_the_schema_was_inferred() -> None:
    ref = pd.DataFrame({"x": numeric(100)})
    cur = pd.DataFrame({"x": numeric(100, seed=1), "surprise": ["s"] * 100})
    inferred = driftwatch.check(ref, cur)
    r = quality(inferred, "surprise", "column_extra")
    assert r.status == "warn"
    named = driftwatch.check(ref, cur, {"numeric": ["x"]})
    assert not [x for x in named if x.metric == "column_extra"]


# --- small windows ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, status", [(29, "insufficient_data"), (30, "ok"), (0, "insufficient_data")])
def test_row_count_below_min_rows_is_insufficient(rows: int, status: str) -> None:
    ref = pd.DataFrame({"x": numeric(200), "c": ["a", "b"] * 100})
    cur = pd.DataFrame({"x": np.full(rows, 5.0), "c": pd.Series(["new"] * rows, dtype=object)})
    results = driftwatch.check(ref, cur)
    row_count = quality(results, "", "row_count")
    assert (row_count.value, row_count.threshold, row_count.status) == (float(rows), 30.0, status)
    assert row_count.details["n_ref"] == 200
    column_figures = [r for r in results if r.detector == "quality" and r.feature]
    if status == "insufficient_data":
        # every figure of the window is reported, none alerts
        assert {r.status for r in column_figures} == {"insufficient_data"}
    else:
        assert quality(results, "x", "out_of_range_share").status == "alert"
        assert quality(results, "c", "new_category_share").status == "alert"


def test_min_rows_is_configurable() -> None:
    ref = pd.DataFrame({"x": numeric(200)})
    cur = pd.DataFrame({"x": numeric(10, seed=1)})
    assert quality(driftwatch.check(ref, cur), "", "row_count").status == "insufficient_data"
    assert quality(driftwatch.check(ref, cur, min_rows=10), "", "row_count").status == "ok"


def test_empty_current_frame_never_crashes_and_alerts_on_nothing() -> None:
    ref = pd.DataFrame({"x": numeric(200), "c": ["a", "b"] * 100})
    results = driftwatch.check(ref, ref.iloc[:0])
    q = [r for r in results if r.detector == "quality"]
    assert {r.status for r in q} == {"insufficient_data"}
    assert metrics_of(results, "x") == {"missing_share", "non_finite_share", "out_of_range_share"}
    assert metrics_of(results, "c") == {"missing_share", "new_category_share", "vanished_category_share"}


# --- options -------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, key", [
    ({"min_rows": 0}, "min_rows"), ({"min_rows": True}, "min_rows"),
    ({"missing_share_increase": 0}, "missing_share_increase"),
    ({"new_category_share": 1.5}, "new_category_share"),
    ({"vanished_category_share": -0.1}, "vanished_category_share"),
    ({"out_of_range_share": "1%"}, "out_of_range_share"),
    ({"missing_direction": "up"}, "missing_direction"),
])
def test_bad_quality_options_are_rejected_by_name(options: dict[str, object], key: str) -> None:
    ref = pd.DataFrame({"x": numeric(50)})
    with pytest.raises(ValueError, match=rf"^{key}:"):
        driftwatch.check(ref, ref, **options)


def test_thresholds_are_configurable() -> None:
    cur = pd.DataFrame({"c": ["a"] * 64 + ["b"] * 60 + ["c"] * 40 + ["d"] * 20 + ["zz"] * 16})
    assert quality(driftwatch.check(categorical_ref(), cur), "c", "new_category_share").status == "alert"
    relaxed = driftwatch.check(categorical_ref(), cur, new_category_share=0.09)
    assert quality(relaxed, "c", "new_category_share").status == "ok"  # 16 / 200 = 0.08
    strict = driftwatch.check(categorical_ref(), categorical_ref(), vanished_category_share=0.5)
    assert quality(strict, "c", "vanished_category_share").status == "ok"


# --- pandas Categorical columns (e.g. dictionary-encoded Parquet) ---------------------------------

def test_a_vanished_category_of_a_pandas_categorical_warns() -> None:
    ref = pd.DataFrame({"c": pd.Categorical(["a"] * 80 + ["b"] * 60 + ["c"] * 40 + ["d"] * 20)})
    cur = pd.DataFrame({"c": pd.Categorical(["a"] * 80 + ["b"] * 60 + ["c"] * 60, categories=list("abcd"))})
    r = quality(driftwatch.check(ref, cur), "c", "vanished_category_share")
    assert r.value == pytest.approx(0.1) and r.status == "warn"


def test_an_unused_reference_dtype_category_counts_as_new() -> None:
    ref = pd.DataFrame({"c": pd.Categorical(["a"] * 100 + ["b"] * 100, categories=["a", "b", "z"])})
    cur = pd.DataFrame({"c": ["a"] * 90 + ["b"] * 90 + ["z"] * 20})
    r = quality(driftwatch.check(ref, cur), "c", "new_category_share")
    assert r.value == pytest.approx(0.1) and r.status == "alert"


def test_pandas_categorical_and_string_columns_give_the_same_shares() -> None:
    values = ["a"] * 80 + ["b"] * 60 + ["c"] * 60
    as_str = driftwatch.check(categorical_ref(), pd.DataFrame({"c": values + ["new"] * 4}))
    as_cat = driftwatch.check(categorical_ref(), pd.DataFrame({"c": pd.Categorical(values + ["new"] * 4)}))
    for metric in ("new_category_share", "missing_share"):
        assert quality(as_cat, "c", metric).value == quality(as_str, "c", metric).value
