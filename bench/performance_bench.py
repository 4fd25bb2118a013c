"""How long do the performance and fairness detectors take on one window?

A seeded binary classifier's reference (with labels) and a current window of the same size,
with a score, a prediction, labels and a two-valued sensitive column. Times ``driftwatch.check``
with only the performance detector (bootstrap interval, label-free estimates) and with only the
fairness detector, against a reference profile built beforehand.

Run:  python bench/performance_bench.py [--sizes 10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import driftwatch
from driftwatch.detectors import FairnessDetector, PerformanceDetector

SCHEMA = {"numeric": ["x"], "target": "y", "prediction": "pred", "score": "p", "sensitive": ["g"]}


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, rows)
    return pd.DataFrame({"x": rng.normal(size=rows), "p": p, "pred": (p >= 0.5).astype(int),
                         "y": (rng.random(rows) < p).astype(int), "g": rng.choice(["a", "b"], rows)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'rows':>8} {'detector':>12} {'seconds':>8}")
    for rows in (int(s) for s in args.sizes.split(",")):
        reference = driftwatch.profile(frame(rows, 1), SCHEMA)
        current = frame(rows, 2)
        for name, detector in (("performance", PerformanceDetector()), ("fairness", FairnessDetector())):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                driftwatch.check(reference, current, detectors=[detector])
                times.append(time.perf_counter() - start)
            print(f"{rows:>8} {name:>12} {min(times):>8.3f}")


if __name__ == "__main__":
    main()
