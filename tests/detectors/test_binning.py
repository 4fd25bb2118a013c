"""Aligning reference and current profiles onto shared bins (numeric quantile bins, top-K
categories plus ``(other)``, an optional ``(missing)`` bin) and the current window's profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch.column_profile import ColumnProfile, profile_categorical, profile_numeric
from driftwatch.detectors import CurrentData
from driftwatch.detectors.methods import align, all_categories
from driftwatch.detectors.methods.binning import numeric_labels
from driftwatch.model import MISSING_LABEL, OTHER_LABEL


def numeric_pair(ref: object, cur: object, bins: int = 10) -> tuple[ColumnProfile, ColumnProfile]:
    r = profile_numeric(pd.Series(ref, dtype="float64"), "x", bins=bins)
    return r, profile_numeric(pd.Series(cur, dtype="float64"), "x", edges=r.edges)


def categorical_pair(ref: list[object], cur: list[object], max_categories: int | None = None
                     ) -> tuple[ColumnProfile, ColumnProfile]:
    return (profile_categorical(pd.Series(ref, dtype=object), "c", max_categories=max_categories),
            profile_categorical(pd.Series(cur, dtype=object), "c"))


# --- numeric ---------------------------------------------------------------------------------------

def test_numeric_bins_are_the_reference_quantile_bins() -> None:
    ref, cur = numeric_pair(np.arange(100.0), np.arange(100.0) + 0.5, bins=4)
    bins = align(ref, cur, top=20, missing_as_category=False)
    assert ref.edges.tolist() == [0.0, 24.75, 49.5, 74.25, np.nextafter(99.0, np.inf)]
    assert bins.labels == ("< 0", "[0, 24.75)", "[24.75, 49.5)", "[49.5, 74.25)", "[74.25, 99]", "> 99")
    assert bins.ref.tolist() == [0, 25, 25, 25, 25, 0]
    # [0, 24.75): 0.5..24.5; [24.75, 49.5): 25.5..48.5; [49.5, 74.25): 49.5..73.5; 99.5 is above the max
    assert bins.cur.tolist() == [0, 25, 24, 25, 25, 1]


def test_out_of_range_and_infinite_current_values_land_in_the_outer_bins() -> None:
    ref, cur = numeric_pair(np.arange(10.0), [-np.inf, -1e100, -0.001, 0.0, 9.0, 9.0001, 1e100, np.inf, np.nan])
    bins = align(ref, cur, top=20, missing_as_category=False)
    assert bins.cur[0] == 3  # -inf, -1e100, -0.001
    assert bins.cur[-1] == 3  # 9.0001, 1e100, +inf
    assert bins.cur[1] == 1  # the reference minimum is the first inner bin
    assert bins.cur[-2] == 1  # the reference maximum is in the last inner bin
    assert bins.cur.sum() == 8  # NaN is not binned unless missing_as_category


def test_current_bins_never_come_from_the_current_window() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=500)})
    p = driftwatch.profile(ref)
    data = CurrentData(pd.DataFrame({"x": rng.normal(50.0, 10.0, size=500)}), p)
    cur = data.profiles(["x"])["x"]
    assert isinstance(cur, ColumnProfile)
    np.testing.assert_array_equal(cur.edges, p.columns["x"].edges)
    assert cur.bin_counts[-1] == 500  # all above the reference range


def test_current_profile_is_not_thinned() -> None:
    rng = np.random.default_rng(1)
    p = driftwatch.profile(pd.DataFrame({"x": rng.normal(size=5_000)}),
                           options=driftwatch.profiling.ProfileOptions(max_sample=100))
    cur = CurrentData(pd.DataFrame({"x": rng.normal(size=3_000)}), p).profiles(["x"])["x"]
    assert isinstance(cur, ColumnProfile)
    assert cur.sorted_values.size == cur.n_finite == 3_000


def test_current_data_reports_unreadable_and_absent_columns() -> None:
    p = driftwatch.profile(pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0)}))
    data = CurrentData(pd.DataFrame({"x": ["1", "two"] * 20}), p)
    profiles = data.profiles(["x", "y"])
    assert set(profiles) == {"x"}  # y is absent: the detectors say column_missing
    assert isinstance(profiles["x"], driftwatch.DataError) and "'x'" in str(profiles["x"])
    assert data.profiles(["x"])["x"] is profiles["x"]  # built once, shared


def test_missing_bin_is_appended_on_both_sides() -> None:
    ref, cur = numeric_pair([1.0, 2.0, 3.0, np.nan], [1.0, np.nan, np.nan, np.nan])
    plain = align(ref, cur, top=20, missing_as_category=False)
    counted = align(ref, cur, top=20, missing_as_category=True)
    assert counted.labels == (*plain.labels, MISSING_LABEL)
    assert counted.ref.tolist() == [*plain.ref.tolist(), 1.0]
    assert counted.cur.tolist() == [*plain.cur.tolist(), 3.0]


def test_constant_reference_bins() -> None:
    ref, cur = numeric_pair([5.0] * 10, [4.0, 5.0, 5.0, 6.0])
    bins = align(ref, cur, top=20, missing_as_category=False)
    assert bins.labels == ("< 5", "[5, 5]", "> 5")
    assert bins.ref.tolist() == [0, 10, 0] and bins.cur.tolist() == [1, 2, 1]


def test_numeric_labels_of_an_empty_reference() -> None:
    assert numeric_labels(np.empty(0), float("nan"), float("nan")) == ("all",)


# --- categorical -------------------------------------------------------------------------------------

def test_top_categories_plus_other_which_also_holds_new_ones() -> None:
    ref, cur = categorical_pair(list("aaaabbbccd"), list("aabbccddxy"))
    bins = align(ref, cur, top=2, missing_as_category=False)
    assert bins.labels == ("a", "b", OTHER_LABEL)
    assert bins.ref.tolist() == [4, 3, 3]
    assert bins.cur.tolist() == [2, 2, 6]


def test_no_other_bin_when_nothing_falls_outside_the_top() -> None:
    ref, cur = categorical_pair(list("aabbc"), list("abcab"))
    bins = align(ref, cur, top=20, missing_as_category=False)
    assert bins.labels == ("a", "b", "c")
    assert OTHER_LABEL not in bins.labels


def test_other_bin_appears_when_only_the_current_has_new_categories() -> None:
    ref, cur = categorical_pair(list("aabb"), list("abz"))
    bins = align(ref, cur, top=20, missing_as_category=False)
    assert bins.labels == ("a", "b", OTHER_LABEL)
    assert bins.ref.tolist() == [2, 2, 0] and bins.cur.tolist() == [1, 1, 1]


def test_categorical_missing_bin() -> None:
    ref, cur = categorical_pair(["a", "b", None], ["a", None, None])
    bins = align(ref, cur, top=20, missing_as_category=True)
    assert bins.labels[-1] == MISSING_LABEL
    assert (bins.ref[-1], bins.cur[-1]) == (1.0, 2.0)
    assert bins.ref.sum() == 3 and bins.cur.sum() == 3


def test_all_categories_lists_every_category_of_either_side() -> None:
    ref, cur = categorical_pair(list("aaabbc"), list("abbddd"))
    bins = all_categories(ref, cur, missing_as_category=False)
    assert bins.labels == ("a", "b", "c", "d")
    assert bins.ref.tolist() == [3, 2, 1, 0]
    assert bins.cur.tolist() == [1, 2, 0, 3]


def test_all_categories_with_a_capped_reference_compares_kept_and_other() -> None:
    ref, cur = categorical_pair(list("aaaabbbccd"), list("aaaabbbccd"), max_categories=2)
    bins = all_categories(ref, cur, missing_as_category=False)
    assert bins.labels[:2] == ("a", "b") and bins.labels[-1] == OTHER_LABEL
    np.testing.assert_array_equal(bins.ref, bins.cur)


def test_all_categories_missing_bin() -> None:
    ref, cur = categorical_pair(["a", None], ["a", "b", None, None])
    bins = all_categories(ref, cur, missing_as_category=True)
    assert bins.labels == ("a", "b", MISSING_LABEL)
    assert bins.ref.tolist() == [1, 0, 1] and bins.cur.tolist() == [1, 1, 2]


# --- what a report sees ------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["psi", "jensenshannon", "hellinger", "chisquare"])
def test_results_name_the_category_that_moved(method: str) -> None:
    ref = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50 + ["c"] * 50})
    cur = pd.DataFrame({"c": ["a"] * 20 + ["b"] * 50 + ["c"] * 80})
    r = next(x for x in driftwatch.check(ref, cur, method=method) if x.detector == "drift" and x.feature == "c")
    bins = r.details["bins"]
    moved = {label: cur_share - ref_share for label, ref_share, cur_share in zip(bins["labels"], bins["ref"], bins["cur"])}
    assert moved["a"] == pytest.approx(20 / 150 - 1 / 3)
    assert moved["b"] == pytest.approx(0.0)
    assert moved["c"] == pytest.approx(80 / 150 - 1 / 3)
    assert sum(bins["ref"]) == pytest.approx(1.0) and sum(bins["cur"]) == pytest.approx(1.0)


def test_results_name_the_range_that_moved() -> None:
    ref = pd.DataFrame({"x": np.arange(100.0)})
    cur = pd.DataFrame({"x": np.r_[np.arange(100.0), np.full(100, 95.0)]})
    r = next(x for x in driftwatch.check(ref, cur, method="psi") if x.feature == "x" and x.detector == "drift")
    labels, contributions = r.details["bins"]["labels"], r.details["contributions"]
    assert labels[int(np.argmax(contributions))] == "[89.1, 99]"  # the top decile of 0..99
