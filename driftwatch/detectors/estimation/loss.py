"""Label-free MAE and RMSE of a regression model: direct loss estimation (DLE).

Why: a regression model's errors are rarely the same everywhere; they grow where the inputs
are hard (a noisier region, a rarer category). When a window moves towards such inputs, its
error grows before any label arrives. A second model, fitted on the labelled reference, learns
how large the monitored model's error is for given inputs and prediction. Its mean over an
unlabelled window estimates the window's error.

How (the idea NannyML calls DLE; this code is our own): on the reference rows the profile keeps
features for (``outcomes.FEATURE_ROWS``), two gradient-boosted regressors (scikit-learn's
``HistGradientBoostingRegressor``, which takes missing values and categories as they are) learn
``|y − ŷ|`` and ``(y − ŷ)²`` from the features and ``ŷ``. Over a window, the mean of the first
estimates MAE, and the square root of the mean of the second estimates RMSE.

Where it is blind: concept drift. The estimate assumes the error the reference showed for given
inputs is still the error for those inputs. If ``y`` changes for the same inputs (a new price
regime, a changed definition), the estimate stays put while the realised error grows. Only
labels catch that. Inputs outside the reference's range get the error of the nearest ones the
trees saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LossModels", "fit_loss_models", "loss_inputs"]

#: Enough capacity to learn where the errors grow, shallow enough not to learn their noise.
_TREES: dict[str, Any] = {"max_iter": 100, "max_depth": 4, "min_samples_leaf": 40, "early_stopping": False}


@dataclass(frozen=True, eq=False)
class LossModels:
    """The two fitted regressors (see the module docstring)."""

    absolute: Any
    squared: Any

    def absolute_errors(self, inputs: np.ndarray) -> np.ndarray:
        """Each row's expected absolute error (``loss_inputs``)."""
        expected: np.ndarray = np.clip(self.absolute.predict(inputs), 0, None)
        return expected

    def estimate(self, inputs: np.ndarray) -> dict[str, float]:
        """Estimated ``mae`` and ``rmse`` of the rows ``inputs`` (``loss_inputs``)."""
        squared = np.clip(self.squared.predict(inputs), 0, None)
        return {"mae": float(self.absolute_errors(inputs).mean()), "rmse": float(np.sqrt(squared.mean()))}


def loss_inputs(features: np.ndarray, prediction: np.ndarray, categorical: Sequence[bool]) -> np.ndarray:
    """The regressors' inputs: ``joint.encode``d features (category codes capped as the domain
    classifier caps them) and the model's prediction as the last column."""
    from ..domain_classifier import model_inputs

    return np.column_stack([model_inputs(features, categorical), prediction.astype(np.float64)])


def fit_loss_models(inputs: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, categorical: Sequence[bool], *,
                    seed: int) -> LossModels:
    """The regressors of ``|y − ŷ|`` and ``(y − ŷ)²`` on ``inputs`` (``loss_inputs``)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    mask = np.append(np.asarray(categorical, dtype=bool), False)
    error = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    models = []
    for target in (np.abs(error), error * error):
        model = HistGradientBoostingRegressor(categorical_features=mask if mask.any() else None, random_state=seed,
                                              **_TREES)
        models.append(model.fit(inputs, target))
    return LossModels(*models)
