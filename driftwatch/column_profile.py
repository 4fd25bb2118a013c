"""One column's summary: ``ColumnProfile`` and the functions that build it from a column.

``profiling`` puts one of these per watched column into a reference ``Profile`` (and caches,
serialises and keys it); the detectors build the current window's with the reference's bin edges,
and ``pushdown`` builds the same from a database's figures (``categorical_profile``). What a
column's summary holds and how it is computed is a job of its own, apart from the whole profile.
(A change to ``ColumnProfile``'s fields changes the cached layout: bump ``profiling.PROFILE_FORMAT``.)

Numeric columns keep the sorted finite values (the reference thinned to ``max_sample`` evenly
spaced order statistics, which moves the empirical CDF by at most ``1 / max_sample``), counts of
missing and infinite values, moments, and counts over fixed bins. The bins come from reference
quantiles and never from the current window::

    (-inf, min) | [min, q_1) | [q_1, q_2) | ... | [q_k, max] | (max, +inf)

where ``q_i`` are the distinct reference quantiles at ``i / bins``. The two open outer bins hold
current values outside the reference range (and ``-inf`` / ``+inf``), so they always land
somewhere and show up in PSI, Jensen-Shannon and Hellinger. Categorical columns keep counts per
category (the ``max_categories`` most frequent; the rest summed as ``other``). The categories of
that rest stay known as a set (``driftwatch.membership.CategoryTail``: exact 64-bit hashes with
their counts up to two million, a Bloom filter beyond), so a current category outside the kept
ones is still told apart as new or known, and a tail category can be seen vanishing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .membership import CategoryTail
from .values import category_counts, numeric_values

__all__ = ["ColumnProfile", "bin_counts", "categorical_profile", "profile_categorical", "profile_numeric",
           "reference_edges", "thin"]

_EMPTY = np.empty(0, dtype=np.float64)
_EMPTY_INT = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """The summary of one column on one side of a comparison."""

    name: str
    kind: str  # "numeric" | "categorical"
    n: int  # rows, missing included
    n_missing: int
    dtype: str = ""
    # numeric
    sorted_values: np.ndarray = field(default_factory=lambda: _EMPTY)
    n_finite: int = 0
    n_posinf: int = 0
    n_neginf: int = 0
    mean: float = math.nan
    std: float = math.nan
    minimum: float = math.nan
    maximum: float = math.nan
    edges: np.ndarray = field(default_factory=lambda: _EMPTY)
    bin_counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    # categorical
    categories: tuple[str, ...] = ()
    counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    other_count: int = 0
    #: Categories lumped into ``other`` that were seen once / twice: what the Good-Turing
    #: estimate of never-seen categories needs beside the kept counts.
    other_singletons: int = 0
    other_doubletons: int = 0
    #: Which categories (and, up to two million, how many rows each) ``other`` holds.
    tail: CategoryTail | None = None

    @property
    def n_present(self) -> int:
        """Rows with a value (not missing); infinite values count as present."""
        return self.n - self.n_missing

    def category_counts(self) -> dict[str, int]:
        return dict(zip(self.categories, (int(c) for c in self.counts)))

    @cached_property
    def _category_index(self) -> pd.Index:
        return pd.Index(np.array(self.categories, dtype=object), dtype=object)

    def category_array(self) -> np.ndarray:
        """``categories`` as an object array (built once)."""
        keys: np.ndarray = self._category_index.to_numpy()
        return keys

    def positions(self, keys: Any) -> np.ndarray:
        """Where each of ``keys`` sits in ``categories``, -1 where it does not: one hash lookup
        each, instead of a dict of a million categories built per question. (Given as an object
        index: pandas would infer Arrow text from the keys and copy it back to a million new
        Python strings to look them up.)"""
        found: np.ndarray = self._category_index.get_indexer(pd.Index(keys, dtype=object, copy=False))
        return found

    def counts_of(self, keys: Any) -> np.ndarray:
        """The count of each of ``keys`` (0 for a category this side does not keep)."""
        where = self.positions(keys)
        return np.where(where >= 0, self.counts[where], 0) if self.counts.size else np.zeros(where.size, np.int64)

def reference_edges(sorted_finite: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges from reference quantiles, with the range ends as edges (see module docstring).

    >>> reference_edges(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [1.0, 2.5, 4.000000000000001]
    >>> reference_edges(np.array([5.0, 5.0]), 10).tolist()  # constant: below / at / above
    [5.0, 5.000000000000001]
    """
    if sorted_finite.size == 0:
        return _EMPTY
    # arange / bins, not linspace: linspace(0, 1, 11)[3] is 0.30000000000000004, which would
    # put the edge just above a value sitting exactly on the 30% quantile.
    inner = np.quantile(sorted_finite, np.arange(1, bins) / bins)
    top = np.nextafter(sorted_finite[-1], np.inf)
    return np.unique(np.concatenate(([sorted_finite[0]], inner, [top])))


