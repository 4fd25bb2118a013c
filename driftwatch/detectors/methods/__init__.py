"""Drift methods: each a record naming a statistic, the column kinds it fits, and how it decides.

A method either decides on a p-value (drift when the corrected p-value is below ``alpha``) or on
a distance (drift when the value is above its threshold). Statistic, p-value and decision are
kept apart: ``compute`` returns the statistic and the p-value (or None); the drift detector
decides. The kernels themselves live one per module beside this file and are pure functions of
arrays; the records here adapt them to two ``ColumnProfile``s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...errors import DataError
from ...profiling import ColumnProfile
from .anderson import anderson_ksamp_2
from .binning import Binned, align, all_categories
from .chisquare import chisquare_counts
from .cramervonmises import cramervonmises_2samp_sorted
from .hellinger import hellinger
from .jensenshannon import jensenshannon
from .ks import ks_2samp_sorted
from .psi import psi
from .wasserstein import wasserstein_sorted
from .ztest import two_proportion_z


@dataclass(frozen=True)
class Context:
    """Options that shape how a method reads the profiles."""

    missing_as_category: bool = False
    top_categories: int = 20


@dataclass(frozen=True)
class Measurement:
    value: float
    p_value: float | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    name: str
    kinds: frozenset[str]
    default_threshold: float
    decides_on: Literal["p_value", "value"]
    compute: Callable[[ColumnProfile, ColumnProfile, Context], Measurement]
    #: Whether ``missing_as_category`` reaches the statistic (binned and categorical methods);
    #: the others work on the finite values alone.
    sees_missing: bool = True


def _nominal(profile: ColumnProfile) -> int | None:
    """The true sample size when the stored sample was thinned, else None."""
    return profile.n_finite if profile.sorted_values.size != profile.n_finite else None


def _ks(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    d, p = ks_2samp_sorted(ref.sorted_values, cur.sorted_values, n_ref=_nominal(ref))
    return Measurement(d, p)


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    distance = wasserstein_sorted(ref.sorted_values, cur.sorted_values)
    if ref.std > 0:
        scale, kind = ref.std, "reference std"
    elif ref.mean != 0 and math.isfinite(ref.mean):
        scale, kind = abs(ref.mean), "|reference mean| (reference std is 0)"
    else:
        scale, kind = 1.0, "1 (reference std and mean are 0)"
    return Measurement(distance / scale, None, {"distance": distance, "scale": scale, "scale_of": kind})


def _binned_measure(kernel: Callable[[np.ndarray, np.ndarray], float]) -> Callable[
        [ColumnProfile, ColumnProfile, Context], Measurement]:
    def compute(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
        bins = align(ref, cur, top=ctx.top_categories, missing_as_category=ctx.missing_as_category)
        return Measurement(kernel(bins.ref, bins.cur), None)
    return compute


def _psi(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = align(ref, cur, top=ctx.top_categories, missing_as_category=ctx.missing_as_category)
    value, contributions = psi(bins.ref, bins.cur)
    return Measurement(value, None, {"contributions": [float(c) for c in contributions]})


def _chisquare(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = all_categories(ref, cur, missing_as_category=ctx.missing_as_category)
    stat, p = chisquare_counts(bins.ref, bins.cur)
    return Measurement(stat, p, {"categories": len(bins.labels)})


def _ztest(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    bins = all_categories(ref, cur, missing_as_category=ctx.missing_as_category)
    if len(bins.labels) > 2:
        raise DataError(f"column {ref.name!r}: ztest needs a binary column, found {len(bins.labels)} categories")
    if len(bins.labels) < 2:
        return Measurement(0.0, 1.0, {"category": bins.labels[0] if bins.labels else None})
    z, p = two_proportion_z(bins.ref[0], bins.ref.sum(), bins.cur[0], bins.cur.sum())
    return Measurement(z, p, {"category": bins.labels[0]})


def _same_constant(ref: ColumnProfile, cur: ColumnProfile) -> bool:
    """Both sides hold one and the same value: nothing moved, whatever a rank test makes of ties."""
    return bool(ref.minimum == ref.maximum == cur.minimum == cur.maximum)


def _cvm(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    if _same_constant(ref, cur):
        return Measurement(0.0, 1.0, {"note": "both sides are the same constant"})
    stat, p = cramervonmises_2samp_sorted(ref.sorted_values, cur.sorted_values)
    return Measurement(stat, p)


def _anderson(ref: ColumnProfile, cur: ColumnProfile, ctx: Context) -> Measurement:
    if _same_constant(ref, cur):
        return Measurement(0.0, 1.0, {"note": "both sides are the same constant"})
    stat, p = anderson_ksamp_2(ref.sorted_values, cur.sorted_values)
    return Measurement(stat, p)


NUMERIC = frozenset({"numeric"})
CATEGORICAL = frozenset({"categorical"})
BOTH = NUMERIC | CATEGORICAL

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("ks", NUMERIC, 0.05, "p_value", _ks, sees_missing=False),
    Method("wasserstein", NUMERIC, 0.1, "value", _wasserstein, sees_missing=False),
    Method("psi", BOTH, 0.2, "value", _psi),
    Method("jensenshannon", BOTH, 0.1, "value", _binned_measure(jensenshannon)),
    Method("hellinger", BOTH, 0.1, "value", _binned_measure(hellinger)),
    Method("cramervonmises", NUMERIC, 0.05, "p_value", _cvm, sees_missing=False),
    Method("anderson", NUMERIC, 0.05, "p_value", _anderson, sees_missing=False),
    Method("chisquare", CATEGORICAL, 0.05, "p_value", _chisquare),
    Method("ztest", CATEGORICAL, 0.05, "p_value", _ztest),
)}

__all__ = ["METHODS", "Binned", "Context", "Measurement", "Method", "align", "all_categories"]
