"""Checking the two count vectors every binned measure takes."""

from __future__ import annotations

import numpy as np


def paired_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float arrays over the same bins.

    A measure between an empty and a non-empty side is undefined, so that is an error naming
    the empty side; two empty sides are allowed (the caller decides what "no data" means).

    >>> paired_counts(np.array([1, 0]), np.array([2]))
    Traceback (most recent call last):
    ...
    ValueError: cur_counts: has 1 bins, ref_counts has 2
    """
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    for name, arr in (("ref_counts", ref), ("cur_counts", cur)):
        if arr.ndim != 1:
            raise ValueError(f"{name}: must be 1-D, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name}: counts must be finite and >= 0")
    if ref.shape != cur.shape:
        raise ValueError(f"cur_counts: has {cur.shape[0]} bins, ref_counts has {ref.shape[0]}")
    if (ref.sum() == 0) != (cur.sum() == 0):
        empty = "ref_counts" if ref.sum() == 0 else "cur_counts"
        raise ValueError(f"{empty}: all counts are 0, the other side's are not")
    return ref, cur
