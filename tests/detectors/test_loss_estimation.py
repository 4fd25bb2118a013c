"""Label-free MAE and RMSE of a regression model (direct loss estimation, ``estimation.loss``).

On seeded data whose errors grow with ``x`` and in one category, the estimate is within 2 % of
the realised metric on 10k-row windows, unchanged or moved towards the hard inputs (measured:
under 0.3 %), with no label in the window; it is blind to concept drift, as documented; bad
input is a finding that says what is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import driftwatch
from driftwatch.detectors import PerformanceDetector
from driftwatch.profiling import Profile

SCHEMA: dict[str, Any] = {"numeric": ["x", "z"], "categorical": ["k"], "target": "y", "prediction": "pred"}


def frame(n: int, seed: int, *, hard: bool = False, noisier: float = 1.0) -> pd.DataFrame:
    """``pred`` is the true mean; the error's spread grows with ``x`` and doubles where
    ``k = "wild"``; ``hard`` moves the window towards both, ``noisier`` scales the noise for the
    same inputs (concept drift)."""
    rng = np.random.default_rng(seed)
    x = rng.beta(4, 1, n) if hard else rng.random(n)
    k = rng.choice(["calm", "wild"], n, p=[0.3, 0.7] if hard else [0.7, 0.3])
    z = rng.normal(size=n)
    pred = 3 * x + z
    spread = (0.2 + 2 * x) * np.where(k == "wild", 2.0, 1.0) * noisier
    return pd.DataFrame({"x": x, "z": z, "k": k, "pred": pred, "y": pred + rng.normal(size=n) * spread})


@pytest.fixture(scope="module")
def reference() -> Profile:
    ref = frame(8_000, 1)
    ref.loc[::97, "y"] = np.nan  # unlabelled reference rows are left out, not an error
    return Profile.from_bytes(driftwatch.profile(ref, SCHEMA).to_bytes())  # the features survive the cache


def figures(reference: Profile, window: pd.DataFrame) -> dict[str, Any]:
    return {r.metric: r for r in driftwatch.check(reference, window, detectors=[PerformanceDetector()])}


@pytest.mark.parametrize("hard", [False, True])
def test_the_estimate_is_within_two_percent_of_the_realised_error_without_labels(reference: Profile,
                                                                                 hard: bool) -> None:
    window = frame(10_000, 2 + hard, hard=hard)
    realised = figures(reference, window)
    estimated = figures(reference, window.drop(columns="y"))
    assert estimated["mae"].status == "insufficient_data"  # no labels: the estimates only
    for metric in ("mae", "rmse"):
        found = estimated[f"estimated_{metric}"]
        assert found.value == pytest.approx(realised[metric].value, rel=0.02), metric
        assert found.details["method"] == "dle"
        assert found.status == realised[metric].status == ("alert" if hard else "ok"), metric


def test_the_estimate_is_blind_to_concept_drift(reference: Profile) -> None:
    """The same inputs with twice the noise: the realised MAE alerts, the estimate stays put."""
    found = figures(reference, frame(10_000, 4, noisier=2.0))
    assert found["mae"].status == "alert" and found["estimated_mae"].status == "ok"
    assert found["estimated_mae"].value == pytest.approx(found["mae"].details["reference"], rel=0.05)


@pytest.mark.parametrize("case, status, says", [
    ("missing feature", "error", "column(s) 'z' missing from the current data"),
    ("few predictions", "insufficient_data", "fewer than min_rows=30 rows with a prediction"),
    ("text prediction", "error", "non-numeric value 'high'"),
])
def test_bad_input_is_a_finding_that_says_what_is_wrong(reference: Profile, case: str, status: str,
                                                         says: str) -> None:
    window = frame(200, 5).drop(columns="y").astype({"pred": object})
    if case == "missing feature":
        window = window.drop(columns="z")
    elif case == "few predictions":
        window.loc[window.index[29:], "pred"] = np.nan
    else:
        window.loc[window.index[0], "pred"] = "high"
    found = figures(reference, window)
    for metric in ("estimated_mae", "estimated_rmse"):
        assert (found[metric].status, found[metric].value) == (status, None)
        assert says in (found[metric].details.get("error") or found[metric].details.get("reason"))
