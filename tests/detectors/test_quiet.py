"""Quiet by construction (issue 11): the default detectors do not page on unchanged data at small
windows, still catch real shifts from 1,000 rows, and stay silent on shifts nobody should be woken
for at large ones. Seeded and small; ``bench/quiet_bench.py`` measures the same at full size.

Before issue 11 every 300-row A/A run below alerted (new categories and out-of-range values
by chance) and 45 % of 1,000-row runs did, so these counts fail if that returns."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import driftwatch

Gen = Callable[[np.random.Generator, int], np.ndarray]
ZIPF = np.array([f"id_{k}" for k in range(1, 6_001)], dtype=object)
ZIPF_P = 1.0 / np.arange(1, 6_001) ** 1.1
ZIPF_P /= ZIPF_P.sum()


def with_share(base: Gen, share: float, value: float) -> Gen:
    def gen(rng: np.random.Generator, n: int) -> np.ndarray:
        out = base(rng, n)
        out[rng.random(n) < share] = value
        return out
    return gen


def choice(levels: str, p: list[float] | None = None) -> Gen:
    labels = np.array(list(levels), dtype=object)
    return lambda rng, n: labels[rng.choice(len(labels), n, p=p)]


def normal(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(size=n)


UNCHANGED: dict[str, Gen] = {
    "normal": normal,
    "student_t2": lambda rng, n: rng.standard_t(2.0, n),
    "poisson": lambda rng, n: rng.poisson(3.0, n).astype(float),
    "lognormal": lambda rng, n: rng.lognormal(size=n),
    "nan_1pct": with_share(normal, 0.01, math.nan),
    "inf_half_pct": with_share(normal, 0.005, math.inf),
    "five": choice("abcde"),
    "zipf_id": lambda rng, n: ZIPF[rng.choice(ZIPF.size, n, p=ZIPF_P)],
    "binary": choice("yn", [0.3, 0.7]),
}
SCHEMA = {"numeric": ["normal", "student_t2", "poisson", "lognormal", "nan_1pct", "inf_half_pct"],
          "categorical": ["five", "zipf_id", "binary"]}


def alerting_runs(rows: int, runs: int, seed: int) -> list[list[str]]:
    """For each A/A run, the (column, metric) pairs that alerted."""
    rng = np.random.default_rng(seed)
    fired = []
    for _ in range(runs):
        ref = pd.DataFrame({name: gen(rng, rows) for name, gen in UNCHANGED.items()})
        cur = pd.DataFrame({name: gen(rng, rows) for name, gen in UNCHANGED.items()})
        fired.append([f"{r.feature}:{r.metric}" for r in driftwatch.check(ref, cur, schema=SCHEMA)
                      if r.status == "alert"])
    return fired


@pytest.mark.parametrize("rows, runs", [(300, 30), (1_000, 20)])
def test_unchanged_data_does_not_page(rows: int, runs: int) -> None:
    fired = alerting_runs(rows, runs, seed=rows)
    assert sum(bool(f) for f in fired) <= 1, [f for f in fired if f]


SHIFTS: dict[str, tuple[str, Gen, Gen]] = {
    "mean": ("numeric", normal, lambda rng, n: rng.normal(0.5, 1.0, n)),
    "variance": ("numeric", normal, lambda rng, n: rng.normal(0.0, math.sqrt(2.0), n)),
    "bimodal": ("numeric", normal,
                lambda rng, n: rng.normal(np.where(rng.random(n) < 0.5, -0.9, 0.9), math.sqrt(1 - 0.81))),
    "mix": ("categorical", choice("abc", [0.5, 0.3, 0.2]), choice("abc", [0.2, 0.3, 0.5])),
    "new_category": ("categorical", choice("abcde"),
                     lambda rng, n: np.where(rng.random(n) < 0.1, "z", choice("abcde")(rng, n))),
    "missing": ("numeric", with_share(normal, 0.01, math.nan), with_share(normal, 0.4, math.nan)),
    # 3 %: at 1,000 rows 2 % is caught 98 % of the time (docs/statistics.md's quiet table), not every time
    "infinities": ("numeric", normal, with_share(normal, 0.03, math.inf)),
}


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_real_shifts_page_at_1000_rows(name: str) -> None:
    kind, before, after = SHIFTS[name]
    rng = np.random.default_rng(len(name))
    for _ in range(3):
        ref, cur = pd.DataFrame({"x": before(rng, 1_000)}), pd.DataFrame({"x": after(rng, 1_000)})
        alerts = [r for r in driftwatch.check(ref, cur, schema={kind: ["x"]}) if r.status == "alert"]
        assert alerts, name


def test_shifts_too_small_to_matter_stay_silent_at_200k_rows() -> None:
    rng = np.random.default_rng(9)
    n = 200_000
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": choice("abc", [0.5, 0.3, 0.2])(rng, n)})
    cur = pd.DataFrame({"x": rng.normal(0.02, 1.0, n), "c": choice("abc", [0.49, 0.3, 0.21])(rng, n)})
    results = [r for r in driftwatch.check(ref, cur) if r.detector == "drift" and r.feature]
    assert {r.feature: r.status for r in results} == {"x": "ok", "c": "ok"}
    # both are real and seen (significant at this size), just under the practical minimum
    assert all(r.details["rule"] == "significant but under the threshold" for r in results)
