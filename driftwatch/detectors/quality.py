"""Data quality: what a drift figure would hide.

Missing values, infinities, new or vanished categories and values outside the reference range
are reported as figures of their own instead of being dropped on the way to a distance.

Each share is judged against what the reference itself predicts for a sample of the current
size (``driftwatch.detectors.sampling``): a 300-row window from an unchanged source has values
outside a 300-row reference's range, and rows in categories it never saw, by chance alone. A
share alerts only when its excess over that expectation is both significant (one-sided p-value,
corrected across every test of the run, below ``alpha``) and at least the practical minimum
of its key (all shares are of current rows):

* ``missing_share`` up by ``missing_share_increase`` (0.10) or more over the reference's
  (Fisher's exact test; ``missing_direction`` picks the side);
* ``non_finite_share`` (±inf) up by ``non_finite_share_increase`` (0.01) or more (Fisher);
* ``new_category_share`` (rows in categories the reference never had, beyond its kept
  ``max_categories`` too: ``driftwatch.membership``) ≥ 0.01 above the Good–Turing estimate of
  never-seen categories;
* ``out_of_range_share`` (finite values outside the reference [min, max]) ≥ 0.01 above the
  order-statistics expectation ``2 / (n_ref + 1)``;
* ``vanished_category_share`` (reference rows in categories absent now) ≥ 0.01 above the share
  expected to be absent from a sample this size: warns.

Details keep ``expected``, ``excess``, ``test``, ``p_adjusted`` and ``alpha``, so a report can say
"expected 0.6 %, saw 4 %".

``alpha`` is 0.001, stricter than drift's 0.01: the changes worth a page here (a column 40 %
missing, 2 % infinities, a tenth of the rows in a new category) are overwhelming at any window
size that can show them at all, so the strict level costs no recall, and it leaves the run's
false-page budget (1 % of unchanged windows, the drift and quality families together) to drift.

A column named in the schema but absent from the current window is a ``column_missing`` alert;
one that no longer reads as its reference type (text in a numeric column) is ``dtype_mismatch``.
When the schema was inferred from the reference (every column watched), a current column the
reference did not have is a ``column_extra`` warning.
Fewer than ``min_rows`` current rows make ``row_count`` ``insufficient_data`` and the shares
are reported but do not alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError
from ..membership import FALSE_POSITIVE_RATE
from ..model import Finding, Schema, Status, name_problem
from ..profiling import ColumnProfile, Profile
from .categories import CategorySeen
from .current import CurrentData
from .multiple_testing import CORRECTIONS, correct
from .sampling import (
    Expectation,
    new_category_expectation,
    out_of_range_expectation,
    proportion_increase,
    vanished_expectation,
)

DIRECTIONS = ("both", "increase", "decrease")
_SHOWN = 10  # categories listed in details
_SHARE_KEYS = ("missing_share_increase", "non_finite_share_increase", "new_category_share",
               "vanished_category_share", "out_of_range_share")


@dataclass
class _Share:
    """One share waiting for the run's multiple-testing correction before it is decided."""

    feature: str
    metric: str
    value: float
    threshold: float
    excess: float  # over the expectation, in the direction the rule watches
    expectation: Expectation
    details: dict[str, Any] = field(default_factory=dict)
    level: Status = "alert"


