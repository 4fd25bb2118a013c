"""Aligning two column profiles onto the same bins, for the distance measures.

Numeric columns use the reference's quantile bins (see ``driftwatch.profiling``). Categorical
columns use the reference's ``top`` most frequent categories plus one ``other`` bucket that also
collects categories the reference never had. With ``missing_as_category`` the missing values
get a bin of their own on both sides; otherwise they are left out here and reported beside the
figure as missing shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model import MISSING_LABEL, OTHER_LABEL
from ...profiling import ColumnProfile


@dataclass(frozen=True, eq=False)
class Binned:
    """Counts of both sides over the same labelled bins."""

    labels: tuple[str, ...]
    ref: np.ndarray
    cur: np.ndarray


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def numeric_labels(edges: np.ndarray, minimum: float, maximum: float) -> tuple[str, ...]:
    """Readable bin labels: ``< min``, ``[a, b)`` ..., ``> max``.

    >>> numeric_labels(np.array([1.0, 2.5, np.nextafter(4.0, 5)]), 1.0, 4.0)
    ('< 1', '[1, 2.5)', '[2.5, 4]', '> 4')
    """
    if edges.size == 0:
        return ("all",)
    inner = [f"[{_fmt(a)}, {_fmt(b)})" for a, b in zip(edges[:-2], edges[1:-1])]
    return (f"< {_fmt(minimum)}", *inner, f"[{_fmt(edges[-2])}, {_fmt(maximum)}]", f"> {_fmt(maximum)}")


def align(ref: ColumnProfile, cur: ColumnProfile, *, top: int, missing_as_category: bool) -> Binned:
    """Both sides' counts over shared bins."""
    if ref.kind == "numeric":
        labels = numeric_labels(ref.edges, ref.minimum, ref.maximum)
        ref_counts, cur_counts = ref.bin_counts.astype(np.float64), cur.bin_counts.astype(np.float64)
    else:
        keep = ref.categories[:top]
        ref_counts = np.asarray(ref.counts[:top], dtype=np.float64)
        cur_counts = cur.counts_of(list(keep)).astype(np.float64)
        ref_other = float(ref.n_present - ref_counts.sum())
        cur_other = float(cur.n_present - cur_counts.sum())
        labels = tuple(keep)
        if ref_other > 0 or cur_other > 0:
            labels += (OTHER_LABEL,)
            ref_counts = np.append(ref_counts, ref_other)
            cur_counts = np.append(cur_counts, cur_other)
    if missing_as_category:
        labels += (MISSING_LABEL,)
        ref_counts = np.append(ref_counts, float(ref.n_missing))
        cur_counts = np.append(cur_counts, float(cur.n_missing))
    return Binned(labels=labels, ref=ref_counts, cur=cur_counts)


def all_categories(ref: ColumnProfile, cur: ColumnProfile, *, missing_as_category: bool) -> Binned:
    """Both sides' counts over every category either side has (for the chi-square test).

    When the reference profile kept only its ``max_categories`` most frequent categories, the
    rest of both sides goes into one ``(other)`` bin: a current category outside the kept set
    may have been in the reference's tail, so it cannot be told apart as new.
    """
    if ref.other_count:
        return align(ref, cur, top=len(ref.categories), missing_as_category=missing_as_category)
    new = cur.category_array()[ref.positions(cur.category_array()) < 0]
    labels = list(ref.categories) + new.tolist()
    ref_counts = np.concatenate([ref.counts.astype(np.float64), np.zeros(new.size)])
    cur_counts = cur.counts_of(labels).astype(np.float64)
    if missing_as_category:
        labels.append(MISSING_LABEL)
        ref_counts = np.append(ref_counts, float(ref.n_missing))
        cur_counts = np.append(cur_counts, float(cur.n_missing))
    return Binned(labels=tuple(labels), ref=ref_counts, cur=cur_counts)
