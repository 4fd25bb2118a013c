"""``detectors.resampled``: every fast form equals the metric's own kernel on each resample."""

from __future__ import annotations

import numpy as np
import pytest

from driftwatch.detectors.bootstrap import take
from driftwatch.detectors.metrics import METRICS, Labels
from driftwatch.detectors.resampled import resampled


def _binary(rng: np.random.Generator, n: int) -> Labels:
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 2)  # rounded: many tied scores
    score[:3] = [0.0, 1.0, 1.0]  # exact 0 and 1: the clipped log-loss terms
    return Labels(y_true=y, y_pred=(score >= 0.5).astype(int), score=score, classes=(0, 1))


def _multiclass(rng: np.random.Generator, n: int) -> Labels:
    y = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), n, p=[0.5, 0.3, 0.15, 0.05])
    pred = np.where(rng.random(n) < 0.7, y, rng.choice(np.array(["a", "b", "c", "zz"], dtype=object), n))
    return Labels(y_true=y, y_pred=pred, classes=("a", "b", "c", "d"))


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_each_fast_form_equals_the_kernel_on_every_resample(task: str) -> None:
    rng = np.random.default_rng(11)
    labels = _binary(rng, 400) if task == "binary" else _multiclass(rng, 400)
    draws = rng.integers(0, 400, (60, 150))
    draws[0] = np.flatnonzero(np.asarray(labels.y_true) == labels.y_true[0])[:1].repeat(150)  # one class only
    names = [m.name for m in METRICS.values() if task in m.tasks]
    assert len(names) == 7  # binary: accuracy, P, R, F1, AUC, log loss, Brier; multiclass: accuracy, 6 averages
    for name in names:
        fast = resampled(name, labels, draws)
        assert fast is not None, name
        for i, rows in enumerate(draws):
            try:
                want = METRICS[name].compute(take(labels, rows))
            except ValueError:
                assert np.isnan(fast[i]), (name, i)
                continue
            assert fast[i] == pytest.approx(want, abs=1e-12), (name, i)


def test_metrics_without_a_fast_form_say_so() -> None:
    labels = Labels(y_true=np.array([1.0, 2.0, 3.0]), y_pred=np.array([1.5, 2.0, 2.0]))
    assert resampled("mae", labels, np.zeros((2, 3), dtype=np.int64)) is None
    assert resampled("precision", Labels(y_true=np.array([0, 1]), y_pred=np.array([0, 1])),
                     np.zeros((1, 2), dtype=np.int64)) is None  # no classes: the kernel's own error
