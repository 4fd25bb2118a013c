"""How often do driftwatch's default detectors page someone for nothing, and do they still catch drift?

``driftwatch.check(reference, current, schema=...)`` runs with its defaults (drift + quality)
and a run *alerts* when any result has ``status == "alert"``. A false page is the costliest bug
a monitor can have (people mute it, then miss the real one), so this bench measures three things
per size (rows per side):

* A/A: reference and current drawn independently from the same distribution, all these columns
  in one 10-column frame — numeric N(0,1), Student t (df 2), Poisson(3) as float (ties),
  lognormal(0,1), a constant 5.0, N(0,1) with 1% NaN, N(0,1) with 0.5% +inf; categorical
  uniform over 5 levels, a Zipf-like id (p_k ~ 1/k^1.1 over 6,000 labels ``id_k``) and a binary
  yes/no at 0.3/0.7. Printed: the share of runs with any alert and the (detector, metric)
  pairs that fired most.
* A/B recall: one shifted column per frame (mean +0.5 sd; variance x2; N(0,1) -> bimodal
  mixture with the same mean and variance; 3-level mix 0.5/0.3/0.2 -> 0.2/0.3/0.5; 10% of rows
  in a category the reference never has; NaN 1% -> 40%; 2% +inf in a column that had none).
  Printed: the share of runs with any alert.
* Must stay silent: N(0,1) -> N(0.02,1) and a 1%-mass shift 0.5/0.3/0.2 -> 0.49/0.3/0.21,
  shifts nobody should be woken for however many rows there are. Printed: share of runs with
  any alert.

Targets: A/A runs with any alert <= 1% at every size from 300 rows up (the rate at 100 is
printed, not judged); recall 1.0 on every real shift from 1,000 rows up; the 0.02-sd and
1%-mass shifts silent (0.0) at 1M rows.

Runs per size up to 10,000 rows: ``--runs`` A/A runs (default 1,000: a rate of 1 % is then
measured to about +-0.3 %) and ``--shift-runs`` runs per shift (default 100). Bigger sizes use
``--big-runs`` (default ``100000:20,1000000:3``: a size above 10,000 takes the count of the
first listed size at or above it, the last one beyond them) for both, never more than those two;
so ``--runs 2 --shift-runs 2`` gives 2 runs at every size. Every frame is drawn from
``SeedSequence([seed, rows, case, run])``, so a figure depends only on ``--seed`` and its size:
reruns, and runs with other ``--sizes``, print the same numbers. The reference is passed as a
frame (a cold check, profiling included).

Run:  python bench/quiet_bench.py [--sizes 100,300,1000,3000,10000,100000,1000000]
                                  [--runs 1000] [--shift-runs 100] [--big-runs 100000:20,1000000:3]
                                  [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, uninstalled

import driftwatch  # noqa: E402

Column = np.ndarray
Gen = Callable[[np.random.Generator, int], Column]

SMALL_LIMIT = 10_000  # sizes up to this use --runs; above it, --big-runs


# --- column generators: vectorised, one draw per column, no Python loop over rows --------------

def normal(mean: float = 0.0, sd: float = 1.0) -> Gen:
    return lambda rng, n: rng.normal(mean, sd, n)


def student_t(df: float) -> Gen:
    return lambda rng, n: rng.standard_t(df, n)


def poisson(lam: float) -> Gen:
    """Float on purpose: a numeric column with heavy ties, as counts often arrive."""
    return lambda rng, n: rng.poisson(lam, n).astype(np.float64)


def lognormal(mean: float, sigma: float) -> Gen:
    return lambda rng, n: rng.lognormal(mean, sigma, n)


def constant(value: float) -> Gen:
    return lambda rng, n: np.full(n, value, dtype=np.float64)


def bimodal(centre: float) -> Gen:
    """0.5 N(-c, s^2) + 0.5 N(c, s^2) with s^2 = 1 - c^2: mean 0 and variance 1 like N(0, 1), so
    only a test of shape (not of moments) can see it. c = 0.9 gives s ~ 0.436."""
    sd = math.sqrt(1.0 - centre * centre)

    def gen(rng: np.random.Generator, n: int) -> Column:
        return rng.normal(np.where(rng.random(n) < 0.5, -centre, centre), sd)

    return gen


def with_share(base: Gen, share: float, value: float | str) -> Gen:
    """``base`` with each row replaced by ``value`` (NaN, inf, a new label) with probability ``share``."""

    def gen(rng: np.random.Generator, n: int) -> Column:
        out = base(rng, n)
        out[rng.random(n) < share] = value
        return out

    return gen


def categorical(levels: Sequence[str], p: Sequence[float] | np.ndarray | None = None) -> Gen:
    """Draws integer codes and maps them through an object array: fast at 1M rows even with
    6,000 labels, where building strings per row would dominate the bench."""
    labels = np.array(list(levels), dtype=object)
    probs = None if p is None else np.asarray(p, dtype=np.float64) / np.sum(p)
    return lambda rng, n: labels[rng.choice(len(labels), n, p=probs)]


def zipf(categories: int, exponent: float) -> Gen:
    k = np.arange(1, categories + 1, dtype=np.float64)
    return categorical([f"id_{i}" for i in range(1, categories + 1)], 1.0 / k**exponent)


# --- cases -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shift:
    """One column whose reference is drawn from ``ref`` and current from ``cur``."""

    key: str        # short column header
    label: str      # legend text
    kind: str       # "numeric" or "categorical"
    ref: Gen
    cur: Gen


MIX = ("a", "b", "c")
FIVE = ("l1", "l2", "l3", "l4", "l5")

# A/A: name -> (kind, generator); all in one frame per run.
AA_COLUMNS: dict[str, tuple[str, Gen]] = {
    "normal": ("numeric", normal()),
    "student_t2": ("numeric", student_t(2.0)),
    "poisson3": ("numeric", poisson(3.0)),
    "lognormal": ("numeric", lognormal(0.0, 1.0)),
    "constant": ("numeric", constant(5.0)),
    "nan_1pct": ("numeric", with_share(normal(), 0.01, math.nan)),
    "inf_0.5pct": ("numeric", with_share(normal(), 0.005, math.inf)),
    "uniform5": ("categorical", categorical(FIVE)),
    "zipf_id": ("categorical", zipf(6_000, 1.1)),
    "binary": ("categorical", categorical(("yes", "no"), (0.3, 0.7))),
}

REAL_SHIFTS: tuple[Shift, ...] = (
    Shift("mean", "N(0,1)->N(0.5,1)", "numeric", normal(), normal(0.5)),
    Shift("var2", "N(0,1)->N(0,sqrt2)", "numeric", normal(), normal(0.0, math.sqrt(2.0))),
    Shift("bimod", "N(0,1)->bimodal, same mean/var", "numeric", normal(), bimodal(0.9)),
    Shift("freq", ".5/.3/.2->.2/.3/.5", "categorical",
          categorical(MIX, (0.5, 0.3, 0.2)), categorical(MIX, (0.2, 0.3, 0.5))),
    Shift("newcat", "10% new category", "categorical",
          categorical(FIVE), with_share(categorical(FIVE), 0.10, "l_new")),
    Shift("nan40", "NaN 1%->40%", "numeric",
          with_share(normal(), 0.01, math.nan), with_share(normal(), 0.40, math.nan)),
    Shift("inf2", "0%->2% +inf", "numeric", normal(), with_share(normal(), 0.02, math.inf)),
)

SILENT_SHIFTS: tuple[Shift, ...] = (
    Shift("q.02sd", "N(0,1)->N(0.02,1), must stay silent", "numeric", normal(), normal(0.02)),
    Shift("q1%", ".5/.3/.2->.49/.3/.21, must stay silent", "categorical",
          categorical(MIX, (0.5, 0.3, 0.2)), categorical(MIX, (0.49, 0.3, 0.21))),
)


# --- running ---------------------------------------------------------------------------------

def rngs(seed: int, rows: int, case: str, run: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent reference and current generators for one (size, case, run). The case enters
    by a CRC of its name, not its position, so adding a case leaves the others' figures alone."""
    sequence = np.random.SeedSequence([seed, rows, zlib.crc32(case.encode()), run])
    ref, cur = sequence.spawn(2)
    return np.random.default_rng(ref), np.random.default_rng(cur)


