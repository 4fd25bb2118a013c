"""Population Stability Index over aligned bins.

Why: the credit-risk industry's drift figure; its rule-of-thumb bands (below 0.1 stable,
0.1-0.25 moderate, above 0.25 major shift) are what model owners already know.
"""

from __future__ import annotations

import numpy as np

from .counts import paired_counts

__all__ = ["psi", "psi_rows"]

EPS = 1e-4


def psi(
    ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = EPS
) -> tuple[float, np.ndarray]:
    """Return the PSI and each bin's contribution to it.

    With shares ``p = ref / sum(ref)`` and ``q = cur / sum(cur)`` over the same bins
    (Yurdakul 2018, "Statistical properties of population stability index")::

        PSI = sum_i (q_i - p_i) * ln(q_i / p_i)

    It is the symmetrised Kullback-Leibler divergence ``KL(q||p) + KL(p||q)``, so every
    term is >= 0. A bin that is empty on one side would make its log infinite, so both
    shares are clipped below at ``eps``: an empty bin counts as holding share ``eps``.
    (The clipped shares no longer sum to exactly 1; that is the usual convention.)

    Two all-zero count vectors are identical distributions: PSI 0. Exactly one all-zero
    vector has no distribution at all and raises ``ValueError``.

    >>> total, parts = psi(np.array([50, 30, 20]), np.array([40, 30, 30]))
    >>> round(total, 6)
    0.062861
    >>> [round(float(c), 6) for c in parts]
    [0.022314, 0.0, 0.040547]
    """
    if not eps > 0:
        raise ValueError(f"eps: must be > 0, got {eps}")
    ref, cur = paired_counts(ref_counts, cur_counts)
    ref_total, cur_total = ref.sum(), cur.sum()
    if ref_total == 0 and cur_total == 0:
        return 0.0, np.zeros(ref.shape[0])
    contributions = _contributions(ref / ref_total, cur / cur_total, eps)
    return float(contributions.sum()), contributions


def psi_rows(p: np.ndarray, q: np.ndarray, eps: float = EPS) -> np.ndarray:
    """The PSI of each row of shares ``p`` against the same row of ``q``, shares clipped at ``eps``.

    >>> psi_rows(np.array([[0.5, 0.3, 0.2]]), np.array([[0.4, 0.3, 0.3]])).round(6).tolist()
    [0.062861]
    """
    return np.asarray(np.sum(_contributions(p, q, eps), axis=-1), dtype=np.float64)


def _contributions(p: np.ndarray, q: np.ndarray, eps: float) -> np.ndarray:
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return np.asarray((q - p) * np.log(q / p), dtype=np.float64)
