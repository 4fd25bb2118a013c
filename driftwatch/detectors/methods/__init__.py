"""Drift methods: each a record naming an effect size, the column kinds it fits, and its test.

Every method decides the same way (``driftwatch.detectors.drift``): a column drifts when its
change is unlikely under no change at these two sample sizes (the p-value, corrected across the
run's columns, is below ``alpha``) **and** its effect is at least a practical minimum (the
``threshold``). So ``compute`` returns the effect size as ``value``, in the method's own units,
and the p-value of a test of "no change" beside it; a test statistic that grows with the row
count (chi-square, Cramér–von Mises, Anderson–Darling, z) goes to ``details.statistic``:

* distances are their own effect: Wasserstein / reference std (its p-value from the KS test on
  the same samples), PSI, Jensen–Shannon, Hellinger (p-values from their permutation null over
  the same bins, ``permutation.py``);
* tests carry an effect in the same family: KS its largest CDF gap ``D``; Cramér–von Mises and
  Anderson–Darling the root mean square CDF gap; chi-square and the z-test Cramér's V.

``detectable`` gives the smallest effect the significance part flags with 80 % power at a
level, and ``shift`` a numeric method's effect of moving the reference by a step, so a result
can say what drift its window size could see (``driftwatch.detectors.detectable``). The
kernels live one per module beside this file and are pure functions of arrays; the records
here adapt them to two ``ColumnProfile``s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import DataError
from ...profiling import ColumnProfile
from ..detectable import chi2_noncentrality, gap_margin, ks_detectable_gap, mean_detectable_shift, shift_needed
from .anderson import anderson_ksamp_2
from .binning import Binned, align, all_categories
from .chisquare import chisquare_counts, cramers_v
from .cramervonmises import cramervonmises_2samp_sorted, rms_cdf_gap
from .ecdf import merge
from .hellinger import hellinger, hellinger_rows
from .jensenshannon import jensenshannon, jensenshannon_rows
from .ks import ks_2samp_sorted
from .permutation import BinnedNull, binned_p_value, chi2_scale_hellinger, chi2_scale_js, chi2_scale_psi, n_eff
from .psi import psi, psi_rows
from .shifts import ReferenceCdf, binned_shift, ks_shift, reference_cdf, rms_shift
from .wasserstein import wasserstein_sorted
from .ztest import two_proportion_z


@dataclass(frozen=True)
class Context:
    """Options that shape how a method reads the profiles."""

    missing_as_category: bool = False
    top_categories: int = 20


@dataclass(frozen=True)
class Measurement:
    """The effect size (``value``, in the method's units), the p-value of no change, and context."""

    value: float
    p_value: float
    details: dict[str, Any] = field(default_factory=dict)


#: (reference, current, context, level, practical minimum) -> the smallest true effect, in the
#: method's units, that is significant at ``level`` and observed at least the minimum with 80 %
#: power; None when no effect could be.
Detectable = Callable[[ColumnProfile, ColumnProfile, Context, float, float], "float | None"]
#: (reference CDF, reference profile, step) -> the method's value for the reference against the
#: reference moved by ``step`` (in the column's units).
Shift = Callable[[ReferenceCdf, ColumnProfile, float], float]


@dataclass(frozen=True)
class Method:
    name: str
    kinds: frozenset[str]
    default_threshold: float  # the practical minimum of ``value``
    effect: str               # what ``value`` measures, for people
    compute: Callable[[ColumnProfile, ColumnProfile, Context], Measurement]
    detectable: Detectable
    shift: Shift | None = None
    #: Whether ``missing_as_category`` reaches the statistic (binned and categorical methods);
    #: the others work on the finite values alone.
    sees_missing: bool = True


def _nominal(profile: ColumnProfile) -> int | None:
    """The true sample size when the stored sample was thinned, else None."""
    return profile.n_finite if profile.sorted_values.size != profile.n_finite else None


# -- the KS family: KS, Wasserstein (KS gives its p-value), Cramér-von Mises, Anderson-Darling --

def _ks(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    d, p = ks_2samp_sorted(ref.sorted_values, cur.sorted_values, n_ref=_nominal(ref))
    return Measurement(d, p, {"test": "ks"})


def _wasserstein_scale(ref: ColumnProfile) -> tuple[float, str]:
    if ref.std > 0:
        return ref.std, "reference std"
    if ref.mean != 0 and math.isfinite(ref.mean):
        return abs(ref.mean), "|reference mean| (reference std is 0)"
    return 1.0, "1 (reference std and mean are 0)"


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    merged = merge(ref.sorted_values, cur.sorted_values)
    distance = wasserstein_sorted(ref.sorted_values, cur.sorted_values, merged)
    d, p = ks_2samp_sorted(ref.sorted_values, cur.sorted_values, n_ref=_nominal(ref), merged=merged)
    scale, kind = _wasserstein_scale(ref)
    return Measurement(distance / scale, p, {"distance": distance, "scale": scale, "scale_of": kind,
                                             "test": "ks", "ks_d": d})


def _tested(cur: ColumnProfile) -> int:
    """How many current values the rank tests see: every finite one, or the sample kept of a
    large window profiled in its database (the p-value is the sample's, so is the power)."""
    size = int(cur.sorted_values.size)
    return size if 0 < size < cur.n_finite else cur.n_finite


def _ks_shift_needed(ref: ColumnProfile, cur: ColumnProfile, level: float) -> float | None:
    """The location shift (reference stds) that the KS test flags with 80 % power at ``level``."""
    cdf = reference_cdf(ref.sorted_values) if ref.std > 0 else None
    if cdf is None:
        return None
    gap = ks_detectable_gap(level, ref.n_finite, _tested(cur))
    return shift_needed(lambda delta: ks_shift(cdf, delta * ref.std), gap)


def _ks_detectable(ref: ColumnProfile, cur: ColumnProfile, ctx: Context, level: float,
                   threshold: float) -> float | None:
    return ks_detectable_gap(level, ref.n_finite, _tested(cur), floor=threshold)


def _wasserstein_detectable(ref: ColumnProfile, cur: ColumnProfile, ctx: Context, level: float,
                            threshold: float) -> float | None:
    # a location shift of delta stds is a Wasserstein distance of exactly delta stds
    delta = _ks_shift_needed(ref, cur, level)
    return None if delta is None else max(delta, mean_detectable_shift(ref.n_finite, _tested(cur), threshold))


def _rms_detectable(ref: ColumnProfile, cur: ColumnProfile, ctx: Context, level: float,
                    threshold: float) -> float | None:
    """Approximated through KS: against a location shift these tests are at least as
    powerful as KS, and the root mean square gap scatters less than the largest one, so the
    figure errs on the large side."""
    delta = _ks_shift_needed(ref, cur, level)
    cdf = reference_cdf(ref.sorted_values)
    if delta is None or cdf is None:
        return None
    significant = rms_shift(cdf, delta * ref.std)
    return max(significant, threshold + gap_margin(ref.n_finite, _tested(cur)))


def _same_constant(ref: ColumnProfile, cur: ColumnProfile) -> bool:
    """Both sides hold one and the same value: nothing moved, whatever a rank test makes of ties."""
    return bool(ref.minimum == ref.maximum == cur.minimum == cur.maximum)


def _cvm(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    if _same_constant(ref, cur):
        return Measurement(0.0, 1.0, {"note": "both sides are the same constant", "test": "cramervonmises"})
    stat, p = cramervonmises_2samp_sorted(ref.sorted_values, cur.sorted_values)
    return Measurement(rms_cdf_gap(ref.sorted_values, cur.sorted_values), p,
                       {"statistic": stat, "test": "cramervonmises"})


def _anderson(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    if _same_constant(ref, cur):
        return Measurement(0.0, 1.0, {"note": "both sides are the same constant", "test": "anderson"})
    stat, p = anderson_ksamp_2(ref.sorted_values, cur.sorted_values)
    return Measurement(rms_cdf_gap(ref.sorted_values, cur.sorted_values), p,
                       {"statistic": stat, "test": "anderson"})


# -- binned distances: PSI, Jensen-Shannon, Hellinger, with their permutation null ---------------

@dataclass(frozen=True)
class _Binned:
    """A binned distance: its kernel, its row-wise form and its chi-square scale."""

    kernel: Callable[[np.ndarray, np.ndarray], float]
    null: BinnedNull
    from_chi2: Callable[[float], float]  # chi-square per n_eff -> distance (inverse of the scale)

    def compute(self, ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
        bins = align(ref, cur, top=ctx.top_categories, missing_as_category=ctx.missing_as_category)
        value = self.kernel(bins.ref, bins.cur)
        p, how = binned_p_value(self.null, bins.ref, bins.cur, value)
        return Measurement(value, p, {"test": how})

    def detectable(self, ref: ColumnProfile, cur: ColumnProfile, ctx: Context, level: float,
                   threshold: float) -> float | None:
        bins = align(ref, cur, top=ctx.top_categories, missing_as_category=ctx.missing_as_category)
        return _chi2_detectable(bins, level, lambda n_ref, n_cur: n_eff(n_ref, n_cur) * self.null.chi2_scale(threshold),
                                lambda lam, n_ref, n_cur: self.from_chi2(lam / n_eff(n_ref, n_cur)))

    def shift(self, cdf: ReferenceCdf, ref: ColumnProfile, step: float) -> float:
        return binned_shift(self.null.rows, cdf, ref.edges, step)


def _chi2_detectable(bins: Binned, level: float, floor: Callable[[float, float], float],
                     to_effect: Callable[[float, float, float], float]) -> float | None:
    """``to_effect(lambda, n_ref, n_cur)`` at the noncentrality whose statistic is significant at
    ``level`` and at least ``floor(n_ref, n_cur)`` (the practical minimum as a statistic) with
    80 % power."""
    pooled = bins.ref + bins.cur
    df = int(np.count_nonzero(pooled)) - 1
    n_ref, n_cur = float(bins.ref.sum()), float(bins.cur.sum())
    if df < 1 or n_ref <= 0 or n_cur <= 0:
        return None
    return to_effect(chi2_noncentrality(level, df, floor=floor(n_ref, n_cur)), n_ref, n_cur)


def _psi_compute(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = align(ref, cur, top=ctx.top_categories, missing_as_category=ctx.missing_as_category)
    value, contributions = psi(bins.ref, bins.cur)
    p, how = binned_p_value(_PSI.null, bins.ref, bins.cur, value)
    return Measurement(value, p, {"contributions": [float(c) for c in contributions], "test": how})


_PSI = _Binned(lambda r, c: psi(r, c)[0], BinnedNull(psi_rows, chi2_scale_psi), lambda w2: w2)
_JS = _Binned(jensenshannon, BinnedNull(jensenshannon_rows, chi2_scale_js),
              lambda w2: math.sqrt(w2 / (8.0 * math.log(2.0))))
_HELLINGER = _Binned(hellinger, BinnedNull(hellinger_rows, chi2_scale_hellinger), lambda w2: math.sqrt(w2 / 8.0))


# -- categorical tests: chi-square and the two-proportion z-test, Cramér's V as their effect -----

def _chisquare(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = all_categories(ref, cur, missing_as_category=ctx.missing_as_category)
    stat, p = chisquare_counts(bins.ref, bins.cur)
    return Measurement(cramers_v(bins.ref, bins.cur), p,
                       {"statistic": stat, "categories": len(bins.labels), "test": "chisquare"})


def _ztest(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = all_categories(ref, cur, missing_as_category=ctx.missing_as_category)
    if len(bins.labels) > 2:
        raise DataError(f"column {ref.name!r}: ztest needs a binary column, found {len(bins.labels)} categories")
    if len(bins.labels) < 2:
        return Measurement(0.0, 1.0, {"category": bins.labels[0] if bins.labels else None, "statistic": 0.0,
                                      "test": "ztest"})
    z, p = two_proportion_z(bins.ref[0], bins.ref.sum(), bins.cur[0], bins.cur.sum())
    return Measurement(abs(z) / math.sqrt(bins.ref.sum() + bins.cur.sum()), p,
                       {"category": bins.labels[0], "statistic": z, "test": "ztest"})


def _cramers_v_detectable(ref: ColumnProfile, cur: ColumnProfile, ctx: Context, level: float,
                          threshold: float) -> float | None:
    bins = all_categories(ref, cur, missing_as_category=ctx.missing_as_category)
    return _chi2_detectable(bins, level, lambda n_ref, n_cur: (n_ref + n_cur) * threshold * threshold,
                            lambda lam, n_ref, n_cur: math.sqrt(lam / (n_ref + n_cur)))


NUMERIC = frozenset({"numeric"})
CATEGORICAL = frozenset({"categorical"})
BOTH = NUMERIC | CATEGORICAL
_CDF_GAP = "largest gap between the two CDFs"
_RMS_GAP = "root mean square gap between the two CDFs"

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("ks", NUMERIC, 0.05, _CDF_GAP, _ks, _ks_detectable,
           lambda cdf, ref, step: ks_shift(cdf, step), sees_missing=False),
    Method("wasserstein", NUMERIC, 0.1, "Wasserstein distance / reference std", _wasserstein,
           _wasserstein_detectable, lambda cdf, ref, step: step / _wasserstein_scale(ref)[0], sees_missing=False),
    Method("psi", BOTH, 0.2, "population stability index", _psi_compute, _PSI.detectable, _PSI.shift),
    Method("jensenshannon", BOTH, 0.1, "Jensen-Shannon distance (base 2)", _JS.compute, _JS.detectable, _JS.shift),
    Method("hellinger", BOTH, 0.1, "Hellinger distance", _HELLINGER.compute, _HELLINGER.detectable,
           _HELLINGER.shift),
    Method("cramervonmises", NUMERIC, 0.04, _RMS_GAP, _cvm, _rms_detectable,
           lambda cdf, ref, step: rms_shift(cdf, step), sees_missing=False),
    Method("anderson", NUMERIC, 0.04, _RMS_GAP, _anderson, _rms_detectable,
           lambda cdf, ref, step: rms_shift(cdf, step), sees_missing=False),
    Method("chisquare", CATEGORICAL, 0.1, "Cramér's V", _chisquare, _cramers_v_detectable),
    Method("ztest", CATEGORICAL, 0.1, "Cramér's V (|phi|)", _ztest, _cramers_v_detectable),
)}

__all__ = ["METHODS", "Binned", "Context", "Measurement", "Method", "align", "all_categories"]
