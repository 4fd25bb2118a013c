"""How long do the performance, fairness and multivariate detectors take on one window?

A seeded binary classifier's reference (with labels) and a current window of the same size,
with a score, a prediction, labels and a two-valued sensitive column. Times ``driftwatch.check``
with only the performance detector (bootstrap interval, label-free estimates) and with only the
fairness detector, against a reference profile built beforehand; then the performance detector
on a three-class model with class probabilities and on a regression model (whose label-free
estimates fit their models once, in the first of the ``--repeat`` checks), each estimate shown
beside the realised figure.

Multivariate (``--mv-sizes``): 40 numeric columns (20 pairs correlated 0.8) and 10 categorical
columns of 12 levels; the reference profile keeps 20,000 rows whole. Windows of each size,
unchanged (``a/a``) or with the correlation of the first two pairs flipped to −0.8 (``flip``:
every column's own distribution unchanged); per method, the first check (the reconstruction
fitted then, the classifier always trains on the window) and the best of ``--repeat`` more
(the reconstruction's fit cached), with each window's decision.

Run:  python bench/performance_bench.py [--sizes 10000,100000] [--mv-sizes 100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import driftwatch
from driftwatch.detectors import FairnessDetector, MultivariateDetector, PerformanceDetector, joint_rows_wanted

SCHEMA = {"numeric": ["x"], "target": "y", "prediction": "pred", "score": "p", "sensitive": ["g"]}


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, rows)
    return pd.DataFrame({"x": rng.normal(size=rows), "p": p, "pred": (p >= 0.5).astype(int),
                         "y": (rng.random(rows) < p).astype(int), "g": rng.choice(["a", "b"], rows)})


MULTICLASS = {"numeric": ["x"], "target": "y", "prediction": "pred",
              "class_scores": {"a": "p_a", "b": "p_b", "c": "p_c"}}
REGRESSION = {"numeric": ["x", "z"], "categorical": ["k"], "target": "y", "prediction": "pred"}


def multiclass_frame(rows: int, seed: int) -> pd.DataFrame:
    """Three classes whose labels follow the model's probabilities (calibrated)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    logits = np.column_stack([x, -x, np.full(rows, 0.5)]) * 1.5
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random(rows)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    classes = np.array(["a", "b", "c"])
    return pd.DataFrame({"x": x, "y": classes[y], "pred": classes[p.argmax(axis=1)],
                         "p_a": p[:, 0], "p_b": p[:, 1], "p_c": p[:, 2]})


def regression_frame(rows: int, seed: int) -> pd.DataFrame:
    """A prediction that is the true mean, with errors that grow with ``x`` and in one category."""
    rng = np.random.default_rng(seed)
    x, z = rng.random(rows), rng.normal(size=rows)
    k = rng.choice(["calm", "wild"], rows, p=[0.7, 0.3])
    pred = 3 * x + z
    return pd.DataFrame({"x": x, "z": z, "k": k, "pred": pred,
                         "y": pred + rng.normal(size=rows) * (0.2 + 2 * x) * np.where(k == "wild", 2.0, 1.0)})


def wide(rows: int, seed: int, *, flipped: int = 0) -> pd.DataFrame:
    """40 numeric columns in 20 pairs correlated 0.8 (the first ``flipped`` pairs −0.8) and 10
    categorical columns of 12 levels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for pair in range(20):
        rho = -0.8 if pair < flipped else 0.8
        z = rng.normal(size=(rows, 2))
        columns[f"n{2 * pair}"] = z[:, 0]
        columns[f"n{2 * pair + 1}"] = rho * z[:, 0] + 0.6 * z[:, 1]
    levels = np.array([f"level_{k}" for k in range(12)], dtype=object)
    for c in range(10):
        columns[f"c{c}"] = levels[rng.integers(0, 12, rows)]
    return pd.DataFrame(columns)


def multivariate(sizes: list[int], repeat: int) -> None:
    detectors = {"reconstruction": MultivariateDetector(), "classifier": MultivariateDetector(method="classifier")}
    start = time.perf_counter()
    reference = driftwatch.profile(wide(200_000, 1), joint_rows=joint_rows_wanted(detectors.values()))
    print(f"multivariate: reference profile of 200,000 rows x 50 columns, 20,000 kept whole: "
          f"{time.perf_counter() - start:.2f} s")
    print(f"{'rows':>9} {'method':>15} {'window':>6} {'first s':>8} {'again s':>8} {'value':>8} {'alerts at':>9} "
          f"{'status':>6}")
    for rows in sizes:
        for window, current in (("a/a", wide(rows, 2)), ("flip", wide(rows, 3, flipped=2))):
            for name, detector in detectors.items():
                times = []
                for _ in range(1 + repeat):
                    start = time.perf_counter()
                    (found,) = driftwatch.check(reference, current, detectors=[detector])
                    times.append(time.perf_counter() - start)
                print(f"{rows:>9,} {name:>15} {window:>6} {times[0]:>8.3f} {min(times[1:] or times):>8.3f} "
                      f"{found.value:>8.4f} {found.threshold:>9.4f} {found.status:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="performance and fairness window sizes ('' for none)")
    parser.add_argument("--mv-sizes", default="100000,1000000", help="multivariate window sizes ('' for none)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.mv_sizes:
        multivariate([int(s) for s in args.mv_sizes.split(",")], args.repeat)
    print(f"{'rows':>8} {'detector':>24} {'seconds':>8}  label-free estimate vs realised")
    for rows in (int(s) for s in args.sizes.split(",") if s):
        cases = [("performance", frame, SCHEMA, PerformanceDetector()), ("fairness", frame, SCHEMA, FairnessDetector()),
                 ("performance (multiclass)", multiclass_frame, MULTICLASS, PerformanceDetector()),
                 ("performance (regression)", regression_frame, REGRESSION, PerformanceDetector())]
        for name, make, schema, detector in cases:
            reference = driftwatch.profile(make(rows, 1), schema)
            current = make(rows, 2)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                found = {r.metric: r.value for r in driftwatch.check(reference, current, detectors=[detector])}
                times.append(time.perf_counter() - start)
            gaps = [f"{m} {found[f'estimated_{m}']:.4f} vs {found[m]:.4f}"
                    for m in ("accuracy", "f1_macro", "mae", "rmse")
                    if found.get(f"estimated_{m}") is not None and found.get(m) is not None]
            print(f"{rows:>8} {name:>24} {min(times):>8.3f}  {'; '.join(gaps)}")


if __name__ == "__main__":
    main()
