"""Is the smallest detectable drift (``details.mde_sd``) what it claims: flagged with 80 % power?

For each reference shape and size and each window size, one ``driftwatch.check`` gives the
auto method's (``ks``) ``mde_sd`` for a lone column; then ``--runs`` windows drawn from the
reference's distribution moved by ``mde_sd`` reference standard deviations go through the same
rule (KS p below alpha 0.01 and D at least 0.05), and the share flagged is printed. The formula
is meant to err large (power at or above 80 %), never small.

Run:  python bench/detectable_bench.py [--runs 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, uninstalled

import driftwatch  # noqa: E402

SHAPES = {
    "normal": lambda rng, n: rng.normal(size=n),
    "lognormal": lambda rng, n: rng.lognormal(size=n),
    "poisson(3)": lambda rng, n: rng.poisson(3.0, n).astype(float),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'reference':<12} {'ref rows':>8} {'window':>7} {'mde (D)':>8} {'mde_sd':>7} {'power':>6}")
    for name, draw in SHAPES.items():
        for n_ref in (1_000, 20_000):
            for n_cur in (100, 400, 2_000):
                ref = draw(rng, n_ref)
                [r] = [x for x in driftwatch.check(pd.DataFrame({"x": ref}), pd.DataFrame({"x": draw(rng, n_cur)}))
                       if x.detector == "drift" and x.feature == "x"]
                step = r.details["mde_sd"] * ref.std(ddof=1)
                flagged = 0
                for _ in range(args.runs):
                    test = stats.ks_2samp(ref, draw(rng, n_cur) + step)
                    flagged += test.pvalue < 0.01 and test.statistic >= 0.05
                print(f"{name:<12} {n_ref:>8,} {n_cur:>7,} {r.details['mde']:>8.4f} {r.details['mde_sd']:>7.3f} "
                      f"{flagged / args.runs:>6.2f}")


if __name__ == "__main__":
    main()
