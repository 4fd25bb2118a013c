"""Percentile-bootstrap intervals of a reference metric, for a current window of a given size.

The performance detector's ``auto`` rule alerts when a window's metric falls outside the
central interval of the reference metric recomputed on resamples the size of the window.

A tail finer than one resample (a segment of eleven tested at 0.99 wants 0.05 % per side; 200
resamples resolve 0.5 %) cannot be read off the resamples: their lowest value would stand in
for it, too narrow, and a stable segment would page. Then the interval is the resamples' mean
± z·sd, the normal quantile of the tail times their spread.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .metrics import Labels, Metric
from .resampled import resampled

__all__ = ["MAX_RESAMPLE", "Bootstrap", "take"]

#: Largest bootstrap resample. A bigger window's interval is the one at this size narrowed by
#: sqrt(MAX_RESAMPLE / n): the metrics are means or smooth functions of means, whose spread
#: shrinks as 1 / sqrt(n). It keeps a 1M-row window as cheap as a 10k-row one.
MAX_RESAMPLE = 10_000


class Bootstrap:
    """Percentile-bootstrap intervals of reference metrics for a window of ``n`` rows.

    Every metric uses the same seed, so its interval is reproducible run to run. Windows larger
    than ``MAX_RESAMPLE`` rows are resampled at that size and the interval is narrowed around the
    resamples' mean by ``sqrt(MAX_RESAMPLE / n)``.
    """

    def __init__(self, labels: Labels, count: int, seed: int) -> None:
        self.labels = labels
        self.count = count
        self.seed = seed
        self._cache: dict[tuple[str, int], tuple[float, float]] = {}
        #: The resamples of the last window size asked for (by resample size), and their labels.
        self._drawn: dict[int, np.ndarray] = {}
        self._taken: list[Labels] = []
        self._counts: dict[str, tuple[np.ndarray, ...]] = {}

    def interval(self, metric: Metric, n: int, confidence: float) -> tuple[float, float]:
        key = (metric.name, n)
        if key not in self._cache:
            values = self._values(metric, n)
            draw = min(max(n, 1), MAX_RESAMPLE)
            if not values.size:
                self._cache[key] = (float("nan"), float("nan"))
            else:
                tail = (1 - confidence) / 2
                spread = values  # the metric over the resamples
                if tail * spread.size >= 1 or spread.size < 2:
                    low, high = np.quantile(spread, [tail, 1 - tail])
                else:  # finer than the resamples resolve: the normal tail of their spread
                    half = float(stats.norm.isf(tail)) * float(spread.std(ddof=1))
                    low, high = float(spread.mean()) - half, float(spread.mean()) + half
                if n > draw:
                    centre, shrink = float(spread.mean()), float(np.sqrt(draw / n))
                    low, high = centre + (low - centre) * shrink, centre + (high - centre) * shrink
                self._cache[key] = (float(low), float(high))
        return self._cache[key]

    def _draws(self, n: int) -> np.ndarray:
        """The resamples for a window of ``n`` rows, one per row: the same for every metric."""
        draw = min(max(n, 1), MAX_RESAMPLE)
        if draw not in self._drawn:
            rng = np.random.default_rng(self.seed)
            size = self.labels.y_true.size
            rows = [rng.integers(0, size, draw) for _ in range(self.count)]
            self._drawn = {draw: np.stack(rows) if rows else np.empty((0, draw), dtype=np.int64)}
            self._taken = []
            self._counts = {}
        return self._drawn[draw]

    def _values(self, metric: Metric, n: int) -> np.ndarray:
        """The metric on each resample where it is defined (``resampled``, else one by one)."""
        draws = self._draws(n)
        fast = resampled(metric.name, self.labels, draws, self._counts)
        if fast is not None:
            defined: np.ndarray = fast[~np.isnan(fast)]
            return defined
        if not self._taken:  # the resampled labels, built once for every metric
            self._taken = [take(self.labels, rows) for rows in draws]
        values = []
        for labels in self._taken:
            try:
                values.append(metric.compute(labels))
            except ValueError:  # e.g. a resample with one class has no ROC AUC
                continue
        return np.asarray(values, dtype=np.float64)


def take(labels: Labels, rows: np.ndarray) -> Labels:
    return Labels(y_true=labels.y_true[rows],
                  y_pred=None if labels.y_pred is None else labels.y_pred[rows],
                  score=None if labels.score is None else labels.score[rows],
                  classes=labels.classes, pos_label=labels.pos_label)
