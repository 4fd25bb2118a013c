"""``driftwatch.check`` and ``driftwatch.profile``: routing of options, profile reuse, the run
context on results, and determinism."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driftwatch
from driftwatch import Profile, Result, Window
from driftwatch.api import default_detectors
from driftwatch.detectors import DriftDetector, QualityDetector
from driftwatch.profiling import ProfileOptions


def frames(seed: int = 0, n: int = 400, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({
        "x": rng.normal(size=n),
        "y": rng.gamma(2.0, size=n),
        "c": rng.choice(list("abcd"), n),
        "flag": rng.random(n) < 0.3,
    })
    cur = pd.DataFrame({
        "x": rng.normal(shift, size=n),
        "y": rng.gamma(2.0, size=n),
        "c": rng.choice(list("abcde"), n, p=[0.3, 0.3, 0.2, 0.1, 0.1]),
        "flag": rng.random(n) < 0.3,
    })
    return ref, cur


def as_json(results: list[Result]) -> list[dict[str, object]]:
    return [r.to_json() for r in results]


# --- profile once, check many ----------------------------------------------------------------

def test_check_with_a_profile_equals_check_with_the_frame() -> None:
    ref, cur = frames(1, shift=0.5)
    direct = as_json(driftwatch.check(ref, cur))
    assert as_json(driftwatch.check(driftwatch.profile(ref), cur)) == direct
    assert {r["status"] for r in direct} >= {"ok", "alert"}


def test_profile_options_given_to_check_equal_a_profile_built_with_them() -> None:
    ref, cur = frames(2, shift=0.3)
    built = driftwatch.profile(ref, options=ProfileOptions(bins=5, max_sample=200))
    via_check = as_json(driftwatch.check(ref, cur, bins=5, max_sample=200, method="psi"))
    assert as_json(driftwatch.check(built, cur, method="psi")) == via_check
    psi_x = next(r for r in via_check if r["feature"] == "x" and r["detector"] == "drift")
    assert len(psi_x["details"]["bins"]["labels"]) == 5 + 2  # type: ignore[index]


def test_one_profile_serves_many_windows() -> None:
    ref, _ = frames(3)
    p = Profile.from_bytes(driftwatch.profile(ref).to_bytes())
    for seed in (4, 5, 6):
        _, cur = frames(seed, shift=0.1 * seed)
        assert as_json(driftwatch.check(p, cur)) == as_json(driftwatch.check(ref, cur))


def test_profile_options_need_a_frame_reference() -> None:
    ref, cur = frames(7)
    with pytest.raises(TypeError, match="'bins'"):
        driftwatch.check(driftwatch.profile(ref), cur, bins=5)


def test_a_schema_differing_from_the_profiles_is_rejected() -> None:
    ref, cur = frames(8)
    p = driftwatch.profile(ref, {"numeric": ["x"]})
    with pytest.raises(ValueError, match="^schema:"):
        driftwatch.check(p, cur, {"numeric": ["x", "y"]})
    same = driftwatch.check(p, cur, {"numeric": ["x"]})
    assert {r.feature for r in same} == {"", "x"}


def test_schema_limits_the_watched_columns() -> None:
    ref, cur = frames(9)
    results = driftwatch.check(ref, cur, {"numeric": ["y"], "categorical": ["c"], "target": "flag"})
    assert {r.feature for r in results if r.feature} == {"y", "c"}


# --- options routing -----------------------------------------------------------------------------

def test_options_go_to_the_detector_that_has_them() -> None:
    drift, quality = default_detectors({"method": "psi", "min_rows": 10, "new_category_share": 0.2})
    assert isinstance(drift, DriftDetector) and isinstance(quality, QualityDetector)
    assert (drift.method, drift.min_rows) == ("psi", 10)
    assert (quality.min_rows, quality.new_category_share) == (10, 0.2)


def test_unknown_option_is_a_type_error_naming_it() -> None:
    ref, cur = frames(10)
    with pytest.raises(TypeError, match="'colour'"):
        driftwatch.check(ref, cur, colour="red")


def test_options_with_explicit_detectors_are_rejected() -> None:
    ref, cur = frames(11)
    with pytest.raises(TypeError, match="'method'"):
        driftwatch.check(ref, cur, detectors=[DriftDetector()], method="psi")


def test_explicit_detectors_are_the_only_ones_run() -> None:
    ref, cur = frames(12, shift=1.0)
    results = driftwatch.check(ref, cur, detectors=[DriftDetector(method="hellinger")])
    assert {r.detector for r in results} == {"drift"}
    assert {r.metric for r in results if r.feature} == {"hellinger"}
    assert next(r for r in results if r.feature == "x").status == "alert"


def test_default_detectors_give_drift_then_quality() -> None:
    ref, cur = frames(13)
    detectors = [r.detector for r in driftwatch.check(ref, cur)]
    assert detectors == sorted(detectors, key=["drift", "quality"].index)
    assert set(detectors) == {"drift", "quality"}


def test_drift_top_categories_reaches_the_drift_detector() -> None:
    rng = np.random.default_rng(14)
    ref = pd.DataFrame({"c": rng.choice(list("abcdefghij"), 500)})
    cur = pd.DataFrame({"c": rng.choice(list("abcdefghij"), 500)})
    results = driftwatch.check(ref, cur, detectors=[DriftDetector(method="jensenshannon", top_categories=3)])
    labels = next(r for r in results if r.feature == "c").details["bins"]["labels"]
    assert len(labels) == 4 and labels[-1] == "(other)"


def test_check_top_categories_option_sets_the_categorical_bins() -> None:
    rng = np.random.default_rng(14)
    ref = pd.DataFrame({"c": rng.choice(list("abcdefghij"), 500)})
    cur = pd.DataFrame({"c": rng.choice(list("abcdefghij"), 500)})
    for reference in (ref, driftwatch.profile(ref)):
        results = driftwatch.check(reference, cur, method="jensenshannon", top_categories=3)
        labels = next(r for r in results if r.feature == "c").details["bins"]["labels"]
        assert len(labels) == 4 and labels[-1] == "(other)"


# --- the run context -----------------------------------------------------------------------------

def test_results_carry_monitor_and_window_and_no_run_id() -> None:
    ref, cur = frames(15)
    window = Window(datetime(2026, 11, 1), datetime(2026, 11, 2))
    results = driftwatch.check(ref, cur, monitor="churn", window=window)
    assert results
    for r in results:
        assert r.monitor == "churn" and r.run_id is None
        assert r.window_start == datetime(2026, 11, 1, tzinfo=timezone.utc)
        assert r.window_end == datetime(2026, 11, 2, tzinfo=timezone.utc)
        payload = r.to_json()
        assert payload["window_start"] == "2026-11-01T00:00:00+00:00"


def test_results_without_a_window_have_none() -> None:
    ref, cur = frames(16)
    for r in driftwatch.check(ref, cur):
        assert (r.monitor, r.window_start, r.window_end) == ("adhoc", None, None)


@pytest.mark.parametrize("method", ["auto", "ks", "wasserstein", "psi", "jensenshannon", "hellinger",
                                    "cramervonmises", "anderson", "chisquare", "ztest"])
def test_results_are_strict_json(method: str) -> None:
    ref, cur = frames(17)
    ref.loc[:5, "x"] = np.nan
    ref.loc[6, "y"] = np.inf
    cur.loc[:, "x"] = np.nan  # all missing now
    cur.loc[:3, "y"] = -np.inf
    cur["flag"] = cur["flag"].astype(object)
    cur.loc[:9, "flag"] = None
    for r in driftwatch.check(ref, cur, method=method):
        payload = r.to_json()
        json.dumps(payload, allow_nan=False)  # no NaN / inf anywhere, details included
        for key in ("value", "p_value", "threshold"):
            v = payload[key]
            assert v is None or isinstance(v, float), (r.feature, r.metric, key, v)


def test_check_does_not_modify_its_inputs() -> None:
    ref, cur = frames(18)
    ref_copy, cur_copy = ref.copy(), cur.copy()
    driftwatch.check(ref, cur)
    pd.testing.assert_frame_equal(ref, ref_copy)
    pd.testing.assert_frame_equal(cur, cur_copy)


# --- determinism ---------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), shift=st.floats(-2, 2),
       method=st.sampled_from(["auto", "ks", "psi", "jensenshannon", "wasserstein"]))
def test_check_is_deterministic(seed: int, n: int, shift: float, method: str) -> None:
    ref, cur = frames(seed % 1000, n=max(n, 1), shift=shift)
    cur = cur.iloc[: n]
    first = as_json(driftwatch.check(ref, cur, method=method))
    second = as_json(driftwatch.check(ref.copy(), cur.copy(), method=method))
    assert first == second
