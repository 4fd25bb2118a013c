"""The drift rule of issue 11: a column drifts when its change is significant at this pair of
sample sizes *and* at least a practical minimum; the permutation null behind the binned
distances' p-values; and the smallest drift each window could have flagged (checked by
simulating that very drift)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.contingency import association

import driftwatch
from driftwatch import Result
from driftwatch.detectors.detectable import POWER, chi2_noncentrality, ks_detectable_gap, shift_needed
from driftwatch.detectors.methods.hellinger import hellinger, hellinger_rows
from driftwatch.detectors.methods.jensenshannon import jensenshannon, jensenshannon_rows
from driftwatch.detectors.methods.permutation import (
    DRAWS,
    BinnedNull,
    binned_p_value,
    chi2_scale_hellinger,
    chi2_scale_js,
    chi2_scale_psi,
    n_eff,
)
from driftwatch.detectors.methods.psi import psi, psi_rows

JS = BinnedNull(jensenshannon_rows, chi2_scale_js)
MC_ERROR = 4 * math.sqrt(0.25 / DRAWS) + 1 / DRAWS  # four standard errors of a Monte Carlo p-value


def drift_of(results: list[Result], feature: str = "x") -> Result:
    return next(r for r in results if r.detector == "drift" and r.feature == feature)


# --- the rule -------------------------------------------------------------------------------------

def test_the_rule_needs_significance_and_size_and_says_which_was_missing() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=100_000)})
    tiny = drift_of(driftwatch.check(ref, pd.DataFrame({"x": rng.normal(0.03, size=100_000)})))
    assert tiny.p_value < 1e-6 and tiny.value < tiny.threshold == 0.05
    assert (tiny.status, tiny.details["rule"]) == ("ok", "significant but under the threshold")
    small = pd.DataFrame({"x": rng.normal(size=40)})
    few = drift_of(driftwatch.check(small, pd.DataFrame({"x": rng.normal(0.3, size=40)})))
    assert few.value >= few.threshold and few.details["p_adjusted"] >= 0.01
    assert (few.status, few.details["rule"]) == ("ok", "not significant at this size")
    big = drift_of(driftwatch.check(ref, pd.DataFrame({"x": rng.normal(0.3, size=2_000)})))
    assert (big.status, big.details["rule"]) == ("alert", "significant and at least the threshold")
    assert big.details["alpha"] == 0.01 and big.details["effect"] == "largest gap between the two CDFs"


def test_there_is_no_jump_at_the_old_large_sample_boundary() -> None:
    # the same data just below and just above 10,000 rows: same method, same rule, same decision
    rng = np.random.default_rng(1)
    ref = rng.normal(size=10_001)
    cur = rng.normal(0.04, size=10_001)
    below = drift_of(driftwatch.check(pd.DataFrame({"x": ref[:9_999]}), pd.DataFrame({"x": cur[:9_999]})))
    above = drift_of(driftwatch.check(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})))
    assert below.metric == above.metric == "ks"
    assert below.status == above.status
    assert below.value == pytest.approx(above.value, abs=1e-3)


# --- the permutation null of the binned distances ------------------------------------------------

def exact_two_bin_p(ref: np.ndarray, cur: np.ndarray) -> float:
    """P(JS >= observed) over every split of the pooled two-bin counts: hypergeometric by hand."""
    pooled, n_cur = ref + cur, int(cur.sum())
    observed = jensenshannon(ref, cur)
    total = 0.0
    for k in range(max(0, n_cur - int(pooled[1])), min(int(pooled[0]), n_cur) + 1):
        split_cur = np.array([k, n_cur - k])
        if jensenshannon(pooled - split_cur, split_cur) >= observed - 1e-12:
            total += stats.hypergeom.pmf(k, int(pooled.sum()), int(pooled[0]), n_cur)
    return total


@pytest.mark.parametrize("ref, cur", [([3, 2], [1, 4]), ([8, 2], [2, 5]), ([30, 1], [25, 6]), ([1, 0], [0, 7])])
def test_the_permutation_p_value_is_the_exact_hypergeometric_one_within_monte_carlo_error(
        ref: list[int], cur: list[int]) -> None:
    r, c = np.array(ref), np.array(cur)
    p, how = binned_p_value(JS, r, c, jensenshannon(r, c))
    assert how.startswith("permutation")
    assert p == pytest.approx(exact_two_bin_p(r, c), abs=MC_ERROR)


def test_the_permutation_p_value_is_deterministic() -> None:
    r, c = np.array([12, 3, 5, 0, 2]), np.array([4, 9, 1, 3, 0])
    assert binned_p_value(JS, r, c, jensenshannon(r, c)) == binned_p_value(JS, r, c, jensenshannon(r, c))


@pytest.mark.parametrize("kernel, null, to_chi2", [
    (jensenshannon, JS, lambda d: 8 * math.log(2) * d * d),
    (hellinger, BinnedNull(hellinger_rows, chi2_scale_hellinger), lambda d: 8 * d * d),
    (lambda r, c: psi(r, c)[0], BinnedNull(psi_rows, chi2_scale_psi), lambda d: d),
])
def test_with_large_counts_each_distance_is_pearsons_chi_square_in_the_limit(kernel, null, to_chi2) -> None:  # type: ignore[no-untyped-def]
    ref = np.array([5_000, 3_000, 2_000, 1_000])
    cur = np.array([4_700, 3_100, 2_100, 1_100])
    value = kernel(ref, cur)
    pearson = stats.chi2_contingency(np.stack([ref, cur]), correction=False)
    # the second-order expansion behind the asymptotic p-value: n_eff * scale(d) ~ Pearson's X2
    assert n_eff(ref.sum(), cur.sum()) * to_chi2(value) == pytest.approx(pearson.statistic, rel=0.01)
    p, how = binned_p_value(null, ref, cur, value)
    assert how == "chi-square limit"
    assert p == pytest.approx(stats.chi2.sf(n_eff(ref.sum(), cur.sum()) * to_chi2(value), 3), rel=1e-12)
    assert p == pytest.approx(pearson.pvalue, rel=0.1)


def test_beyond_every_draw_the_p_value_is_the_limits_tail_capped_by_the_draws() -> None:
    ref, cur = np.array([40, 0, 1]), np.array([0, 40, 1])
    p, how = binned_p_value(JS, ref, cur, jensenshannon(ref, cur))
    assert how == "permutation, chi-square limit beyond the draws"
    d = jensenshannon(ref, cur)
    assert p == min(stats.chi2.sf(n_eff(41, 41) * 8 * math.log(2) * d * d, 2), 1 / (DRAWS + 1))


def test_permutation_p_values_hold_their_level_on_a_sparse_unchanged_column() -> None:
    # a 20-category Zipf-like column at 150 rows a side: many expected counts below 5, where the
    # chi-square limit is off; the permutation null is exact there
    rng = np.random.default_rng(2)
    shares = 1 / np.arange(1, 21) ** 1.2
    shares /= shares.sum()
    runs = 300
    p_values = []
    for _ in range(runs):
        ref, cur = rng.multinomial(150, shares), rng.multinomial(150, shares)
        p_values.append(binned_p_value(JS, ref, cur, jensenshannon(ref, cur))[0])
    rejected = np.mean(np.array(p_values) < 0.05)
    assert abs(rejected - 0.05) < 3 * math.sqrt(0.05 * 0.95 / runs)


# --- the smallest detectable drift ---------------------------------------------------------------

@pytest.mark.parametrize("df, expected", [(1, 7.85), (2, 9.64), (3, 10.90), (4, 11.94)])
def test_chi2_noncentrality_reproduces_cohens_power_table(df: int, expected: float) -> None:
    # Cohen (1988), table 7.4.6: lambda for power 0.80 at alpha 0.05
    lam = chi2_noncentrality(0.05, df)
    assert lam == pytest.approx(expected, abs=0.01)
    assert stats.ncx2.sf(stats.chi2.isf(0.05, df), df, lam) == pytest.approx(POWER, abs=1e-9)
    assert chi2_noncentrality(0.9, df) == 0.0  # a level that loose flags 80 % of unchanged windows


def test_ks_detectable_gap_is_the_critical_gap_plus_the_power_margin() -> None:
    gap = ks_detectable_gap(0.001, 2_000, 500)
    scale = math.sqrt(1 / 2_000 + 1 / 500)
    assert gap == pytest.approx((stats.kstwobign.isf(0.001) + 0.5 * stats.norm.ppf(0.8)) * scale, rel=1e-12)


def test_shift_needed_finds_the_smallest_crossing() -> None:
    assert shift_needed(lambda d: math.tanh(d), 0.5) == pytest.approx(math.atanh(0.5), abs=2e-4)
    assert shift_needed(lambda d: 0.0, 0.1) is None


def test_every_decided_result_says_what_its_window_could_have_seen() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=5_000), "c": rng.choice(list("abcd"), 5_000)})
    small = driftwatch.check(ref, pd.DataFrame({"x": rng.normal(size=100), "c": rng.choice(list("abcd"), 100)}))
    large = driftwatch.check(ref, pd.DataFrame({"x": rng.normal(size=5_000), "c": rng.choice(list("abcd"), 5_000)}))
    for results in (small, large):
        x, c = drift_of(results, "x"), drift_of(results, "c")
        assert x.details["mde"] > x.threshold and c.details["mde"] > c.threshold
        assert x.details["mde_sd"] > 0 and c.details["mde_sd"] is None  # sds only for numeric columns
    # more rows see smaller drift, down to just above the practical minimum
    assert drift_of(small, "x").details["mde_sd"] > 3 * drift_of(large, "x").details["mde_sd"]
    assert drift_of(large, "c").details["mde"] < 0.12
    # a lone drifting column is tested at alpha / m: the two columns here
    level = 0.01 / 2
    assert drift_of(small, "x").details["mde"] == pytest.approx(ks_detectable_gap(level, 5_000, 100), rel=1e-12)
    assert drift_of(large, "x").details["mde"] == pytest.approx(
        0.05 + 0.5 * stats.norm.ppf(0.8) * math.sqrt(2 / 5_000), rel=1e-12)  # the minimum binds


def test_a_sampled_window_says_what_its_sample_could_have_seen() -> None:
    """A large window profiled in its database keeps a sample of its sorted values; the KS test
    (and so the mde) is that sample's, not the whole window's."""
    import dataclasses

    from driftwatch.column_profile import profile_numeric
    from driftwatch.detectors import CurrentData, DriftDetector
    from driftwatch.model import Schema
    from driftwatch.profiling import profile

    rng = np.random.default_rng(6)
    reference = profile(pd.DataFrame({"x": rng.normal(size=5_000)}), {"numeric": ["x"]})
    whole = profile_numeric(pd.Series(rng.normal(size=20_000)), "x", edges=reference.columns["x"].edges)
    sampled = dataclasses.replace(whole, sorted_values=np.sort(rng.choice(whole.sorted_values, 300, replace=False)))
    found = {}
    for name, cur in (("whole", whole), ("sampled", sampled)):
        data = CurrentData.profiled(reference, 20_000, {"x": cur}, {"x": "float64"})
        found[name] = DriftDetector().run(reference, data, Schema(numeric=("x",)))[0].details["mde"]
    assert found["sampled"] == pytest.approx(ks_detectable_gap(0.01, 5_000, 300), rel=1e-12)
    assert found["whole"] == pytest.approx(ks_detectable_gap(0.01, 5_000, 20_000, floor=0.05), rel=1e-12)


def test_the_ks_mde_in_standard_deviations_is_detected_with_about_80_percent_power() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(size=20_000)
    r = drift_of(driftwatch.check(pd.DataFrame({"x": ref}), pd.DataFrame({"x": rng.normal(size=400)})))
    delta = r.details["mde_sd"]
    # the rule for one column at this size: p below alpha and D at least the threshold; the KS
    # bound assumes the gap's largest scatter, so the power there errs high, never low
    runs = 200
    flagged = 0
    for _ in range(runs):
        result = stats.ks_2samp(ref, rng.normal(delta, size=400))
        flagged += result.pvalue < 0.01 and result.statistic >= 0.05
    assert 0.75 <= flagged / runs <= 0.99, (delta, flagged / runs)


def test_the_jensen_shannon_mde_is_detected_with_about_80_percent_power() -> None:
    rng = np.random.default_rng(5)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    ref = rng.multinomial(20_000, p)
    labels = np.array(list("abcd"))
    ref_frame = pd.DataFrame({"c": np.repeat(labels, ref)})
    r = drift_of(driftwatch.check(ref_frame, pd.DataFrame({"c": rng.choice(labels, 600, p=p)})), "c")
    mde = r.details["mde"]
    # a change in the direction of the reversed mix whose Jensen-Shannon distance is the mde
    direction = p[::-1] - p
    t = next(t for t in np.linspace(0, 1, 20_001) if jensenshannon(p, p + t * direction) >= mde)
    q = p + t * direction
    runs = 200
    flagged = 0
    for _ in range(runs):
        cur = rng.multinomial(600, q)
        value = jensenshannon(ref, cur)
        flagged += binned_p_value(JS, ref, cur, value)[0] < 0.01 and value >= 0.1
    assert 0.70 <= flagged / runs <= 0.95, (mde, flagged / runs)


def test_cramers_v_mde_is_sqrt_lambda_over_n_with_the_minimum_as_the_bar() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.choice(list("abc"), 3_000), rng.choice(list("abc"), 1_000)
    r = drift_of(driftwatch.check(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), method="chisquare"))
    # Cramér's V >= 0.1 is X2 >= N * 0.01 = 40, above the critical 9.2 at alpha 0.01: the minimum binds
    expected = math.sqrt(chi2_noncentrality(0.01, 2, floor=4_000 * 0.1**2) / 4_000)
    assert r.details["mde"] == pytest.approx(expected, rel=1e-9) and expected > 0.1
    table = np.array([[np.sum(ref == k) for k in "abc"], [np.sum(cur == k) for k in "abc"]])
    assert r.value == pytest.approx(association(table, method="cramer"), abs=1e-12)
