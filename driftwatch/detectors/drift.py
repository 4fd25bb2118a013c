"""Univariate drift per column, and data-set drift as the share of drifted columns.

One rule at every sample size: a column drifts when its change is **significant** (its
p-value of "no change", corrected across the run's columns, is below ``alpha``) **and large
enough** (its effect, the method's ``value``, is at least the practical minimum ``threshold``).
Significance alone flags a 0.02-sd shift at a million rows; a fixed distance alone flags the
noise of a 300-row window; together they stay quiet on both and there is no jump at any size.

``method = "auto"`` picks by column kind only:

* numeric: Kolmogorov–Smirnov, whose statistic ``D`` (the largest gap between the two CDFs) is
  an effect size too (practical minimum 0.05, about a 0.125-sd move of a normal column): free
  of the column's distribution and scale in both parts, so heavy tails fake neither;
* categorical: Jensen–Shannon distance over the top categories (0.1), significant by its
  permutation null over the same bins.

Each result also carries the smallest drift its window could have flagged (``details.mde``,
and ``mde_sd`` in reference standard deviations for numeric columns), for a column drifting
alone: at level ``alpha / m`` with ``m`` the columns corrected together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError
from ..model import Finding, Schema
from ..profiling import ColumnProfile, Profile
from .current import CurrentData
from .detectable import shift_needed
from .methods import METHODS, Context, Measurement, Method, align
from .methods.shifts import reference_cdf
from .multiple_testing import CORRECTIONS, correct
from .options import nested_tables

DIRECTIONS = ("both", "increase", "decrease")


def _check_direction(value: object, key: str) -> None:
    if value not in DIRECTIONS:
        raise ValueError(f"{key}: must be one of {', '.join(DIRECTIONS)}, got {value!r}")


def _check_method(value: object, key: str, *, allow_auto: bool) -> None:
    valid = (["auto"] if allow_auto else []) + sorted(METHODS)
    if value not in valid:
        raise ValueError(f"{key}: unknown method {value!r} (valid: {', '.join(valid)})")


def _check_bool(value: object, key: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false, got {value!r}")


def _check_alpha(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"alpha: must be in (0, 1), got {value!r}")


def _check_positive(value: object, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{key}: must be > 0, got {value!r}")


@dataclass(frozen=True)
class _Measured:
    """One column measured, waiting for the run's multiple-testing correction."""

    column: str
    method: Method
    ref: ColumnProfile
    cur: ColumnProfile
    ctx: Context
    measurement: Measurement
    threshold: float
    alpha: float
    direction: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ColumnRule:
    """Per-column overrides (``[monitors.detectors.columns.<name>]``); unset keys inherit."""

    method: str | None = None
    threshold: float | None = None
    alpha: float | None = None
    direction: str | None = None
    missing_as_category: bool | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            _check_method(self.method, "method", allow_auto=True)
        if self.threshold is not None:
            _check_positive(self.threshold, "threshold")
        if self.alpha is not None:
            _check_alpha(self.alpha)
        if self.direction is not None:
            _check_direction(self.direction, "direction")
        if self.missing_as_category is not None:
            _check_bool(self.missing_as_category, "missing_as_category")