@dataclass(frozen=True)
class QualityDetector:
    """Data-quality figures per column and for the window (``type = "quality"``).

    >>> QualityDetector(out_of_range_share=0)
    Traceback (most recent call last):
    ...
    ValueError: out_of_range_share: must be in (0, 1], got 0
    """

    name: ClassVar[str] = "quality"
    #: Reads only column profiles, never rows: a window profiled by its database will do.
    profiles_only: ClassVar[bool] = True

    min_rows: int = 30
    missing_share_increase: float = 0.10
    missing_direction: str = "increase"
    non_finite_share_increase: float = 0.01
    new_category_share: float = 0.01
    vanished_category_share: float = 0.01
    out_of_range_share: float = 0.01
    alpha: float = 0.001
    correction: str = "bh"

    def __post_init__(self) -> None:
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int) or self.min_rows < 1:
            raise ValueError(f"min_rows: must be an integer >= 1, got {self.min_rows!r}")
        for key in _SHARE_KEYS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{key}: must be in (0, 1], got {value!r}")
        if self.missing_direction not in DIRECTIONS:
            raise ValueError(f"missing_direction: must be one of {', '.join(DIRECTIONS)}, "
                             f"got {self.missing_direction!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise ValueError(f"alpha: must be in (0, 1), got {self.alpha!r}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction: must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")

    def required_columns(self, schema: Schema) -> set[str]:
        return set(schema.features)

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        segments = current.segments_tested  # one of S segments tested together: decides at alpha / S
        chosen = self if segments == 1 else replace(self, alpha=self.alpha / segments)
        return chosen._run(reference, current, schema)

    def _run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        n = current.n_rows
        enough = n >= self.min_rows
        row_details: dict[str, Any] = {"n_ref": reference.n_rows}
        if n == 0:
            row_details["reason"] = "the current window has no rows" + \
                ("" if len(current.frame.columns) else " and no columns (an empty file?)")
        findings = [Finding("", "row_count", float(n), "ok" if enough else "insufficient_data",
                            threshold=float(self.min_rows), details=row_details)]
        if reference.schema_inferred:
            known = set(reference.schema.columns)
            for extra in (str(c) for c in current.frame.columns if str(c) not in known):
                # Its name becomes a result's feature: one no store keeps fails the run in one line on
                # every store, as it does when the reference has it (PostgreSQL refused the results).
                if (problem := name_problem(extra)) is not None:
                    shown = extra if len(extra) <= 40 else extra[:40] + "…"
                    raise DataError(f"the current data's column {shown!r} {problem}")
            findings.extend(Finding(str(c), "column_extra", 1.0, "warn",
                                    details={"dtype": str(current.frame[c].dtype)})
                            for c in current.frame.columns if str(c) not in known)
        features = [c for c in schema.features if c in reference.columns]
        profiles = current.profiles(features)
        shares: list[_Share] = []
        for column in features:
            ref = reference.columns[column]
            cur = profiles.get(column)
            if cur is None and n == 0:  # no rows and no header (a zero-byte file): nothing is known missing
                continue
            if cur is None:
                findings.append(Finding(column, "column_missing", 1.0, "alert",
                                        details={"error": f"column {column!r} is missing from the current data"}))
            elif isinstance(cur, DataError):
                findings.append(Finding(column, "dtype_mismatch", 1.0, "alert",
                                        details={"error": str(cur), "dtype_ref": ref.dtype,
                                                 "dtype_cur": str(current.frame[column].dtype)}))
            else:
                shares.append(self._missing(ref, cur))
                if ref.kind == "numeric":
                    shares.append(self._non_finite(ref, cur))
                    findings.extend(self._out_of_range(ref, cur, shares))
                else:
                    findings.extend(self._categories(ref, cur, shares))
        findings.extend(self._decide(shares, enough))
        return findings

    # -- the run's decisions -------------------------------------------------------------------
    def _decide(self, shares: list[_Share], enough: bool) -> list[Finding]:
        """Correct the p-values of every share of the run together, then decide each."""
        adjusted = correct(np.array([s.expectation.p_value for s in shares], dtype=np.float64),
                           self.correction) if enough else [None] * len(shares)
        findings = []
        for share, p_adj in zip(shares, adjusted):
            details = {**share.details, "expected": share.expectation.expected, "excess": share.excess,
                       "test": share.expectation.test, "alpha": self.alpha, "correction": self.correction}
            if p_adj is None:
                status: Status = "insufficient_data"
            else:
                details["p_adjusted"] = float(p_adj)
                breached = p_adj < self.alpha and share.excess >= share.threshold - 1e-12
                status = share.level if breached else "ok"
            findings.append(Finding(share.feature, share.metric, share.value, status, threshold=share.threshold,
                                    p_value=share.expectation.p_value, details=details))
        return findings

    # -- one column's shares -------------------------------------------------------------------
    def _missing(self, ref: ColumnProfile, cur: ColumnProfile) -> _Share:
        ref_missing = ref.n_missing / ref.n if ref.n else 0.0
        cur_missing = cur.n_missing / cur.n if cur.n else 0.0
        delta = cur_missing - ref_missing
        signed = {"increase": delta, "decrease": -delta, "both": abs(delta)}[self.missing_direction]
        test = proportion_increase(cur.n_missing, cur.n, ref.n_missing, ref.n, self.missing_direction)
        return _Share(ref.name, "missing_share", cur_missing, self.missing_share_increase, signed, test,
                      {"ref": ref_missing, "delta": delta, "direction": self.missing_direction})

    def _non_finite(self, ref: ColumnProfile, cur: ColumnProfile) -> _Share:
        ref_inf = ref.n_posinf + ref.n_neginf
        cur_inf = cur.n_posinf + cur.n_neginf
        ref_share = ref_inf / ref.n if ref.n else 0.0
        cur_share = cur_inf / cur.n if cur.n else 0.0
        return _Share(ref.name, "non_finite_share", cur_share, self.non_finite_share_increase,
                      cur_share - ref_share, proportion_increase(cur_inf, cur.n, ref_inf, ref.n),
                      {"ref": ref_share, "posinf": cur.n_posinf, "neginf": cur.n_neginf})

    def _out_of_range(self, ref: ColumnProfile, cur: ColumnProfile, shares: list[_Share]) -> list[Finding]:
        if not (ref.n_finite and cur.n_finite):
            return [Finding(ref.name, "out_of_range_share", None, "insufficient_data",
                            threshold=self.out_of_range_share, details={"reason": "no finite values on one side"})]
        below, above = _outside(ref, cur)
        share = (below + above) / cur.n_finite
        test = out_of_range_expectation(below + above, cur.n_finite, ref.n_finite)
        shares.append(_Share(ref.name, "out_of_range_share", share, self.out_of_range_share,
                             share - test.expected, test,
                             {"below": below, "above": above, "ref_min": ref.minimum, "ref_max": ref.maximum}))
        return []

    def _categories(self, ref: ColumnProfile, cur: ColumnProfile, shares: list[_Share]) -> list[Finding]:
        if not ref.n_present or not cur.n_present:
            return [Finding(ref.name, metric, None, "insufficient_data", threshold=threshold,
                            details={"reason": "no values on one side"})
                    for metric, threshold in (("new_category_share", self.new_category_share),
                                              ("vanished_category_share", self.vanished_category_share))]
        seen = CategorySeen.of(ref, cur)
        new_share = seen.new_rows / cur.n_present
        vanished_share = seen.vanished_rows / ref.n_present
        new_details: dict[str, Any] = {"count": seen.new_count, "top": seen.top_new(_SHOWN)}
        tail = ref.tail
        if ref.other_count and tail is None:
            new_details["note"] = "the reference kept only its most frequent categories; rare ones count as new"
        elif tail is not None and not tail.exact:
            new_details["note"] = (f"categories beyond the reference's {len(ref.categories)} most frequent are "
                                   f"tested with a Bloom filter: {FALSE_POSITIVE_RATE:.1%} of new ones pass as known")
        new_test = new_category_expectation(seen.new_rows, cur.n_present, ref.counts, other=ref.other_count,
                                            other_singletons=ref.other_singletons,
                                            other_doubletons=ref.other_doubletons, other_known=tail is not None)
        if tail is None:
            gone_test = vanished_expectation(vanished_share, cur.n_present, ref.counts, ref.n_present)
        else:  # every category can be seen vanishing: the kept ones and the tail's frequency of frequencies
            gone_test = vanished_expectation(
                vanished_share, cur.n_present, np.concatenate([ref.counts, tail.values]), ref.n_present,
                multiplicity=np.concatenate([np.ones(ref.counts.size, dtype=np.int64), tail.freqs]))
        shares.append(_Share(ref.name, "new_category_share", new_share, self.new_category_share,
                             new_share - new_test.expected, new_test, new_details))
        gone_details: dict[str, Any] = {"count": seen.vanished_count, "top": seen.top_vanished(_SHOWN)}
        if seen.tail is not None:  # the vanished categories beyond the kept ones, which have no names here
            gone_details["tail"] = {"categories": seen.tail.categories, "rows": seen.tail.rows,
                                    "rows_at_most": seen.tail.rows_high}
        shares.append(_Share(ref.name, "vanished_category_share", vanished_share, self.vanished_category_share,
                             vanished_share - gone_test.expected, gone_test, gone_details, level="warn"))
        return []


def _outside(ref: ColumnProfile, cur: ColumnProfile) -> tuple[int, int]:
    """The current finite values below the reference minimum and above its maximum, exactly.

    The reference's edges run from its minimum to just past its maximum, so the current side's
    first and last bins, less the infinities they also hold, are those counts whatever the size
    of the window; its sorted values may be a sample of a large pushed-down window.
    """
    edges = ref.edges
    if (edges.size and np.array_equal(cur.edges, edges) and edges[0] == ref.minimum
            and edges[-1] == np.nextafter(ref.maximum, np.inf)):
        return int(cur.bin_counts[0]) - cur.n_neginf, int(cur.bin_counts[-1]) - cur.n_posinf
    values = cur.sorted_values  # binned otherwise: all the finite values (a pulled window)
    return (int(np.searchsorted(values, ref.minimum, side="left")),
            int(values.size - np.searchsorted(values, ref.maximum, side="right")))
