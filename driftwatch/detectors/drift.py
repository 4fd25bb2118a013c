"""Univariate drift per column, and data-set drift as the share of drifted columns.

``method = "auto"`` picks by column kind and sample size (the smaller of the two sides'
usable rows):

* numeric, fewer than ``large_sample`` rows: Kolmogorov-Smirnov test (p-value);
* numeric, ``large_sample`` rows or more: Wasserstein distance / reference std (> 0.1);
* categorical with at most two categories, small: two-proportion z-test (p-value);
* categorical, small: chi-square test of homogeneity (p-value);
* categorical, large: Jensen-Shannon distance over the top categories (> 0.1).

Why switch: with 100k+ rows every p-value is tiny, so a test flags shifts nobody cares about
(0.02 standard deviations); a distance with an effect-size threshold does not. P-values are
corrected across the columns of one run (Benjamini-Hochberg by default) before they decide.
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
from .methods import METHODS, Context, Measurement, Method, align
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


def _check_positive(value: object, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{key}: must be > 0, got {value!r}")


@dataclass(frozen=True)
class ColumnRule:
    """Per-column overrides (``[monitors.detectors.columns.<name>]``); unset keys inherit."""

    method: str | None = None
    threshold: float | None = None
    direction: str | None = None
    missing_as_category: bool | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            _check_method(self.method, "method", allow_auto=True)
        if self.threshold is not None:
            _check_positive(self.threshold, "threshold")
        if self.direction is not None:
            _check_direction(self.direction, "direction")
        if self.missing_as_category is not None:
            _check_bool(self.missing_as_category, "missing_as_category")


@dataclass(frozen=True)
class DriftDetector:
    """Per-column drift plus data-set drift (``type = "drift"``).

    ``threshold`` is the distance above which a column drifts (None: the method's default);
    ``alpha`` the significance level of p-value methods. In a column rule, ``threshold`` is
    whichever of the two the column's method uses.

    >>> DriftDetector(alpha=2)
    Traceback (most recent call last):
    ...
    ValueError: alpha: must be in (0, 1), got 2
    """

    name: ClassVar[str] = "drift"

    method: str = "auto"
    threshold: float | None = None
    alpha: float = 0.05
    correction: str = "bh"
    drift_share: float = 0.5
    large_sample: int = 10_000
    min_rows: int = 30
    missing_as_category: bool = False
    direction: str = "both"
    top_categories: int = 20
    columns: Mapping[str, ColumnRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_method(self.method, "method", allow_auto=True)
        if self.threshold is not None:
            _check_positive(self.threshold, "threshold")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise ValueError(f"alpha: must be in (0, 1), got {self.alpha!r}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction: must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")
        if isinstance(self.drift_share, bool) or not isinstance(self.drift_share, (int, float)) \
                or not 0 < self.drift_share <= 1:
            raise ValueError(f"drift_share: must be in (0, 1], got {self.drift_share!r}")
        for key in ("large_sample", "min_rows", "top_categories"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key}: must be an integer >= 1, got {value!r}")
        _check_direction(self.direction, "direction")
        _check_bool(self.missing_as_category, "missing_as_category")
        object.__setattr__(self, "columns", nested_tables(self.columns, ColumnRule, "columns"))

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.features)

    def pick(self, ref: ColumnProfile, cur: ColumnProfile, rule: ColumnRule, *,
             missing_as_category: bool = False) -> Method:
        """The method for one column: the rule's, the detector's, or the ``auto`` choice."""
        name = rule.method or self.method
        if name != "auto":
            return METHODS[name]
        n = min(_usable(ref, False), _usable(cur, False))
        large = n >= self.large_sample
        if ref.kind == "numeric":
            return METHODS["wasserstein" if large else "ks"]
        if large:
            return METHODS["jensenshannon"]
        categories = len(set(ref.categories) | set(cur.categories))
        if missing_as_category and (ref.n_missing or cur.n_missing):
            categories += 1
        binary = categories <= 2 and not ref.other_count
        return METHODS["ztest" if binary else "chisquare"]

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        features = [c for c in schema.features if c in reference.columns]
        profiles = current.profiles(features)
        rows: list[dict[str, Any]] = []
        for column in features:
            rows.append(self._measure(column, reference.columns[column], profiles.get(column)))
        self._decide(rows)
        findings = [row["finding"] for row in rows]
        findings.append(self._data_set(rows))
        return findings

    # -- one column ----------------------------------------------------------------------
    def _measure(self, column: str, ref: ColumnProfile, cur: ColumnProfile | DataError | None) -> dict[str, Any]:
        rule = self.columns.get(column, ColumnRule())
        as_category = self.missing_as_category if rule.missing_as_category is None else rule.missing_as_category
        if cur is None:
            return _final(Finding(column, rule.method or self.method, None, "error",
                                  details={"error": f"column {column!r} is missing from the current data"}))
        if isinstance(cur, DataError):
            return _final(Finding(column, rule.method or self.method, None, "error", details={"error": str(cur)}))
        method = self.pick(ref, cur, rule, missing_as_category=as_category)
        details: dict[str, Any] = {
            "kind": ref.kind, "n_ref": ref.n, "n_cur": cur.n,
            "missing_share_ref": _share(ref.n_missing, ref.n), "missing_share_cur": _share(cur.n_missing, cur.n),
        }
        if ref.kind not in method.kinds:
            details["error"] = f"method {method.name!r} does not apply to {ref.kind} column {column!r}"
            return _final(Finding(column, method.name, None, "error", details=details))
        counts_missing = as_category and method.sees_missing
        if min(_usable(ref, counts_missing), _usable(cur, counts_missing)) < self.min_rows:
            details["reason"] = f"fewer than min_rows={self.min_rows} usable values on one side"
            return _final(Finding(column, method.name, None, "insufficient_data", details=details))
        ctx = Context(missing_as_category=as_category, top_categories=self.top_categories)
        try:
            measured: Measurement = method.compute(ref, cur, ctx)
        except (DataError, ValueError) as exc:  # kernels reject inputs a statistic is undefined on
            details["error"] = str(exc)
            return _final(Finding(column, method.name, None, "error", details=details))
        details.update(measured.details)
        bins = align(ref, cur, top=self.top_categories, missing_as_category=as_category)
        details["bins"] = {"labels": list(bins.labels), "ref": _shares(bins.ref), "cur": _shares(bins.cur)}
        direction = rule.direction or self.direction
        if ref.kind == "numeric" and math.isfinite(cur.mean - ref.mean):
            details["mean_shift"] = cur.mean - ref.mean
        if method.decides_on == "p_value":
            threshold = rule.threshold if rule.threshold is not None else self.alpha
        elif rule.threshold is not None:
            threshold = rule.threshold
        else:
            threshold = self.threshold if self.threshold is not None else method.default_threshold
        return {"column": column, "method": method, "measured": measured, "threshold": threshold,
                "direction": direction, "details": details, "finding": None}

    # -- decisions across columns ----------------------------------------------------------
    def _decide(self, rows: list[dict[str, Any]]) -> None:
        tested = [r for r in rows if r["finding"] is None and r["method"].decides_on == "p_value"]
        p = np.array([r["measured"].p_value for r in tested], dtype=np.float64)
        adjusted = correct(p, self.correction)
        for row, p_adj in zip(tested, adjusted):
            row["details"]["p_adjusted"] = float(p_adj)
            row["details"]["correction"] = self.correction
        for row in rows:
            if row["finding"] is not None:
                continue
            measured, details = row["measured"], row["details"]
            if row["method"].decides_on == "p_value":
                breached = details["p_adjusted"] < row["threshold"]
            else:
                breached = measured.value > row["threshold"]
            direction = row["direction"]
            if direction != "both":
                details["direction"] = direction
                shift = details.get("mean_shift")
                if shift is not None:
                    breached = breached and (shift > 0 if direction == "increase" else shift < 0)
            row["finding"] = Finding(row["column"], row["method"].name, measured.value,
                                     "alert" if breached else "ok", threshold=row["threshold"],
                                     p_value=measured.p_value, details=details)

    def _data_set(self, rows: list[dict[str, Any]]) -> Finding:
        decided = [r["finding"] for r in rows if r["finding"].status in ("ok", "alert")]
        drifted = sorted(f.feature for f in decided if f.status == "alert")
        details = {"drifted": drifted, "columns": len(decided),
                   "not_decided": sorted(r["finding"].feature for r in rows
                                         if r["finding"].status not in ("ok", "alert"))}
        if not decided:
            return Finding("", "drift_share", None, "insufficient_data", threshold=self.drift_share, details=details)
        share = len(drifted) / len(decided)
        return Finding("", "drift_share", share, "alert" if share >= self.drift_share else "ok",
                       threshold=self.drift_share, details=details)


def _final(finding: Finding) -> dict[str, Any]:
    return {"column": finding.feature, "finding": finding}


def _usable(profile: ColumnProfile, missing_as_category: bool) -> int:
    if missing_as_category:
        return profile.n
    return profile.n_finite if profile.kind == "numeric" else profile.n_present


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]
