"""Two-sample Kolmogorov–Smirnov test on pre-sorted samples.

A reference profile keeps its sample sorted once, so the per-run cost is one linear merge of
the two sorted samples (``ecdf.merge``), not a fresh sort of the reference.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from .ecdf import Merged, merge

__all__ = ["ks_2samp_sorted"]

#: ``scipy.stats.ks_2samp(method="auto")`` computes the exact p-value when both samples
#: have at most this many observations, and uses the asymptotic distribution otherwise.
MAX_EXACT_N = 10_000


def ks_2samp_sorted(
    ref_sorted: np.ndarray,
    cur_sorted: np.ndarray,
    n_ref: int | None = None,
    n_cur: int | None = None,
    merged: Merged | None = None,
) -> tuple[float, float]:
    """Return the two-sided two-sample KS statistic and p-value.

    Why: KS is distribution-free and scale-free, so one threshold on its p-value serves
    every numeric column.

    Statistic (Smirnov 1939; Hodges 1958)::

        D = max_x |F_ref(x) - F_cur(x)|

    where ``F`` are the right-continuous ECDFs, evaluated at the end of every run of equal
    pooled values (ties handled exactly, no re-sort).

    P-value: as ``scipy.stats.ks_2samp(a, b)`` (``method="auto"``, two-sided). When both
    samples hold at most ``MAX_EXACT_N`` observations the exact null distribution is
    used (scipy computes it, and the statistic is snapped onto the lattice ``h / lcm(n, m)``
    exactly as scipy does); otherwise ``kstwo.sf(D, round(en))`` with the effective size
    ``en = n * m / (n + m)``, up to ``en = MAX_EXACT_N`` (above it, see below).

    ``n_ref`` / ``n_cur`` are the nominal sample sizes when an array is a thinned set of
    order statistics of a larger sample (e.g. a reference profile that keeps 10,000
    quantiles of 1,000,000 rows). If either differs from its array's length, the
    asymptotic p-value is used with the nominal sizes; if they equal the lengths the
    result is the same as passing ``None``. ``merged`` is ``ecdf.merge(ref, cur)`` when the
    caller already has it (Wasserstein on the same pair).

    Above ``en = MAX_EXACT_N`` effective observations the p-value is the Kolmogorov limit with
    Stephens' (1970) correction, ``kstwobign.sf((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, not
    scipy's ``kstwo.sf(D, round(en))``: both approximate the two-sample null by a one-sample
    law, and ``kstwo`` at the effective size of a million-row window costs up to a second a call
    (the limit: microseconds). Measured against ``kstwo`` for p-values down to 1e-8: within
    1.5 % (relative) at ``en = 20,000`` and 0.3 % from ``en = 200,000`` on.

    Preconditions (not checked, the caller owns them): both arrays are 1-D, finite,
    sorted ascending.

    >>> ref = np.array([1.0, 2.0, 3.0, 4.0])
    >>> cur = np.array([3.0, 4.0, 5.0, 6.0])
    >>> d, p = ks_2samp_sorted(ref, cur)
    >>> d, round(p, 6)
    (0.5, 0.771429)
    >>> d, p = ks_2samp_sorted(ref, cur, n_ref=1_000_000)   # thinned reference
    >>> d, round(p, 6)
    (0.5, 0.1875)
    """
    ref = np.asarray(ref_sorted, dtype=np.float64)
    cur = np.asarray(cur_sorted, dtype=np.float64)
    n1, n2 = ref.shape[0], cur.shape[0]
    if n1 == 0:
        raise ValueError("ref_sorted: must not be empty")
    if n2 == 0:
        raise ValueError("cur_sorted: must not be empty")
    m1 = _nominal("n_ref", n_ref, n1)
    m2 = _nominal("n_cur", n_cur, n2)

    merged = merged or merge(ref, cur)
    ends = merged.ends
    # n1 n2 (F_ref - F_cur) in integers: exact, and cheaper than two float arrays at 1M rows
    scaled = merged.ref_le * n2 - merged.cur_le * n1
    if not ends.all():  # inside a run of ties the counts are partial: read the run ends only
        scaled = scaled[ends]
    d = float(max(int(scaled.max()), -int(scaled.min()), 0) / (n1 * n2))

    if m1 == n1 and m2 == n2 and max(n1, n2) <= MAX_EXACT_N:
        # scipy's exact branch: the statistic is rounded onto the lattice h/lcm.
        lcm = (n1 // math.gcd(n1, n2)) * n2
        d = int(np.round(d * lcm)) * 1.0 / lcm
        with warnings.catch_warnings():
            # scipy falls back to the asymptotic p-value (and says so) when the exact
            # recursion overflows; that fallback is the documented result.
            warnings.filterwarnings(
                "ignore", message="ks_2samp: Exact calculation unsuccessful",
                category=RuntimeWarning,
            )
            p = float(stats.ks_2samp(ref, cur).pvalue)
        return d, p

    m, n = sorted([float(m1), float(m2)], reverse=True)
    en = m * n / (m + n)
    if en > MAX_EXACT_N:
        root = math.sqrt(en)
        return d, float(np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * d), 0, 1))
    return d, float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))


def _nominal(name: str, value: int | None, length: int) -> int:
    if value is None:
        return length
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return int(value)
