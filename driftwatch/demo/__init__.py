"""Seeded demo data: a credit model's reference set and daily production windows.

Days 1-2 look like the reference. From day 3 on, ``income`` shifts up by about 40%, the
``region`` mix moves towards "south" and a new region "islands" appears, and ``employment``
loses values (missing share up by about 15 points). The other columns stay put, so a good
monitor flags exactly those three columns.

The model approves an application when its repayment probability (``probability``) is at
least 0.5. Labels (``repaid``) arrive one to two days later in ``data/labels.csv``. From day 3 on
the applicants repay less often than the model expects (concept drift: accuracy falls, and the
label-free estimate, which trusts the reference calibration, cannot see it), and applicants
with ``gender = "F"`` get lower scores, so their approval rate falls below four fifths of the
others'.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..model import Window

EXAMPLE_CONFIG = Path(__file__).with_name("config.example.toml")
REGIONS = ["north", "south", "east", "west"]
EMPLOYMENT = ["employed", "self-employed", "unemployed", "retired", "student"]


@dataclass(frozen=True)
class Demo:
    """Where the demo was written and which windows it holds, oldest first."""

    directory: Path
    config: Path
    windows: tuple[Window, ...]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


def _model(rng: np.random.Generator, frame: pd.DataFrame, drift: float, prefix: str) -> pd.DataFrame:
    """Add the model's outputs, the applicant's group and (separately returned later) the truth."""
    n = len(frame)
    gender = rng.choice(["F", "M"], n)
    z = (0.4 + 1.2 * (frame["credit_score"] - 680) / 60 + 0.5 * (np.log(frame["income"]) - 10.8) / 0.5
         - 0.4 * (frame["loan_amount"] / 15000 - 1) + rng.normal(0, 0.3, n))
    z_model = z - 1.4 * drift * (gender == "F")
    probability = _sigmoid(z_model.to_numpy())
    p_true = _sigmoid((z - 2.5 * drift).to_numpy())
    return frame.assign(
        application_id=[f"{prefix}-{i:05d}" for i in range(n)],
        gender=gender,
        probability=probability.round(4),
        approved=(probability >= 0.5).astype(int),
        repaid=(rng.random(n) < p_true).astype(int),
    )


def _frame(rng: np.random.Generator, n: int, start: datetime, span: timedelta, drift: float) -> pd.DataFrame:
    seconds = np.sort(rng.uniform(0, span.total_seconds(), n))
    region_p = np.array([0.3, 0.25, 0.25, 0.2])
    regions = list(REGIONS)
    if drift:
        region_p = np.array([0.2, 0.45, 0.15, 0.1, 0.1])
        regions = REGIONS + ["islands"]
    employment = rng.choice(EMPLOYMENT, n, p=[0.6, 0.15, 0.1, 0.1, 0.05]).astype(object)
    employment[rng.random(n) < 0.02 + 0.15 * drift] = None
    return pd.DataFrame({
        "ts": pd.to_datetime(start) + pd.to_timedelta(seconds, unit="s"),
        "age": rng.normal(42, 12, n).clip(18, 90).round(),
        "income": rng.lognormal(10.8 + 0.35 * drift, 0.5, n).round(2),
        "credit_score": rng.normal(680, 60, n).clip(300, 850).round(),
        "loan_amount": rng.gamma(2.0, 7500, n).round(2),
        "num_accounts": rng.poisson(3, n).clip(0, 12),
        "region": rng.choice(regions, n, p=region_p),
        "employment": employment,
        "has_mortgage": rng.random(n) < 0.35,
    })


def write(directory: Path | str, *, days: int = 7, rows_per_day: int = 1000, reference_rows: int = 5000,
          today: datetime | None = None, seed: int = 7) -> Demo:
    """Write ``config.toml`` (a copy of ``config.example.toml``) and the data into ``directory``.

    The windows are the ``days`` whole UTC days before ``today`` (default: now), so the latest
    window is yesterday and ``driftwatch check`` finds it.
    """
    directory = Path(directory)
    (directory / "data" / "current").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    model_rng = np.random.default_rng(seed + 1)  # its own stream: the feature data stays as it was
    now = today or datetime.now(timezone.utc)
    midnight = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    first = midnight - timedelta(days=days)
    reference = _frame(rng, reference_rows, first - timedelta(days=30), timedelta(days=30), 0.0)
    _model(model_rng, reference, 0.0, "ref").to_parquet(directory / "data" / "reference.parquet", index=False)
    windows = []
    labels = []
    for day in range(days):
        window = Window(first + timedelta(days=day), first + timedelta(days=day + 1))
        drift = 1.0 if day >= 2 else 0.0
        frame = _model(model_rng, _frame(rng, rows_per_day, window.start, timedelta(days=1), drift), drift,
                       f"{window.start:%Y%m%d}")
        frame.drop(columns=["repaid"]).to_csv(directory / "data" / "current" / f"{window.start:%Y-%m-%d}.csv",
                                              index=False)
        arrived = frame["ts"] + pd.to_timedelta(model_rng.uniform(1.0, 2.0, len(frame)), unit="D")
        labels.append(frame.assign(labeled_at=arrived)[["application_id", "repaid", "labeled_at"]]
                      [arrived < pd.Timestamp(now)])
        windows.append(window)
    pd.concat(labels).to_csv(directory / "data" / "labels.csv", index=False)
    config = directory / "config.toml"
    shutil.copyfile(EXAMPLE_CONFIG, config)
    return Demo(directory=directory, config=config, windows=tuple(windows))
