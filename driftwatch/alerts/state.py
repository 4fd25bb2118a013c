"""The alert state machine (R1–R3): pure functions from an alert's state and one run's figure
to its next state and what changed. No I/O: ``evaluate`` loads and stores the states.

An alert is one figure of one monitor, keyed by (monitor, detector, feature, metric). Each run
observes it as a *breach* (status ``warn``, ``alert`` or ``error``), *clean* (``ok``) or, for
``insufficient_data``, whatever ``no_data`` says (``keep_last``: nothing happened; ``ok``: clean;
``alerting``: a ``warn`` breach). Then::

    ok/resolved --breach--> pending (or firing once for_runs breaches in a row)
    pending     --breach--> firing after for_runs breaches in a row   [change: new]
    pending     --clean---> ok
    firing      --breach--> firing                                    [change: still]
    firing      --clean---> resolved after keep_firing_runs clean runs [change: resolved]
    resolved    --clean---> ok

>>> from driftwatch.model import AlertKey
>>> key = AlertKey("churn", "drift", "age", "psi")
>>> key.fingerprint
'bdd69a4d6cc42b47'
>>> policy = Policy(for_runs=3)
>>> state, changes = AlertState(key), []
>>> for status in ["alert", "alert", "alert", "ok"]:
...     state, change = step(state, observe(status, 0.4, 0.2, None, policy), policy, run_id=1, window_end=None,
...                          now=datetime(2026, 11, 1, tzinfo=timezone.utc))
...     changes.append((state.state, change))
>>> changes
[('pending', None), ('pending', None), ('firing', 'new'), ('resolved', 'resolved')]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal

from ..model import AlertState

__all__ = ["NO_DATA", "Observation", "Policy", "observe", "step"]

#: What ``insufficient_data`` counts as (R3).
NO_DATA: tuple[str, ...] = ("keep_last", "ok", "alerting")

Kind = Literal["breach", "clean", "keep"]
Change = Literal["new", "still", "resolved"]


@dataclass(frozen=True)
class Policy:
    """How many runs make an alert fire and resolve, and what missing data means (R2, R3)."""

    for_runs: int = 1
    keep_firing_runs: int = 1
    no_data: str = "keep_last"

    def __post_init__(self) -> None:
        for name in ("for_runs", "keep_firing_runs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        if self.no_data not in NO_DATA:
            raise ValueError(f"no_data: must be one of {', '.join(NO_DATA)}, got {self.no_data!r}")


@dataclass(frozen=True)
class Observation:
    """One run's reading of an alert's figure."""

    kind: Kind
    severity: str | None = None
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None


def observe(status: str, value: float | None, threshold: float | None, p_value: float | None,
            policy: Policy) -> Observation:
    """What a result of ``status`` means for its alert under ``policy``."""
    if status in ("warn", "alert", "error"):
        return Observation("breach", status, value, threshold, p_value)
    if status == "insufficient_data":
        if policy.no_data == "ok":
            return Observation("clean", None, value, threshold, p_value)
        if policy.no_data == "alerting":
            return Observation("breach", "warn", value, threshold, p_value)
        return Observation("keep")
    return Observation("clean", None, value, threshold, p_value)


def step(state: AlertState, obs: Observation, policy: Policy, *, run_id: int | None,
         window_end: datetime | None, now: datetime | None = None) -> tuple[AlertState, Change | None]:
    """The alert's state after one more run, and its change in that run (``None``: nothing to say)."""
    if obs.kind == "keep":
        return state, ("still" if state.state == "firing" else None)
    now = now or datetime.now(timezone.utc)
    seen = replace(state, last_run_id=run_id, last_window_end=window_end, value=obs.value,
                   threshold=obs.threshold, p_value=obs.p_value)
    if obs.kind == "breach":
        breaching = state.breaching_runs + 1
        if state.state == "firing":
            return replace(seen, severity=_worse(obs.severity, state.severity), breaching_runs=breaching,
                           clean_runs=0), "still"
        if breaching >= policy.for_runs:
            return replace(seen, state="firing", severity=obs.severity, breaching_runs=breaching, clean_runs=0,
                           active_since=now, resolved_at=None), "new"
        return replace(seen, state="pending", severity=obs.severity, breaching_runs=breaching, clean_runs=0), None
    # a clean run
    if state.state == "firing":
        clean = state.clean_runs + 1
        if clean >= policy.keep_firing_runs:
            return replace(seen, state="resolved", breaching_runs=0, clean_runs=clean, resolved_at=now), "resolved"
        return replace(seen, breaching_runs=0, clean_runs=clean), "still"
    return replace(seen, state="ok", severity=None, breaching_runs=0, clean_runs=state.clean_runs + 1), None


_RANK = {None: 0, "warn": 1, "alert": 2, "error": 3}


def _worse(a: str | None, b: str | None) -> str | None:
    """The worse severity of a firing alert: once ``alert``, a ``warn`` run does not downgrade it
    until it resolves (the latest figure is still shown)."""
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b
