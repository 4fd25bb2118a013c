from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fm

from driftwatch.detectors import fairness_metrics as fx
from driftwatch.detectors.fairness_metrics import MISSING_LABEL, GroupRates, group_rates

DISPARITIES: list[tuple[Callable[[Sequence[GroupRates]], float], Callable[..., float]]] = [
    (fx.demographic_parity_difference, fm.demographic_parity_difference),
    (fx.demographic_parity_ratio, fm.demographic_parity_ratio),
    (fx.equalized_odds_difference, fm.equalized_odds_difference),
    (fx.equalized_odds_ratio, fm.equalized_odds_ratio),
    (fx.equal_opportunity_difference, fm.equal_opportunity_difference),
    (fx.equal_opportunity_ratio, fm.equal_opportunity_ratio),
]


def same(a: float, b: float) -> bool:
    """Equal to 1e-9, or both NaN (fairlearn's 0/0)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9


def for_fairlearn(groups: pd.DataFrame) -> pd.Series | pd.DataFrame:
    """The same grouping as fairlearn input: labels as strings, missing as "(missing)".

    fairlearn raises on missing sensitive values ("Feature ... contains missing values"), so it
    is called on the labels driftwatch shows; with one column it gets a Series, else a DataFrame
    (which fairlearn groups by the intersection of the columns).
    """
    labelled = pd.DataFrame(
        {str(c): groups[c].map(str, na_action="ignore").astype(object).where(groups[c].notna(), MISSING_LABEL)
         for c in groups.columns}
    )
    return labelled.iloc[:, 0] if labelled.shape[1] == 1 else labelled


def assert_matches_fairlearn(y_true: np.ndarray, y_pred: np.ndarray, groups: pd.DataFrame,
                             sensitive: pd.Series | pd.DataFrame | None = None) -> list[GroupRates]:
    sensitive = for_fairlearn(groups) if sensitive is None else sensitive
    rates = group_rates(y_true, y_pred, groups)

    # Disparities: the same function of fairlearn on the full data.
    for ours, theirs in DISPARITIES:
        expected = float(theirs(y_true, y_pred, sensitive_features=sensitive))
        assert same(ours(rates), expected), (ours.__name__, ours(rates), expected)

    # Per group: selection rate, TPR, FPR against MetricFrame.
    frame = fm.MetricFrame(
        metrics={"sel": fm.selection_rate, "tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                 "n": fm.count},
        y_true=y_true, y_pred=y_pred, sensitive_features=sensitive,
    ).by_group.dropna(how="all")  # fairlearn lists every combination of the columns; only observed ones count
    by_label = {tuple(map(str, key)) if isinstance(key, tuple) else (str(key),): row for key, row in frame.iterrows()}
    assert sorted(by_label) == sorted(r.group for r in rates)
    for r in rates:
        row = by_label[r.group]
        assert r.count == row["n"]
        assert r.selection_rate == pytest.approx(row["sel"], rel=0, abs=1e-9)
        # fairlearn's TPR/FPR are 0 where undefined (sklearn's nan_to_num); ours are NaN there.
        assert math.isnan(r.tpr) == (r.positives == 0)
        assert math.isnan(r.fpr) == (r.negatives == 0)
        assert np.nan_to_num(r.tpr) == pytest.approx(row["tpr"], rel=0, abs=1e-9)
        assert np.nan_to_num(r.fpr) == pytest.approx(row["fpr"], rel=0, abs=1e-9)
    return rates


# --- hand-built ---------------------------------------------------------------------------


def test_two_groups_worked_by_hand() -> None:
    # group a: y_true 1 1 1 1 0 0 0 0 / y_pred 1 1 1 0 1 0 0 0
    #   P = 4, N = 4, selected 4 -> selection 4/8 = 0.5, TPR 3/4 = 0.75, FPR 1/4 = 0.25, precision 3/4
    # group b: y_true 1 1 0 0 / y_pred 1 0 0 0
    #   P = 2, N = 2, selected 1 -> selection 1/4 = 0.25, TPR 1/2 = 0.5, FPR 0/2 = 0, precision 1/1
    # DP difference 0.5 - 0.25 = 0.25, ratio 0.25 / 0.5 = 0.5
    # EO difference max(0.75 - 0.5, 0.25 - 0) = 0.25, ratio min(0.5 / 0.75, 0 / 0.25) = 0
    # EOpp difference 0.75 - 0.5 = 0.25, ratio 0.5 / 0.75 = 2/3
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    groups = pd.DataFrame({"g": ["a"] * 8 + ["b"] * 4})
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert rates == [
        GroupRates(("a",), 8, 0.5, 0.75, 0.25, 0.75, 4, 4),
        GroupRates(("b",), 4, 0.25, 0.5, 0.0, 1.0, 2, 2),
    ]
    assert fx.demographic_parity_difference(rates) == 0.25
    assert fx.demographic_parity_ratio(rates) == 0.5
    assert fx.equalized_odds_difference(rates) == 0.25
    assert fx.equalized_odds_ratio(rates) == 0.0
    assert fx.equal_opportunity_difference(rates) == 0.25
    assert fx.equal_opportunity_ratio(rates) == pytest.approx(2 / 3, rel=0, abs=1e-15)


def test_group_without_positives_counts_as_tpr_zero_like_fairlearn() -> None:
    # a: y_true 1 1 0 0, y_pred 1 1 0 0 -> TPR 1, FPR 0
    # b: y_true 0 0,     y_pred 0 1     -> no positives: TPR undefined (NaN here, 0 in fairlearn), FPR 1/2
    # fairlearn: EOpp difference 1 - 0 = 1, ratio 0 / 1 = 0; EO difference max(1, 0.5) = 1
    y_true = np.array([1, 1, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 0, 0, 0, 1])
    groups = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 2})
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert math.isnan(rates[1].tpr) and rates[1].positives == 0
    assert fx.equal_opportunity_difference(rates) == 1.0
    assert fx.equal_opportunity_ratio(rates) == 0.0
    assert fx.equalized_odds_difference(rates) == 1.0
    # A caller that leaves the group out gets the figure over the groups where TPR is defined.
    assert fx.equal_opportunity_difference([r for r in rates if r.positives > 0]) == 0.0


def test_nothing_predicted_positive() -> None:
    # a: y_true 1 0, y_pred 1 0 -> selection 1/2, precision 1
    # b: y_true 1 0, y_pred 0 0 -> selection 0, TPR 0, FPR 0, precision undefined (NaN)
    # DP difference 0.5, ratio 0 / 0.5 = 0
    y_true = np.array([1, 0, 1, 0])
    y_pred = np.array([1, 0, 0, 0])
    groups = pd.DataFrame({"g": ["a", "a", "b", "b"]})
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert rates[1].selection_rate == 0.0 and math.isnan(rates[1].precision)
    assert fx.demographic_parity_ratio(rates) == 0.0


def test_ratios_of_zero_over_zero_are_nan_like_fairlearn() -> None:
    groups = pd.DataFrame({"g": ["a", "a", "a", "a", "b", "b", "b", "b"]})
    y_true = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    # Nothing selected anywhere: selection rates 0, 0 -> DP ratio 0/0; TPR ratio 0/0 too.
    rates = assert_matches_fairlearn(y_true, np.zeros(8, dtype=int), groups)
    assert math.isnan(fx.demographic_parity_ratio(rates))
    assert fx.demographic_parity_difference(rates) == 0.0
    assert math.isnan(fx.equal_opportunity_ratio(rates))
    assert math.isnan(fx.equalized_odds_ratio(rates))  # a NaN TPR ratio wins fairlearn's min()
    # Every FPR 0 (a: TPR 1/2, b: TPR 1): FPR ratio 0/0 is passed over -> TPR ratio 0.5.
    rates = assert_matches_fairlearn(y_true, np.array([1, 0, 0, 0, 1, 1, 0, 0]), groups)
    assert fx.equalized_odds_ratio(rates) == 0.5
    # Every TPR 0 while the FPRs differ: NaN.
    rates = assert_matches_fairlearn(y_true, np.array([0, 0, 1, 0, 0, 0, 1, 1]), groups)
    assert math.isnan(fx.equalized_odds_ratio(rates))


def test_one_group() -> None:
    y_true = np.array([1, 0, 1])
    y_pred = np.array([1, 1, 0])
    rates = assert_matches_fairlearn(y_true, y_pred, pd.DataFrame({"g": ["x", "x", "x"]}))
    assert fx.demographic_parity_difference(rates) == 0.0
    assert fx.demographic_parity_ratio(rates) == 1.0


# --- random data against fairlearn ---------------------------------------------------------


def random_case(seed: int, k: int, kind: str, missing: bool) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 2_000))
    weights = 2.0 ** -np.arange(k)  # imbalanced: each group about half the size of the previous
    codes = rng.choice(k, size=n, p=weights / weights.sum())
    codes[:k] = np.arange(k)  # every group present
    base = rng.uniform(0.1, 0.9, size=k)[codes]
    y_true = (rng.random(n) < base).astype(int)
    y_pred = np.where(rng.random(n) < 0.75, y_true, 1 - y_true)
    y_true[codes == k - 1] = 0  # the smallest group has no positives
    if k > 2:
        y_pred[codes == 1] = 0  # in another group nothing is predicted positive
    values: dict[str, list[object]] = {
        "str": [f"group-{i}" for i in range(k)],
        "int": [10 * i - 7 for i in range(k)],
        "bool": [True, False][:k],
    }
    column = pd.Series(np.array(values[kind], dtype=object)[codes], name="g")
    if kind == "int":
        column = column.astype("int64")
    elif kind == "bool":
        column = column.astype(bool)
    if missing:
        column = column.astype(object)
        column[rng.random(n) < 0.05] = rng.choice(np.array([None, np.nan, pd.NA], dtype=object))
    return y_true, y_pred, pd.DataFrame({"g": column})


@pytest.mark.parametrize("seed", [0, *(pytest.param(seed, marks=pytest.mark.acceptance) for seed in range(1, 4))])
@pytest.mark.parametrize(("kind", "k"), [("str", 2), ("str", 3), ("str", 6), ("int", 2), ("int", 4), ("int", 5), ("bool", 2)])
@pytest.mark.parametrize("missing", [False, True])
def test_one_column_matches_fairlearn(seed: int, k: int, kind: str, missing: bool) -> None:
    y_true, y_pred, groups = random_case(seed, k, kind, missing)
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert sum(r.count for r in rates) == len(y_true)
    assert any(r.positives == 0 and math.isnan(r.tpr) for r in rates)
    assert (MISSING_LABEL,) in [r.group for r in rates] or not missing
    if not missing:
        # fairlearn on the raw values (ints, bools, strings) groups the rows the same way.
        assert_matches_fairlearn(y_true, y_pred, groups, sensitive=groups["g"])


@pytest.mark.parametrize("seed", [0, 1, *(pytest.param(seed, marks=pytest.mark.acceptance) for seed in range(2, 5))])
def test_two_columns_intersection_matches_fairlearn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    y_true, y_pred, first = random_case(seed, int(rng.integers(2, 5)), "str", missing=seed % 2 == 1)
    n = len(y_true)
    second = pd.Series(rng.choice(np.array([1, 2, 3]), size=n, p=[0.7, 0.25, 0.05]), name="band")
    if seed == 0:
        second[(first["g"] == "group-0").to_numpy()] = 1  # some combinations never occur
    groups = pd.DataFrame({"sex": first["g"], "band": second})
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert all(len(r.group) == 2 for r in rates)
    observed = groups.astype(str).drop_duplicates().shape[0]
    assert len(rates) == observed
    # The intersection is finer than either column: rows of one "sex" value are split by "band".
    assert len(rates) > len(group_rates(y_true, y_pred, groups[["sex"]]))


def test_intersection_hand_example() -> None:
    # (f, 1): y_true 1 0 / y_pred 1 1 -> selection 1, TPR 1, FPR 1
    # (f, 2): y_true 1   / y_pred 0   -> selection 0, TPR 0, FPR undefined (0 in fairlearn)
    # (m, 1): y_true 0 1 / y_pred 0 1 -> selection 1/2, TPR 1, FPR 0
    # DP difference 1 - 0 = 1; EO difference max(1 - 0, 1 - 0) = 1; EOpp ratio 0 / 1 = 0
    y_true = np.array([1, 0, 1, 0, 1])
    y_pred = np.array([1, 1, 0, 0, 1])
    groups = pd.DataFrame({"sex": ["f", "f", "f", "m", "m"], "band": [1, 1, 2, 1, 1]})
    rates = assert_matches_fairlearn(y_true, y_pred, groups)
    assert [(r.group, r.count, r.selection_rate) for r in rates] == [
        (("f", "1"), 2, 1.0), (("f", "2"), 1, 0.0), (("m", "1"), 2, 0.5)
    ]
    assert math.isnan(rates[1].fpr)
    assert fx.demographic_parity_difference(rates) == 1.0
    assert fx.equalized_odds_difference(rates) == 1.0
    assert fx.equal_opportunity_ratio(rates) == 0.0


# --- grouping and labels ------------------------------------------------------------------


def test_missing_values_form_one_group_labelled_missing() -> None:
    y = np.array([1, 0, 1, 0, 1])
    groups = pd.DataFrame({"g": pd.Series(["a", None, np.nan, pd.NA, "a"], dtype=object)})
    rates = group_rates(y, y, groups)
    assert [(r.group, r.count) for r in rates] == [(("a",), 2), ((MISSING_LABEL,), 3)]


def test_groups_sorted_naturally_missing_last() -> None:
    y = np.zeros(5, dtype=int)
    ints = pd.DataFrame({"g": pd.array([10, 2, None, 1, 2], dtype="Int64")})
    assert [r.group for r in group_rates(y, y, ints)] == [("1",), ("2",), ("10",), (MISSING_LABEL,)]
    cats = pd.DataFrame({"g": pd.Categorical(["lo", "hi", "mid"], categories=["lo", "mid", "hi", "unused"])})
    assert [r.group for r in group_rates(y[:3], y[:3], cats)] == [("lo",), ("mid",), ("hi",)]
    bools = pd.DataFrame({"g": [True, False, True]})
    assert [r.group for r in group_rates(y[:3], y[:3], bools)] == [("False",), ("True",)]


def test_values_that_do_not_compare_are_sorted_by_label() -> None:
    y = np.array([1, 0, 1, 0])
    groups = pd.DataFrame({"g": pd.Series([pd.Timestamp("2024-01-01"), 5, None, 5], dtype=object)})
    assert [(r.group, r.count) for r in group_rates(y, y, groups)] == [
        (("2024-01-01 00:00:00",), 1), (("5",), 2), ((MISSING_LABEL,), 1)
    ]


def test_values_with_the_same_label_are_one_group() -> None:
    y = np.array([1, 0, 1, 0])
    groups = pd.DataFrame({"g": pd.Series([1, "1", MISSING_LABEL, None], dtype=object)})
    # pandas sorts numbers before strings in a mixed column.
    assert [(r.group, r.count) for r in group_rates(y, y, groups)] == [(("1",), 2), ((MISSING_LABEL,), 2)]


def test_bool_labels_and_inputs() -> None:
    y_true = np.array([True, False, True, False])
    y_pred = np.array([True, True, False, False])
    rates = group_rates(y_true, y_pred, pd.DataFrame({"g": ["a", "a", "b", "b"]}))
    assert [(r.tpr, r.fpr) for r in rates] == [(1.0, 1.0), (0.0, 0.0)]


def test_inputs_untouched_and_empty() -> None:
    y_true = np.array([1, 0, 1])
    y_pred = np.array([0, 0, 1])
    groups = pd.DataFrame({"g": ["b", "a", None]})
    before = (y_true.copy(), y_pred.copy(), groups.copy())
    group_rates(y_true, y_pred, groups)
    assert np.array_equal(y_true, before[0]) and np.array_equal(y_pred, before[1])
    pd.testing.assert_frame_equal(groups, before[2])
    empty = np.array([], dtype=int)
    assert group_rates(empty, empty, pd.DataFrame({"g": pd.Series([], dtype=object)})) == []


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "y_pred", "groups", "field"),
    [
        (np.array([1, 2]), np.array([1, 0]), pd.DataFrame({"g": ["a", "b"]}), "y_true01"),
        (np.array([1, 0]), np.array([0.5, 0]), pd.DataFrame({"g": ["a", "b"]}), "y_pred01"),
        (np.array([1, np.nan]), np.array([1, 0]), pd.DataFrame({"g": ["a", "b"]}), "y_true01"),
        (np.array(["1", "0"]), np.array([1, 0]), pd.DataFrame({"g": ["a", "b"]}), "y_true01"),
        (np.array([[1, 0]]), np.array([1, 0]), pd.DataFrame({"g": ["a", "b"]}), "y_true01"),
        (np.array([1, 0]), np.array([1, 0, 1]), pd.DataFrame({"g": ["a", "b"]}), "y_pred01"),
        (np.array([1, 0]), np.array([1, 0]), pd.DataFrame({"g": ["a", "b", "c"]}), "groups"),
        (np.array([1, 0]), np.array([1, 0]), pd.DataFrame(index=range(2)), "groups"),
    ],
)
def test_bad_input_is_rejected_naming_the_argument(
    y_true: np.ndarray, y_pred: np.ndarray, groups: pd.DataFrame, field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        group_rates(y_true, y_pred, groups)


@pytest.mark.parametrize("disparity", [ours for ours, _ in DISPARITIES])
def test_disparities_need_a_group(disparity: Callable[[Sequence[GroupRates]], float]) -> None:
    with pytest.raises(ValueError, match="^rates: "):
        disparity([])
