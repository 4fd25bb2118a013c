"""The pure alert state machine (``driftwatch.alerts.state``): identity and fingerprints (R1), firing
after ``for_runs`` and resolving after ``keep_firing_runs`` (R2), and what ``insufficient_data``
means under each ``no_data`` choice (R3). No database: ``evaluate`` is tested in test_evaluate.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from driftwatch.alerts.state import NO_DATA, Observation, Policy, observe, step
from driftwatch.model import AlertKey, AlertState

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
KEY = AlertKey("churn", "drift", "age", "psi")


def run(statuses: list[str], policy: Policy, state: AlertState | None = None,
        value: float = 0.4) -> list[tuple[AlertState, str | None]]:
    """Feed one status per run through ``observe``/``step``; every (state, change) on the way."""
    state = state or AlertState(KEY)
    out = []
    for n, status in enumerate(statuses, start=1):
        state, change = step(state, observe(status, value, 0.2, None, policy), policy, run_id=n,
                             window_end=T0 + timedelta(hours=n), now=T0 + timedelta(hours=n))
        out.append((state, change))
    return out


def trace(statuses: list[str], policy: Policy) -> list[tuple[str, str | None]]:
    return [(s.state, c) for s, c in run(statuses, policy)]


# -- R1: identity and fingerprint -----------------------------------------------------------------


def expected_fingerprint(*parts: str) -> str:
    canonical = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize("parts", [("churn", "drift", "age", "psi"), ("churn", "engine", "", "run_failed"),
                                   ("crédit", "quality", "âge", "missing_share")])
def test_r1_fingerprint_is_first_16_hex_of_sha256_of_the_canonical_tuple(parts: tuple[str, str, str, str]) -> None:
    fp = AlertKey(*parts).fingerprint
    assert fp == expected_fingerprint(*parts)
    assert len(fp) == 16 and all(c in "0123456789abcdef" for c in fp)


def test_r1_fingerprint_tells_apart_keys_that_concatenate_alike() -> None:
    a = AlertKey("m", "drift", "ab", "c")
    b = AlertKey("m", "drift", "a", "bc")
    c = AlertKey("m", "drift", "a,b", "c")
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3
    assert AlertKey("churn", "drift", "age", "psi").fingerprint != AlertKey("churn", "drift", "age", "ks").fingerprint


def test_r1_fingerprint_is_identical_in_another_process() -> None:
    keys = [("churn", "drift", "age", "psi"), ("crédit", "engine", "", "run_failed")]
    code = ("import json, sys\nfrom driftwatch.model import AlertKey\n"
            "print(json.dumps([AlertKey(*k).fingerprint for k in json.loads(sys.argv[1])]))")
    # a different hash seed and a non-UTF-8 locale must not matter
    env = {"PYTHONHASHSEED": "12345", "LC_ALL": "C", "PYTHONIOENCODING": "utf-8"}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(keys)], capture_output=True, text=True,
                         check=True, env=env, timeout=60)
    assert json.loads(out.stdout) == [AlertKey(*k).fingerprint for k in keys]
    assert json.loads(out.stdout)[0] == "bdd69a4d6cc42b47"  # pinned: changing it would orphan every stored alert


# -- R2: for_runs and keep_firing_runs -----------------------------------------------------------------


def test_r2_default_policy_fires_on_first_breach_and_resolves_on_first_clean_run() -> None:
    assert trace(["alert", "ok", "ok"], Policy()) == [("firing", "new"), ("resolved", "resolved"), ("ok", None)]


def test_r2_for_runs_3_pending_twice_then_firing_once() -> None:
    assert trace(["alert", "warn", "alert", "alert"], Policy(for_runs=3)) == [
        ("pending", None), ("pending", None), ("firing", "new"), ("firing", "still")]


def test_r2_for_runs_3_an_ok_run_in_between_resets_the_count() -> None:
    assert trace(["alert", "alert", "ok", "alert", "alert", "alert"], Policy(for_runs=3)) == [
        ("pending", None), ("pending", None), ("ok", None), ("pending", None), ("pending", None), ("firing", "new")]


def test_r2_keep_firing_runs_2_resolves_after_two_clean_runs_then_ok() -> None:
    steps = run(["alert", "ok", "ok", "ok"], Policy(keep_firing_runs=2))
    assert [(s.state, c) for s, c in steps] == [
        ("firing", "new"), ("firing", "still"), ("resolved", "resolved"), ("ok", None)]
    assert steps[2][0].resolved_at == T0 + timedelta(hours=3)
    assert steps[3][0].severity is None


def test_r2_keep_firing_runs_2_a_breach_between_clean_runs_restarts_the_count() -> None:
    assert trace(["alert", "ok", "alert", "ok", "ok"], Policy(keep_firing_runs=2)) == [
        ("firing", "new"), ("firing", "still"), ("firing", "still"), ("firing", "still"), ("resolved", "resolved")]


def test_r2_firing_state_records_when_it_started_and_the_latest_figure() -> None:
    steps = run(["alert", "alert"], Policy())
    first, second = steps[0][0], steps[1][0]
    assert first.active_since == second.active_since == T0 + timedelta(hours=1)
    assert (second.last_run_id, second.last_window_end, second.breaching_runs) == (2, T0 + timedelta(hours=2), 2)
    assert (second.value, second.threshold) == (0.4, 0.2)


def test_r2_a_resolved_alert_that_breaches_again_fires_anew_with_a_new_start() -> None:
    steps = run(["alert", "ok", "alert"], Policy())
    assert [(s.state, c) for s, c in steps] == [("firing", "new"), ("resolved", "resolved"), ("firing", "new")]
    assert steps[2][0].active_since == T0 + timedelta(hours=3)
    assert steps[2][0].resolved_at is None


def test_r2_severity_of_a_firing_alert_does_not_drop_from_alert_to_warn() -> None:
    steps = run(["warn", "alert", "warn"], Policy())
    assert [s.severity for s, _ in steps] == ["warn", "alert", "alert"]


@pytest.mark.parametrize("field,value", [("for_runs", 0), ("keep_firing_runs", -1), ("for_runs", True),
                                         ("keep_firing_runs", 1.5)])
def test_r2_policy_rejects_bad_run_counts_naming_the_key(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        Policy(**{field: value})  # type: ignore[arg-type]


# -- R3: insufficient_data and no_data ---------------------------------------------------------------


def test_r3_no_data_choices_are_exactly_the_documented_three() -> None:
    assert NO_DATA == ("keep_last", "ok", "alerting")
    with pytest.raises(ValueError, match="^no_data: "):
        Policy(no_data="ignore")


def test_r3_no_data_keep_last_leaves_a_firing_alert_firing_and_untouched() -> None:
    policy = Policy()
    firing, _ = run(["alert"], policy)[0]
    after, change = step(firing, observe("insufficient_data", None, 0.2, None, policy), policy, run_id=9,
                         window_end=T0 + timedelta(days=1), now=T0 + timedelta(days=1))
    assert after == firing  # not even last_run_id moves: nothing happened
    assert change == "still"


def test_r3_no_data_keep_last_neither_advances_nor_resets_a_pending_count() -> None:
    assert trace(["alert", "insufficient_data", "alert", "insufficient_data", "alert"], Policy(for_runs=3)) == [
        ("pending", None), ("pending", None), ("pending", None), ("pending", None), ("firing", "new")]


def test_r3_no_data_keep_last_does_not_move_an_ok_alert() -> None:
    assert trace(["insufficient_data"], Policy()) == [("ok", None)]
    assert run(["insufficient_data"], Policy())[0][0] == AlertState(KEY)


def test_r3_no_data_ok_counts_as_a_clean_run() -> None:
    assert trace(["alert", "insufficient_data"], Policy(no_data="ok")) == [("firing", "new"), ("resolved", "resolved")]


def test_r3_no_data_alerting_counts_as_a_warn_breach() -> None:
    steps = run(["insufficient_data", "insufficient_data"], Policy(no_data="alerting", for_runs=2))
    assert [(s.state, c, s.severity) for s, c in steps] == [("pending", None, "warn"), ("firing", "new", "warn")]


@pytest.mark.parametrize("status,kind,severity", [("ok", "clean", None), ("warn", "breach", "warn"),
                                                  ("alert", "breach", "alert"), ("error", "breach", "error")])
def test_r3_observe_maps_each_status(status: str, kind: str, severity: str | None) -> None:
    obs = observe(status, 0.3, 0.2, 0.01, Policy())
    assert obs == Observation(kind, severity, 0.3, 0.2, 0.01)  # type: ignore[arg-type]


def test_r2_step_is_pure() -> None:
    """``step`` does not mutate: the same input gives the same output twice."""
    policy = Policy(for_runs=2)
    start = replace(AlertState(KEY), state="pending", breaching_runs=1, severity="warn")
    obs = observe("alert", 0.5, 0.2, None, policy)
    kwargs = {"run_id": 3, "window_end": T0, "now": T0}
    assert step(start, obs, policy, **kwargs) == step(start, obs, policy, **kwargs)  # type: ignore[arg-type]
    assert start.state == "pending" and start.breaching_runs == 1
