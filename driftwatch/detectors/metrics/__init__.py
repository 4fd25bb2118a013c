"""Performance metrics: each a record naming a figure, the tasks it fits and what it reads.

A metric is a record, not a class hierarchy (as the drift methods in ``..methods``): the
performance detector asks ``metrics_for(task, has_prediction, has_score)`` which figures it can
compute, then calls each record's ``compute`` on one ``Labels``. The kernels themselves are pure
functions of arrays in ``classification.py`` and ``regression.py``; the records here adapt them
to a ``Labels``. Every figure equals scikit-learn's function of the same name (tests).

>>> labels = Labels(np.array(["no", "yes", "yes", "no"]), y_pred=np.array(["no", "yes", "no", "no"]),
...                 score=np.array([0.2, 0.9, 0.4, 0.3]), classes=("no", "yes"))
>>> [(m.name, round(m.compute(labels), 4)) for m in metrics_for("binary", True, True)]
... # doctest: +NORMALIZE_WHITESPACE
[('accuracy', 0.75), ('precision', 1.0), ('recall', 0.5), ('f1', 0.6667),
 ('roc_auc', 1.0), ('log_loss', 0.4004), ('brier', 0.125)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .classification import accuracy, brier, log_loss, precision_recall_f1, roc_auc
from .regression import mae, mape, r2, rmse

__all__ = ["METRICS", "TASKS", "Labels", "Metric", "metrics_for"]

#: The tasks a metric may serve.
TASKS = frozenset({"binary", "multiclass", "regression"})


@dataclass(frozen=True, eq=False)
class Labels:
    """Aligned arrays of one window: true labels, and predictions and/or scores.

    ``classes`` are the sorted class labels (empty for regression); in a binary task the
    positive class is ``pos_label`` if given, else ``classes[-1]``. ``score`` is the
    probability of that positive class. The caller has dropped rows without a label.
    """

    y_true: np.ndarray
    y_pred: np.ndarray | None = None
    score: np.ndarray | None = None
    classes: tuple[object, ...] = ()
    pos_label: object | None = None

    def __post_init__(self) -> None:
        n = np.shape(self.y_true)
        if len(n) != 1:
            raise ValueError(f"y_true: must be 1-D, got shape {n}")
        for name, values in (("y_pred", self.y_pred), ("score", self.score)):
            if values is not None and np.shape(values) != n:
                raise ValueError(f"{name}: shape {np.shape(values)} differs from y_true's {n}")

    @property
    def positive(self) -> object:
        """The positive class of a binary task."""
        if self.pos_label is not None:
            return self.pos_label
        if not self.classes:
            raise ValueError("classes: empty, so there is no positive class (give pos_label)")
        return self.classes[-1]

    @property
    def y_true01(self) -> np.ndarray:
        """Boolean array: is the true label the positive class."""
        return np.asarray(self.y_true == self.positive, dtype=bool)


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: frozenset[str]
    needs: str  # "prediction" (class or value) or "score" (probability of the positive class)
    higher_is_better: bool
    compute: Callable[[Labels], float]

    def __post_init__(self) -> None:
        if not self.tasks or not self.tasks <= TASKS:
            raise ValueError(f"tasks: must be a non-empty subset of {sorted(TASKS)}, got {sorted(self.tasks)}")
        if self.needs not in ("prediction", "score"):
            raise ValueError(f"needs: must be 'prediction' or 'score', got {self.needs!r}")


def _pred(labels: Labels) -> np.ndarray:
    if labels.y_pred is None:
        raise ValueError("y_pred: this metric needs predictions")
    return labels.y_pred


def _score(labels: Labels) -> np.ndarray:
    if labels.score is None:
        raise ValueError("score: this metric needs scores")
    return labels.score


def _accuracy(labels: Labels) -> float:
    return accuracy(labels.y_true, _pred(labels))


def _prf(average: str, which: int) -> Callable[[Labels], float]:
    def compute(labels: Labels) -> float:
        if average == "binary":
            figures = precision_recall_f1(
                labels.y_true, _pred(labels), labels=labels.classes, average="binary", pos_label=labels.positive
            )
        elif average == "macro":
            figures = precision_recall_f1(labels.y_true, _pred(labels), labels=labels.classes, average="macro")
        else:
            figures = precision_recall_f1(labels.y_true, _pred(labels), labels=labels.classes, average="weighted")
        return figures[which]

    return compute


def _roc_auc(labels: Labels) -> float:
    return roc_auc(labels.y_true01, _score(labels))


def _log_loss(labels: Labels) -> float:
    return log_loss(labels.y_true01, _score(labels))


def _brier(labels: Labels) -> float:
    return brier(labels.y_true01, _score(labels))


def _mae(labels: Labels) -> float:
    return mae(labels.y_true, _pred(labels))


def _rmse(labels: Labels) -> float:
    return rmse(labels.y_true, _pred(labels))


def _mape(labels: Labels) -> float:
    return mape(labels.y_true, _pred(labels))[0]


def _r2(labels: Labels) -> float:
    return r2(labels.y_true, _pred(labels))


def _records() -> list[Metric]:
    binary, multiclass, regression = frozenset({"binary"}), frozenset({"multiclass"}), frozenset({"regression"})
    records = [Metric("accuracy", binary | multiclass, "prediction", True, _accuracy)]
    for average, suffix, tasks in (("binary", "", binary), ("macro", "_macro", multiclass),
                                   ("weighted", "_weighted", multiclass)):
        for which, figure in enumerate(("precision", "recall", "f1")):
            records.append(Metric(figure + suffix, tasks, "prediction", True, _prf(average, which)))
    records += [
        Metric("roc_auc", binary, "score", True, _roc_auc),
        Metric("log_loss", binary, "score", False, _log_loss),
        Metric("brier", binary, "score", False, _brier),
        Metric("mae", regression, "prediction", False, _mae),
        Metric("rmse", regression, "prediction", False, _rmse),
        Metric("mape", regression, "prediction", False, _mape),
        Metric("r2", regression, "prediction", True, _r2),
    ]
    return records


#: Every built-in metric by name, in the order the detector reports them.
METRICS: dict[str, Metric] = {m.name: m for m in _records()}


def metrics_for(task: str, has_prediction: bool, has_score: bool) -> list[Metric]:
    """Return the metrics a task can compute from what the data holds, in ``METRICS`` order.

    >>> [m.name for m in metrics_for("regression", True, False)]
    ['mae', 'rmse', 'mape', 'r2']
    >>> [m.name for m in metrics_for("binary", False, True)]
    ['roc_auc', 'log_loss', 'brier']
    """
    if task not in TASKS:
        raise ValueError(f"task: must be one of {sorted(TASKS)}, got {task!r}")
    available = {"prediction": has_prediction, "score": has_score}
    return [m for m in METRICS.values() if task in m.tasks and available[m.needs]]
