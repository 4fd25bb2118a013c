"""Results: NaN handling, JSON details, ordering and filters of ``Store.results``."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from driftwatch.model import Window
from driftwatch.store import Store
from driftwatch.store.results import json_safe

from .conftest import SEGMENTS, store_segmented_runs


def _finished_run(store: Store, window: Window, results: list, monitor: str = "churn") -> int:
    run_id = store.start_run(monitor, window, owner="t")
    assert run_id is not None
    store.finish_run(run_id, results, rows_reference=None, rows_current=None)
    return run_id


def test_non_finite_details_become_null(store: Store, days, make_result) -> None:
    details = {
        "nan": float("nan"),
        "list": [1.5, float("inf"), -float("inf"), None],
        "nested": {"deep": np.float64("nan"), "ok": np.float32(0.5)},
        "array": np.array([1.0, np.nan, 3.0]),
        "counts": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "n": np.int64(7),
        "flag": np.bool_(True),
        "tuple": (1, "a"),
        "text": "kept",
    }
    run_id = _finished_run(store, days[0], [make_result(days[0], details=details)])
    (stored,) = store.results(run_id=run_id)
    assert stored.details == {
        "nan": None,
        "list": [1.5, None, None, None],
        "nested": {"deep": None, "ok": 0.5},
        "array": [1.0, None, 3.0],
        "counts": [[1, 2], [3, 4]],
        "n": 7,
        "flag": True,
        "tuple": [1, "a"],
        "text": "kept",
    }
    assert type(stored.details["n"]) is int and type(stored.details["flag"]) is bool


def test_nan_values_become_null_and_infinity_is_kept(store: Store, days, make_result) -> None:
    nan_result = make_result(days[0], feature="age", value=float("nan"), p_value=np.float64("nan"),
                             threshold=float("nan"), status="insufficient_data")
    inf_result = make_result(days[0], feature="income", metric="psi", value=float("inf"), p_value=None)
    run_id = _finished_run(store, days[0], [nan_result, inf_result])
    first, second = store.results(run_id=run_id)
    assert (first.value, first.p_value, first.threshold) == (None, None, None)
    assert second.value == math.inf and second.p_value is None and second.threshold == 0.05


def test_details_key_order_and_floats_are_preserved(store: Store, days, make_result) -> None:
    details = {"z": 1, "a": 2, "m": {"y": 0.1, "b": 1e300, "c": -0.0}, "5": "five"}
    run_id = _finished_run(store, days[0], [make_result(days[0], details=details)])
    (stored,) = store.results(run_id=run_id)
    assert list(stored.details) == ["z", "a", "m", "5"]
    assert list(stored.details["m"]) == ["y", "b", "c"]
    assert stored.details["m"]["b"] == 1e300 and isinstance(stored.details["m"]["b"], float)


def test_results_round_trip_fields(store: Store, days, make_result) -> None:
    result = make_result(days[1], feature="region", metric="chi2", value=12.5, p_value=1e-12, threshold=0.05,
                         status="alert", details={"categories": {"north": 0.4, "south": 0.6}})
    run_id = _finished_run(store, days[1], [result])
    (stored,) = store.results(run_id=run_id)
    assert stored.to_json() == {**result.to_json(), "run_id": run_id}
    assert stored.window_end is not None and stored.window_end.tzinfo is timezone.utc


def test_results_ordered_by_window_end_then_insertion(store: Store, days, make_result) -> None:
    # Runs are finished out of window order; results come back in time order anyway.
    late = _finished_run(store, days[2], [make_result(days[2], feature="b"), make_result(days[2], feature="a")])
    early = _finished_run(store, days[0], [make_result(days[0], feature="b"), make_result(days[0], feature="a")])
    middle = _finished_run(store, days[1], [make_result(days[1], feature="x")])
    got = [(r.run_id, r.feature) for r in store.results(monitor="churn")]
    assert got == [(early, "b"), (early, "a"), (middle, "x"), (late, "b"), (late, "a")]


def test_results_filters(store: Store, days, make_result) -> None:
    run1 = _finished_run(store, days[0], [
        make_result(days[0], feature="age", metric="ks"),
        make_result(days[0], feature="age", metric="psi"),
        make_result(days[0], feature="", metric="share_drifted"),
    ])
    run2 = _finished_run(store, days[1], [
        make_result(days[1], feature="age", metric="ks"),
        make_result(days[1], feature="", metric="share_drifted"),
    ])
    run3 = _finished_run(store, days[2], [make_result(days[2], monitor="fraud", feature="age", metric="ks")],
                         monitor="fraud")

    def keys(**filters) -> list[tuple[int | None, str, str]]:
        return [(r.run_id, r.feature, r.metric) for r in store.results(**filters)]

    assert keys(run_id=run2) == [(run2, "age", "ks"), (run2, "", "share_drifted")]
    assert keys(monitor="fraud") == [(run3, "age", "ks")]
    assert keys(monitor="churn", metric="ks") == [(run1, "age", "ks"), (run2, "age", "ks")]
    assert keys(metric="ks") == [(run1, "age", "ks"), (run2, "age", "ks"), (run3, "age", "ks")]
    assert keys(monitor="churn", feature="") == [(run1, "", "share_drifted"), (run2, "", "share_drifted")]
    assert keys(monitor="churn", feature="age", metric="psi") == [(run1, "age", "psi")]
    # since/until bound window_end, both inclusive.
    assert keys(metric="ks", since=days[1].end) == [(run2, "age", "ks"), (run3, "age", "ks")]
    assert keys(metric="ks", until=days[1].end) == [(run1, "age", "ks"), (run2, "age", "ks")]
    assert keys(metric="ks", since=days[1].end, until=days[1].end) == [(run2, "age", "ks")]
    plus_one = timezone(timedelta(hours=1))
    assert keys(metric="ks", since=days[1].end.astimezone(plus_one) + timedelta(seconds=1)) == [(run3, "age", "ks")]
    assert keys(limit=2) == [(run1, "age", "ks"), (run1, "age", "psi")]
    assert keys(monitor="nobody") == []


def test_results_segment_filter(store: Store) -> None:
    runs = store_segmented_runs(store, 2)
    assert {r.segment for r in store.results(monitor="m")} == {"", *SEGMENTS}  # None: every row
    whole = store.results(monitor="m", segment="")
    assert [(r.run_id, r.segment, r.metric) for r in whole] == [
        (run, "", metric) for run in runs for metric in ("drift_share", "ks")]
    brazil = store.results(monitor="m", feature="", segment="country=BR")
    assert [(r.run_id, r.detector, r.metric, r.value) for r in brazil] == [
        (run, detector, metric, value) for run in runs
        for detector, metric, value in (("segments", "rows", 200.0), ("drift", "drift_share", 0.9))]


def test_results_rejects_naive_bounds_and_bad_limit(store: Store) -> None:
    with pytest.raises(ValueError, match="since: must be a timezone-aware datetime"):
        store.results(since=datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="until: must be a timezone-aware datetime"):
        store.results(until=datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="limit: must be a positive integer"):
        store.results(limit=0)


def test_json_safe_names_the_path_of_what_it_cannot_store() -> None:
    with pytest.raises(TypeError, match=r"details\.groups\[1\]\.when: set cannot be stored as JSON"):
        json_safe({"groups": [{}, {"when": {1, 2}}]})
    with pytest.raises(TypeError, match=r"details: key \(1, 2\) \(tuple\) cannot be a JSON object key"):
        json_safe({(1, 2): "x"})


def test_json_safe_converts_keys_and_scalars() -> None:
    when = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert json_safe({1: "a", np.int64(2): "b", None: "d", 0.5: "e", "at": when}) == {
        "1": "a", "2": "b", "null": "d", "0.5": "e", "at": "2026-11-01T00:00:00+00:00"}
    assert json_safe({False: "no", np.bool_(True): "yes"}) == {"false": "no", "true": "yes"}
    assert json_safe(np.float64("-inf")) is None
    assert json_safe([np.nan, 2]) == [None, 2]