def bin_counts(sorted_finite: np.ndarray, n_neginf: int, n_posinf: int, edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``[e_{i-1}, e_i)`` of sorted finite values plus the infinite ones."""
    if edges.size == 0:
        return np.array([sorted_finite.size + n_neginf + n_posinf], dtype=np.int64)
    below = np.searchsorted(sorted_finite, edges, side="left")
    counts = np.diff(np.concatenate(([0], below, [sorted_finite.size]))).astype(np.int64)
    counts[0] += n_neginf
    counts[-1] += n_posinf
    return counts


def thin(sorted_values: np.ndarray, max_sample: int | None) -> np.ndarray:
    """At most ``max_sample`` evenly spaced order statistics of a sorted sample (all of a smaller one).

    The ``⌈i (n − 1) / (k − 1)⌉``-th smallest for ``i = 0 … k − 1`` (first and last included):
    integer arithmetic, so a database computes the very same ranks (``pushdown.sql``) and a
    profile built there equals one built here. The empirical CDF moves by at most ``1 / k``.

    >>> thin(np.arange(10.0), 3).tolist()
    [0.0, 5.0, 9.0]
    """
    if max_sample is None or sorted_values.size <= max_sample:
        return sorted_values
    if max_sample == 1:
        return sorted_values[:1]
    steps = np.arange(max_sample, dtype=np.int64) * (sorted_values.size - 1)
    index = -(-steps // (max_sample - 1))  # ceiling division
    return sorted_values[index]


def _moments(finite: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1); values near the float limit are scaled
    first so squaring them cannot overflow to inf.

    >>> _moments(np.array([-1e300, 1e300]))
    (0.0, 1.4142135623730952e+300)
    """
    if finite.size == 0:
        return math.nan, math.nan
    scale = max(abs(float(finite[0])), abs(float(finite[-1])))
    if scale > 1e150:  # sorted input: the extremes are at the ends
        scaled = finite / scale
        std = float(scaled.std(ddof=1)) * scale if finite.size > 1 else math.nan
        return float(scaled.mean()) * scale, std
    return float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else math.nan


def profile_numeric(series: pd.Series, column: str, *, edges: np.ndarray | None = None,
                    bins: int = 10, max_sample: int | None = None) -> ColumnProfile:
    """Summarise a numeric column; ``edges`` given = current side (use the reference's bins)."""
    values = numeric_values(series, column)
    missing = np.isnan(values)
    present = values[~missing]
    finite_mask = np.isfinite(present)
    n_posinf = int(np.count_nonzero(present == np.inf))
    n_neginf = int(present.size - finite_mask.sum() - n_posinf)
    finite = np.sort(present[finite_mask] if n_posinf or n_neginf else present, kind="quicksort")
    if edges is None:
        edges = reference_edges(finite, bins)
    has = finite.size > 0
    mean, std = _moments(finite)
    return ColumnProfile(
        name=column, kind="numeric", n=int(values.size), n_missing=int(missing.sum()),
        dtype=str(series.dtype), sorted_values=thin(finite, max_sample), n_finite=int(finite.size),
        n_posinf=n_posinf, n_neginf=n_neginf,
        mean=mean, std=std,
        minimum=float(finite[0]) if has else math.nan, maximum=float(finite[-1]) if has else math.nan,
        edges=edges, bin_counts=bin_counts(finite, n_neginf, n_posinf, edges),
    )


def profile_categorical(series: pd.Series, column: str, *, max_categories: int | None = None,
                        exact_limit: int | None = None, fp_rate: float | None = None) -> ColumnProfile:
    """Summarise a categorical column as counts per normalised category; beyond the
    ``max_categories`` most frequent, the set of the rest (``CategoryTail.build``: exact up to
    ``exact_limit`` categories, else a Bloom filter of false-positive rate ``fp_rate``)."""
    counts, n_missing = category_counts(series)
    return categorical_profile(counts, column, n=int(len(series)), n_missing=n_missing, dtype=str(series.dtype),
                               max_categories=max_categories, exact_limit=exact_limit, fp_rate=fp_rate)


def categorical_profile(counts: pd.Series, column: str, *, n: int, n_missing: int, dtype: str,
                        max_categories: int | None = None, exact_limit: int | None = None,
                        fp_rate: float | None = None) -> ColumnProfile:
    """The profile of a categorical column from its counts per key (``values.category_counts``
    of a frame, or a database's ``GROUP BY`` through ``values.keyed_counts``)."""
    keys, values = counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.int64)
    other = singletons = doubletons = 0
    tail = None
    if max_categories is not None and keys.size > max_categories:
        rest = values[max_categories:]
        other = int(rest.sum())
        singletons, doubletons = int(np.count_nonzero(rest == 1)), int(np.count_nonzero(rest == 2))
        tail = CategoryTail.build(keys[max_categories:], rest, exact_limit=exact_limit, fp_rate=fp_rate)
        keys, values = keys[:max_categories], values[:max_categories]
    return ColumnProfile(
        name=column, kind="categorical", n=n, n_missing=n_missing, dtype=dtype,
        categories=tuple(keys), counts=values, other_count=other,
        other_singletons=singletons, other_doubletons=doubletons, tail=tail,
    )

