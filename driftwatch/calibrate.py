"""An A/A dry run of one monitor: how often would it page when nothing changed, and what can it see?

Why: whether a monitor is quiet depends on its window size, its reference, its columns and its
schedule together; no default can promise it for every monitor. ``driftwatch calibrate`` answers
for the monitor as configured: it splits the reference at random into a window of the monitor's
usual size and the rest, profiles the rest as the reference, runs the monitor's detectors on the
window (nothing stored, nothing sent), and repeats. Every alert it sees is a false one.

* Expected false pages per 30 days = windows per 30 days x ``rate ** for_runs``, ``rate`` the
  share of draws with an alert (a page needs ``for_runs`` breaching windows in a row; windows
  taken as independent). The 95 % upper figure uses the Clopper-Pearson bound on ``rate``: with
  no alert in 200 draws the rate is only known to be under 1.8 %.
* The smallest detectable drift per feature is the median over the draws of the drift results'
  ``details.mde`` (the method's units) and ``details.mde_sd`` (reference standard deviations).

Each draw profiles the rest of the reference, so a draw costs about one cold check of the
monitor (``bench/drift_bench.py``): 200 draws of a 100,000-row, 50-column reference take minutes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import stats

from .detectors import Detector, joint_rows_wanted
from .engine import detect
from .model import Schema
from .profiling import ProfileOptions, profile

__all__ = ["Calibration", "Detectable", "calibrate", "false_pages", "report"]

MONTH = timedelta(days=30)


@dataclass(frozen=True)
class Detectable:
    """A feature's smallest detectable drift: its method and the medians over the draws."""

    method: str
    mde: float | None
    mde_sd: float | None


@dataclass(frozen=True)
class Calibration:
    """What the A/A draws of one monitor showed."""

    monitor: str
    draws: int
    rows: int                   # current rows per draw
    reference_rows: int         # reference rows per draw (the rest)
    windows_per_month: float    # windows in 30 days at the monitor's schedule
    for_runs: int
    alert_draws: Counter[tuple[str, str]] = field(default_factory=Counter)  # (detector, metric) -> draws
    any_alert_draws: int = 0
    detectable: Mapping[str, Detectable] = field(default_factory=dict)

    def pages(self, draws_with_alert: int) -> tuple[float, float]:
        """Expected false pages per 30 days, and its 95 % upper bound."""
        return false_pages(draws_with_alert, self.draws, self.windows_per_month, self.for_runs)


def false_pages(alerts: int, draws: int, windows: float, for_runs: int = 1) -> tuple[float, float]:
    """Expected false pages in ``windows`` windows when ``alerts`` of ``draws`` A/A draws alerted,
    and the same from the Clopper-Pearson 95 % upper bound of the rate.

    >>> expected, upper = false_pages(0, 200, 720)
    >>> expected, round(upper, 1)          # none seen: still up to 1.8 % of 720 hourly windows
    (0.0, 13.2)
    >>> round(false_pages(2, 200, 720, for_runs=2)[0], 3)   # two breaching windows in a row
    0.072
    """
    rate = alerts / draws
    upper = float(stats.beta.ppf(0.975, alerts + 1, draws - alerts)) if alerts < draws else 1.0
    return windows * rate ** for_runs, windows * upper ** for_runs


def calibrate(monitor: str, reference: pd.DataFrame, detectors: tuple[Detector, ...], *, schema: Schema | None,
              rows: int, draws: int, period: timedelta, for_runs: int = 1, options: ProfileOptions | None = None,
              seed: int = 0) -> Calibration:
    """Run ``draws`` A/A draws of ``rows`` current rows from ``reference`` through ``detectors``.

    ``rows`` must leave at least as many rows for the reference (``ValueError`` naming it).
    """
    if draws < 1:
        raise ValueError(f"draws: must be >= 1, got {draws}")
    if rows < 1 or 2 * rows > len(reference):
        raise ValueError(f"rows: must be between 1 and half the reference's {len(reference)} rows, got {rows}")
    rng = np.random.default_rng(seed)
    fired: Counter[tuple[str, str]] = Counter()
    any_alert = 0
    mdes: dict[str, list[tuple[str, float | None, float | None]]] = {}
    for _ in range(draws):
        order = rng.permutation(len(reference))
        window = reference.iloc[order[:rows]].reset_index(drop=True)
        rest = reference.iloc[order[rows:]].reset_index(drop=True)
        built = profile(rest, schema, options or ProfileOptions(), joint_rows=joint_rows_wanted(detectors))
        findings = detect(built, window, detectors)
        alerted = {(name, f.metric) for name, f in findings if f.status == "alert"}
        fired.update(alerted)
        any_alert += bool(alerted)
        for name, f in findings:
            if name == "drift" and f.feature and "mde" in f.details:
                mdes.setdefault(f.feature, []).append((f.metric, f.details.get("mde"), f.details.get("mde_sd")))
    return Calibration(monitor, draws, rows, len(reference) - rows, MONTH / period, for_runs, fired, any_alert,
                       {feature: _median(seen) for feature, seen in mdes.items()})


def _median(seen: list[tuple[str, float | None, float | None]]) -> Detectable:
    def middle(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None
    return Detectable(seen[0][0], middle([s[1] for s in seen]), middle([s[2] for s in seen]))


def report(result: Calibration, budget: float) -> str:
    """The printed form: per detector and metric, then per feature."""
    lines = [f"monitor {result.monitor!r}: {result.draws} A/A draws of {result.rows:,} rows against "
             f"{result.reference_rows:,} reference rows; {result.windows_per_month:,.0f} windows per 30 days, "
             f"for_runs = {result.for_runs}",
             "",
             f"{'detector':<12} {'metric':<26} {'alert draws':>11} {'false pages / 30 days':>22} {'95% upper':>10}"]
    for (detector, metric), count in sorted(result.alert_draws.items()):
        expected, upper = result.pages(count)
        lines.append(f"{detector:<12} {metric:<26} {count:>11} {expected:>22.2f} {upper:>10.2f}")
    expected, upper = result.pages(result.any_alert_draws)
    verdict = "over" if expected > budget else "within"
    lines.append(f"{'any':<12} {'':<26} {result.any_alert_draws:>11} {expected:>22.2f} {upper:>10.2f}")
    lines += ["", f"expected false pages per 30 days: {expected:.2f} ({verdict} the budget of {budget:g})"]
    if result.detectable:
        lines += ["", "smallest drift each window flags with 80 % power (median over the draws):",
                  f"{'feature':<24} {'method':<14} {'effect':>8} {'in sd':>8}"]
        for feature, d in sorted(result.detectable.items()):
            lines.append(f"{feature:<24} {d.method:<14} {_fmt(d.mde):>8} {_fmt(d.mde_sd):>8}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
