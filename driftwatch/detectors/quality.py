"""Data quality: what a drift figure would hide.

Missing values, infinities, new or vanished categories and values outside the reference range
are reported as figures of their own instead of being dropped on the way to a distance. The
defaults that alert (all shares are of current rows):

* ``missing_share`` up by ``missing_share_increase`` (0.10) or more, absolute;
* ``non_finite_share`` above 0 when the reference had no ±inf;
* ``new_category_share`` (rows in categories the reference never had) ≥ 0.01;
* ``out_of_range_share`` (finite values outside the reference [min, max]) ≥ 0.01;
* ``vanished_category_share`` (reference rows in categories absent now) ≥ 0.01 warns.

A column named in the schema but absent from the current window is a ``column_missing`` alert;
one that no longer reads as its reference type (text in a numeric column) is ``dtype_mismatch``.
When the schema was inferred from the reference (every column watched), a current column the
reference did not have is a ``column_extra`` warning.
Fewer than ``min_rows`` current rows make ``row_count`` ``insufficient_data`` and the shares
are reported but do not alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import DataError
from ..model import Finding, Schema, Status
from ..profiling import ColumnProfile, Profile
from .current import CurrentData

DIRECTIONS = ("both", "increase", "decrease")
_SHOWN = 10  # categories listed in details


@dataclass(frozen=True)
class QualityDetector:
    """Data-quality figures per column and for the window (``type = "quality"``).

    >>> QualityDetector(out_of_range_share=0)
    Traceback (most recent call last):
    ...
    ValueError: out_of_range_share: must be in (0, 1], got 0
    """

    name: ClassVar[str] = "quality"

    min_rows: int = 30
    missing_share_increase: float = 0.10
    missing_direction: str = "increase"
    new_category_share: float = 0.01
    vanished_category_share: float = 0.01
    out_of_range_share: float = 0.01

    def __post_init__(self) -> None:
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int) or self.min_rows < 1:
            raise ValueError(f"min_rows: must be an integer >= 1, got {self.min_rows!r}")
        for key in ("missing_share_increase", "new_category_share", "vanished_category_share",
                    "out_of_range_share"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{key}: must be in (0, 1], got {value!r}")
        if self.missing_direction not in DIRECTIONS:
            raise ValueError(f"missing_direction: must be one of {', '.join(DIRECTIONS)}, "
                             f"got {self.missing_direction!r}")

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.features)

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        n = current.n_rows
        enough = n >= self.min_rows
        findings = [Finding("", "row_count", float(n), "ok" if enough else "insufficient_data",
                            threshold=float(self.min_rows), details={"n_ref": reference.n_rows})]
        if reference.schema_inferred:
            known = set(reference.schema.columns)
            findings.extend(Finding(str(c), "column_extra", 1.0, "warn",
                                    details={"dtype": str(current.frame[c].dtype)})
                            for c in current.frame.columns if str(c) not in known)
        features = [c for c in schema.features if c in reference.columns]
        profiles = current.profiles(features)
        for column in features:
            ref = reference.columns[column]
            cur = profiles.get(column)
            if cur is None:
                findings.append(Finding(column, "column_missing", 1.0, "alert",
                                        details={"error": f"column {column!r} is missing from the current data"}))
            elif isinstance(cur, DataError):
                findings.append(Finding(column, "dtype_mismatch", 1.0, "alert",
                                        details={"error": str(cur), "dtype_ref": ref.dtype,
                                                 "dtype_cur": str(current.frame[column].dtype)}))
            else:
                findings.extend(self._column(ref, cur, enough))
        return findings

    def _column(self, ref: ColumnProfile, cur: ColumnProfile, enough: bool) -> list[Finding]:
        def status(breached: bool, level: Status = "alert") -> Status:
            if not enough:
                return "insufficient_data"
            return level if breached else "ok"

        name = ref.name
        out: list[Finding] = []
        ref_missing = ref.n_missing / ref.n if ref.n else 0.0
        cur_missing = cur.n_missing / cur.n if cur.n else 0.0
        delta = cur_missing - ref_missing
        signed = {"increase": delta, "decrease": -delta, "both": abs(delta)}[self.missing_direction]
        out.append(Finding(name, "missing_share", cur_missing,
                           status(signed >= self.missing_share_increase - 1e-12),
                           threshold=self.missing_share_increase,
                           details={"ref": ref_missing, "delta": delta, "direction": self.missing_direction}))
        if ref.kind == "numeric":
            out.extend(self._numeric(ref, cur, status))
        else:
            out.extend(self._categorical(ref, cur, status))
        return out

    def _numeric(self, ref: ColumnProfile, cur: ColumnProfile, status: Callable[..., Status]) -> list[Finding]:
        ref_inf = ref.n_posinf + ref.n_neginf
        cur_inf = cur.n_posinf + cur.n_neginf
        out = [Finding(ref.name, "non_finite_share", cur_inf / cur.n if cur.n else 0.0,
                       status(cur_inf > 0 and ref_inf == 0), threshold=0.0,
                       details={"ref": ref_inf / ref.n if ref.n else 0.0, "posinf": cur.n_posinf,
                                "neginf": cur.n_neginf})]
        if ref.n_finite and cur.n_finite:
            values = cur.sorted_values
            below = int(np.searchsorted(values, ref.minimum, side="left"))
            above = int(values.size - np.searchsorted(values, ref.maximum, side="right"))
            share = (below + above) / cur.n_finite
            out.append(Finding(ref.name, "out_of_range_share", share, status(share >= self.out_of_range_share),
                               threshold=self.out_of_range_share,
                               details={"below": below, "above": above, "ref_min": ref.minimum,
                                        "ref_max": ref.maximum}))
        else:
            out.append(Finding(ref.name, "out_of_range_share", None, "insufficient_data",
                               threshold=self.out_of_range_share, details={"reason": "no finite values on one side"}))
        return out

    def _categorical(self, ref: ColumnProfile, cur: ColumnProfile, status: Callable[..., Status]) -> list[Finding]:
        if not ref.n_present or not cur.n_present:
            return [Finding(ref.name, metric, None, "insufficient_data", threshold=threshold,
                            details={"reason": "no values on one side"})
                    for metric, threshold in (("new_category_share", self.new_category_share),
                                              ("vanished_category_share", self.vanished_category_share))]
        known = set(ref.categories)
        current = cur.category_counts()
        new = {c: n for c, n in current.items() if c not in known}
        vanished = {c: int(n) for c, n in zip(ref.categories, ref.counts) if c not in current}
        new_share = sum(new.values()) / cur.n_present
        vanished_share = sum(vanished.values()) / ref.n_present
        new_details = {"count": len(new), "top": dict(sorted(new.items(), key=lambda kv: -kv[1])[:_SHOWN])}
        if ref.other_count:
            new_details["note"] = "the reference kept only its most frequent categories; rare ones count as new"
        return [
            Finding(ref.name, "new_category_share", new_share, status(new_share >= self.new_category_share),
                    threshold=self.new_category_share, details=new_details),
            Finding(ref.name, "vanished_category_share", vanished_share,
                    status(vanished_share >= self.vanished_category_share, "warn"),
                    threshold=self.vanished_category_share,
                    details={"count": len(vanished),
                             "top": dict(sorted(vanished.items(), key=lambda kv: -kv[1])[:_SHOWN])}),
        ]