@dataclass(frozen=True)
class DriftDetector:
    """Per-column drift plus data-set drift (``type = "drift"``).

    ``threshold`` is the practical minimum of the method's effect (None: the method's own);
    ``alpha`` the significance level of every method's p-value after ``correction``. A column
    rule can set either for one column. ``large_sample`` is no longer used (the rule is the same
    at every size) and is accepted only so old configs still load; ``validate`` says so.

    >>> DriftDetector(alpha=2)
    Traceback (most recent call last):
    ...
    ValueError: alpha: must be in (0, 1), got 2
    """

    name: ClassVar[str] = "drift"
    #: Reads only column profiles, never rows: a window profiled by its database will do.
    profiles_only: ClassVar[bool] = True

    method: str = "auto"
    threshold: float | None = None
    alpha: float = 0.01
    correction: str = "bh"
    drift_share: float = 0.5
    large_sample: int | None = None
    min_rows: int = 30
    missing_as_category: bool = False
    direction: str = "both"
    top_categories: int = 20
    columns: Mapping[str, ColumnRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_method(self.method, "method", allow_auto=True)
        if self.threshold is not None:
            _check_positive(self.threshold, "threshold")
        _check_alpha(self.alpha)
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction: must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")
        if isinstance(self.drift_share, bool) or not isinstance(self.drift_share, (int, float)) \
                or not 0 < self.drift_share <= 1:
            raise ValueError(f"drift_share: must be in (0, 1], got {self.drift_share!r}")
        for key in ("large_sample", "min_rows", "top_categories"):
            value = getattr(self, key)
            if key == "large_sample" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key}: must be an integer >= 1, got {value!r}")
        _check_direction(self.direction, "direction")
        _check_bool(self.missing_as_category, "missing_as_category")
        object.__setattr__(self, "columns", nested_tables(self.columns, ColumnRule, "columns"))

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.features)

    def config_warnings(self) -> list[str]:
        """Keys that still load but no longer do anything, as ``key: message`` lines."""
        if self.large_sample is None:
            return []
        return ["large_sample: no longer used: one rule (significant and at least the threshold) "
                "decides at every sample size; remove the key"]

    def pick(self, ref: ColumnProfile, rule: ColumnRule) -> Method:
        """The method for one column: the rule's, the detector's, or the ``auto`` choice."""
        name = rule.method or self.method
        if name != "auto":
            return METHODS[name]
        return METHODS["ks" if ref.kind == "numeric" else "jensenshannon"]

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        features = [c for c in schema.features if c in reference.columns]
        profiles = current.profiles(features)
        measured = [self._measure(column, reference.columns[column], profiles.get(column), current.n_rows)
                    for column in features]
        findings = self._decide(measured, current.segments_tested)
        findings.append(self._data_set(findings))
        return findings

    # -- one column ----------------------------------------------------------------------
    def _measure(self, column: str, ref: ColumnProfile, cur: ColumnProfile | DataError | None,
                 current_rows: int) -> _Measured | Finding:
        """The column's measurement awaiting the run's correction, or its final finding."""
        rule = self.columns.get(column, ColumnRule())
        as_category = self.missing_as_category if rule.missing_as_category is None else rule.missing_as_category
        if cur is None and current_rows == 0:  # no rows and no header (a zero-byte file)
            return Finding(column, rule.method or self.method, None, "insufficient_data",
                           details={"reason": "the current window has no rows (and no columns)"})
        if cur is None:
            return Finding(column, rule.method or self.method, None, "error",
                           details={"error": f"column {column!r} is missing from the current data"})
        if isinstance(cur, DataError):
            return Finding(column, rule.method or self.method, None, "error", details={"error": str(cur)})
        method = self.pick(ref, rule)
        details: dict[str, Any] = {
            "kind": ref.kind, "n_ref": ref.n, "n_cur": cur.n,
            "missing_share_ref": _share(ref.n_missing, ref.n), "missing_share_cur": _share(cur.n_missing, cur.n),
        }
        if ref.kind not in method.kinds:
            details["error"] = f"method {method.name!r} does not apply to {ref.kind} column {column!r}"
            return Finding(column, method.name, None, "error", details=details)
        counts_missing = as_category and method.sees_missing
        if min(_usable(ref, counts_missing), _usable(cur, counts_missing)) < self.min_rows:
            details["reason"] = f"fewer than min_rows={self.min_rows} usable values on one side"
            return Finding(column, method.name, None, "insufficient_data", details=details)
        ctx = Context(missing_as_category=as_category, top_categories=self.top_categories)
        try:
            measurement = method.compute(ref, cur, ctx)
        except (DataError, ValueError) as exc:  # kernels reject inputs a statistic is undefined on
            details["error"] = str(exc)
            return Finding(column, method.name, None, "error", details=details)
        details.update(measurement.details)
        details["effect"] = method.effect
        bins = align(ref, cur, top=self.top_categories, missing_as_category=as_category)
        details["bins"] = {"labels": list(bins.labels), "ref": _shares(bins.ref), "cur": _shares(bins.cur)}
        if ref.kind == "numeric" and math.isfinite(cur.mean - ref.mean):
            details["mean_shift"] = cur.mean - ref.mean
        threshold = next(t for t in (rule.threshold, self.threshold, method.default_threshold) if t is not None)
        return _Measured(column, method, ref, cur, ctx, measurement, float(threshold),
                         float(self.alpha if rule.alpha is None else rule.alpha),
                         rule.direction or self.direction, details)

    # -- decisions across columns ----------------------------------------------------------
    def _decide(self, measured: list[_Measured | Finding], segments: int = 1) -> list[Finding]:
        """Correct the p-values of every measured column together, then decide each (at
        ``alpha / segments`` when this is one of ``segments`` segments tested together)."""
        tested = [m for m in measured if isinstance(m, _Measured)]
        adjusted = iter(correct(np.array([m.measurement.p_value for m in tested], dtype=np.float64), self.correction))
        return [self._finding(m, float(next(adjusted)), len(tested), segments) if isinstance(m, _Measured) else m
                for m in measured]

    def _finding(self, m: _Measured, p_adjusted: float, tests: int, segments: int = 1) -> Finding:
        value = m.measurement.value
        alpha = m.alpha / segments
        significant = p_adjusted < alpha
        large = value >= m.threshold
        breached = significant and large
        rule = ("significant and at least the threshold" if breached
                else "not significant at this size" if not significant else "significant but under the threshold")
        details = {**m.details, "p_adjusted": p_adjusted, "alpha": alpha, "correction": self.correction}
        if segments > 1:
            details["segments_tested"] = segments
        if m.direction != "both":
            details["direction"] = m.direction
            shift = details.get("mean_shift")
            if breached and shift is not None and not (shift > 0 if m.direction == "increase" else shift < 0):
                breached, rule = False, f"moved against direction = {m.direction}"
        details["rule"] = rule
        details.update(self._detectable(m, alpha / tests if self.correction != "none" else alpha))
        return Finding(m.column, m.method.name, value, "alert" if breached else "ok", threshold=m.threshold,
                       p_value=m.measurement.p_value, details=details)

    @staticmethod
    def _detectable(m: _Measured, level: float) -> dict[str, float | None]:
        """The smallest drift this window flags with 80 % power: in the method's units (``mde``)
        and, for numeric columns, as a location shift in reference stds (``mde_sd``)."""
        mde = m.method.detectable(m.ref, m.cur, m.ctx, level, m.threshold)
        mde_sd = None
        shift = m.method.shift
        if mde is not None and shift is not None and m.ref.std > 0 and math.isfinite(m.ref.std):
            cdf = reference_cdf(m.ref.sorted_values)
            if cdf is not None:
                mde_sd = shift_needed(lambda delta: shift(cdf, m.ref, delta * m.ref.std), mde)
        return {"mde": mde, "mde_sd": mde_sd}

    def _data_set(self, findings: list[Finding]) -> Finding:
        decided = [f for f in findings if f.status in ("ok", "alert")]
        drifted = sorted(f.feature for f in decided if f.status == "alert")
        details = {"drifted": drifted, "columns": len(decided),
                   "not_decided": sorted(f.feature for f in findings if f.status not in ("ok", "alert"))}
        if not decided:
            return Finding("", "drift_share", None, "insufficient_data", threshold=self.drift_share, details=details)
        share = len(drifted) / len(decided)
        return Finding("", "drift_share", share, "alert" if share >= self.drift_share else "ok",
                       threshold=self.drift_share, details=details)


def _usable(profile: ColumnProfile, missing_as_category: bool) -> int:
    if missing_as_category:
        return profile.n
    return profile.n_finite if profile.kind == "numeric" else profile.n_present


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]
