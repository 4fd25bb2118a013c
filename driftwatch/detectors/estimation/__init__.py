"""Label-free performance estimate for binary classifiers that output a score.

Why: labels often arrive days after the predictions, while the model may already be
failing. If the scores can be turned into honest probabilities, the probabilities alone say
how well the model should be doing on a window whose labels are not in yet.

How (the idea behind confidence-based performance estimation, CBPE, as NannyML describes
it; this code is our own): on the labelled reference, learn a monotone calibrator from
score to ``P(y = 1 | score)`` (``fit_isotonic`` or ``fit_platt``). On an unlabelled window,
each row's calibrated probability ``p_i`` is its expected contribution to the confusion
matrix: a row predicted positive counts ``p_i`` as a true positive and ``1 - p_i`` as a
false positive, and so on. ``estimate_binary`` turns the expected matrix (and the expected
ROC curve) into accuracy, precision, recall, F1 and ROC AUC.

Where it is blind:

* Concept drift. The estimate assumes the calibration learned on the reference still holds
  on the window, i.e. ``P(y | x)`` (hence ``P(y | score)``) is unchanged. Covariate shift is
  fine - the window's own scores are re-weighted through the same calibrator - but if the
  relation between inputs and labels changes while the inputs look the same, the estimate
  stays put while the real metric falls. Only labels (a realised-performance check once
  they arrive) catch that.
* Scores outside the reference range: isotonic clips to its end values, Platt extrapolates
  its sigmoid; neither has evidence there.
* Small windows: the estimate is an expectation; the realised metric scatters around it
  by about ``sqrt(sum p_i (1 - p_i)) / n`` for accuracy.

>>> ref_score = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
>>> ref_label = np.array([0, 0, 1, 0, 1, 0, 1, 1])
>>> cal = fit_isotonic(ref_score, ref_label)
>>> window = np.array([0.15, 0.35, 0.65, 0.85])
>>> est = estimate_binary(cal(window), 0.5, score=window)
>>> {k: round(v, 3) for k, v in est.items()}
{'accuracy': 0.75, 'precision': 0.75, 'recall': 0.75, 'f1': 0.75, 'roc_auc': 0.875}
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the module doctest uses np)

from .calibrator import Calibrator
from .expected import estimate_binary
from .isotonic import fit_isotonic
from .platt import fit_platt

__all__ = ["Calibrator", "estimate_binary", "fit_isotonic", "fit_platt"]