def schema_for(kinds: dict[str, str]) -> dict[str, list[str]]:
    return {"numeric": [c for c, k in kinds.items() if k == "numeric"],
            "categorical": [c for c, k in kinds.items() if k == "categorical"]}


AA_SCHEMA = schema_for({name: kind for name, (kind, _) in AA_COLUMNS.items()})


def aa_frames(seed: int, rows: int, run: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref_rng, cur_rng = rngs(seed, rows, "aa", run)
    return (pd.DataFrame({name: gen(ref_rng, rows) for name, (_, gen) in AA_COLUMNS.items()}),
            pd.DataFrame({name: gen(cur_rng, rows) for name, (_, gen) in AA_COLUMNS.items()}))


def shift_frames(shift: Shift, seed: int, rows: int, run: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref_rng, cur_rng = rngs(seed, rows, shift.key, run)
    return (pd.DataFrame({shift.key: shift.ref(ref_rng, rows)}),
            pd.DataFrame({shift.key: shift.cur(cur_rng, rows)}))


@dataclass
class SizeSummary:
    rows: int
    runs: int
    shift_runs: int
    aa_alert_runs: int
    aa_fired: Counter[str]            # "detector/metric" -> alert results over all runs
    aa_fired_features: Counter[str]   # "feature:detector/metric" -> alert results
    recall: dict[str, float]
    silent: dict[str, float]
    case_fired: dict[str, Counter[str]]  # shift key -> "detector/metric" -> alert results
    error_results: int                # results with status "error": they would hide misses
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "runs": self.runs, "shift_runs": self.shift_runs,
                "aa_alert_runs": self.aa_alert_runs, "aa_alert_rate": self.aa_alert_runs / self.runs,
                "aa_fired": dict(self.aa_fired.most_common()),
                "aa_fired_features": dict(self.aa_fired_features.most_common()),
                "recall": self.recall, "silent_alert_rate": self.silent,
                "case_fired": {k: dict(c.most_common()) for k, c in self.case_fired.items()},
                "error_results": self.error_results, "seconds": round(self.seconds, 3)}


def check(reference: pd.DataFrame, current: pd.DataFrame,
          schema: dict[str, list[str]]) -> list[driftwatch.Result]:
    return driftwatch.check(reference, current, schema=schema)


def alert_rate(shift: Shift, seed: int, rows: int, runs: int) -> tuple[float, int, Counter[str]]:
    """Share of runs with any alert, the number of error results, and which metrics fired (so a
    miss or a false page can be traced to the metric behind it)."""
    hits = errors = 0
    fired: Counter[str] = Counter()
    schema = schema_for({shift.key: shift.kind})
    for run in range(runs):
        results = check(*shift_frames(shift, seed, rows, run), schema)
        alerts = [r for r in results if r.status == "alert"]
        hits += bool(alerts)
        errors += sum(r.status == "error" for r in results)
        fired.update(f"{r.detector}/{r.metric}" for r in alerts)
    return hits / runs, errors, fired


def measure(rows: int, runs: int, shift_runs: int, seed: int) -> SizeSummary:
    start = time.perf_counter()
    alert_runs = errors = 0
    fired: Counter[str] = Counter()
    fired_features: Counter[str] = Counter()
    for run in range(runs):
        results = check(*aa_frames(seed, rows, run), AA_SCHEMA)
        alerts = [r for r in results if r.status == "alert"]
        alert_runs += bool(alerts)
        errors += sum(r.status == "error" for r in results)
        fired.update(f"{r.detector}/{r.metric}" for r in alerts)
        fired_features.update(f"{r.feature or '(set)'}:{r.detector}/{r.metric}" for r in alerts)
    recall: dict[str, float] = {}
    silent: dict[str, float] = {}
    case_fired: dict[str, Counter[str]] = {}
    for shifts, into in ((REAL_SHIFTS, recall), (SILENT_SHIFTS, silent)):
        for shift in shifts:
            into[shift.key], errs, case_fired[shift.key] = alert_rate(shift, seed, rows, shift_runs)
            errors += errs
    return SizeSummary(rows, runs, shift_runs, alert_runs, fired, fired_features, recall, silent, case_fired,
                       errors, time.perf_counter() - start)


def runs_for(rows: int, runs: int, big_runs: list[tuple[int, int]]) -> int:
    if rows <= SMALL_LIMIT or not big_runs:
        return runs
    for limit, count in big_runs:
        if rows <= limit:
            return min(runs, count)
    return min(runs, big_runs[-1][1])


def parse_big_runs(text: str) -> list[tuple[int, int]]:
    pairs = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        size, _, count = item.partition(":")
        if not count or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--big-runs: want SIZE:RUNS with RUNS >= 1, got {item!r}")
        pairs.append((int(size), int(count)))
    return sorted(pairs)


# --- printing --------------------------------------------------------------------------------

def table(summaries: list[SizeSummary]) -> str:
    """One markdown row per size; the long "top fired" column goes last so the figures line up."""
    keys = [s.key for s in REAL_SHIFTS] + [s.key for s in SILENT_SHIFTS]
    header = ["rows", "A/A runs", "A/A%", "shift runs"] + keys + ["err", "sec", "A/A top fired (alert results)"]
    rows = []
    for s in summaries:
        top = ", ".join(f"{name} x{n}" for name, n in s.aa_fired.most_common(3)) or "-"
        rows.append([f"{s.rows:,}", str(s.runs), f"{100 * s.aa_alert_runs / s.runs:.1f}", str(s.shift_runs)]
                    + [f"{s.recall[k]:.2f}" for k in keys if k in s.recall]
                    + [f"{s.silent[k]:.2f}" for k in keys if k in s.silent]
                    + [str(s.error_results), f"{s.seconds:.1f}", top])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i < len(cells) - 1 else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i < len(widths) - 1 else "-")
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def legend() -> str:
    recall = "; ".join(f"{s.key} = {s.label}" for s in REAL_SHIFTS)
    silent = "; ".join(f"{s.key} = {s.label}" for s in SILENT_SHIFTS)
    return ("Legend: A/A% = A/A runs with any alert (target <= 1% from 300 rows up); "
            f"recall, share of runs with any alert (target 1.00 from 1,000 up): {recall}; "
            f"silent-shift alert rate (target 0.00 at 1M): {silent}; "
            "err = results with status error; sec = wall time for the size.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000,3000,10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=1000, help="A/A runs per size up to 10,000 rows")
    parser.add_argument("--shift-runs", type=int, default=100, help="runs per shift per size up to 10,000 rows")
    parser.add_argument("--big-runs", type=parse_big_runs, default=parse_big_runs("100000:20,1000000:3"),
                        help="SIZE:RUNS,... for sizes above 10,000 (capped by --runs and --shift-runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print a JSON summary at the end")
    args = parser.parse_args()
    for name in ("runs", "shift_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    summaries = []
    for rows in sizes:
        summary = measure(rows, runs_for(rows, args.runs, args.big_runs),
                          runs_for(rows, args.shift_runs, args.big_runs), args.seed)
        summaries.append(summary)
        print(f"[{rows:,} rows: {summary.runs} runs in {summary.seconds:.1f} s]", file=sys.stderr, flush=True)

    print(f"driftwatch {driftwatch.__version__}, default detectors, seed {args.seed}\n")
    print(table(summaries))
    print()
    print(legend())
    print("\nA/A alerts by column (feature:detector/metric x alert results, top 5):")
    for s in summaries:
        top = ", ".join(f"{name} x{n}" for name, n in s.aa_fired_features.most_common(5)) or "none"
        print(f"  {s.rows:>9,}: {top}")
    if args.json:
        print(json.dumps({"seed": args.seed, "sizes": [s.to_json() for s in summaries]}, indent=2))


if __name__ == "__main__":
    main()
