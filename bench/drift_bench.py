"""How fast is ``driftwatch.check`` on wide frames, and how much memory does it take?

For each size (default 10k, 100k, 1M rows) a seeded reference and current frame with 40 numeric
and 10 categorical columns are built; the current frame shifts 5 numeric columns by 0.02 sd
(noise nobody should be paged for), 3 by 0.5 sd and 2 categorical columns' mix (real drift).
Each measurement runs in a fresh subprocess so peak RSS is its own:

* cold   — ``check(reference_frame, current_frame)``: profile the reference, then check;
* cached — ``check(profile, current_frame)`` with the profile built (and not timed) beforehand.

Run:  python bench/drift_bench.py [--sizes 10000,100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

NUMERIC, CATEGORICAL = 40, 10
SMALL_SHIFT = [f"n{i}" for i in range(5)]          # 0.02 sd: must stay ok
BIG_SHIFT = [f"n{i}" for i in range(5, 8)]         # 0.5 sd: must alert
CAT_SHIFT = [f"c{i}" for i in range(2)]            # mix moves: must alert


def frames(rows: int, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{k}" for k in range(12)], dtype=object)
    p = np.linspace(1, 3, 12)
    p /= p.sum()

    def one(shifted: bool) -> pd.DataFrame:
        data: dict[str, object] = {}
        for i in range(NUMERIC):
            name = f"n{i}"
            shift = 0.0
            if shifted and name in SMALL_SHIFT:
                shift = 0.02
            elif shifted and name in BIG_SHIFT:
                shift = 0.5
            data[name] = rng.normal(shift, 1.0, rows)
        for i in range(CATEGORICAL):
            name = f"c{i}"
            probs = p[::-1] if shifted and name in CAT_SHIFT else p
            data[name] = levels[rng.choice(12, rows, p=probs)]
        return pd.DataFrame(data)

    return one(False), one(True)


def measure(rows: int, mode: str, repeat: int) -> dict[str, object]:
    import driftwatch

    reference, current = frames(rows)
    size = int(reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum())
    rss_frames = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ref: object = driftwatch.profile(reference) if mode == "cached" else reference
    times = []
    results = []
    for _ in range(repeat):
        start = time.perf_counter()
        results = driftwatch.check(ref, current)
        times.append(time.perf_counter() - start)
    drift = {r.feature: r.status for r in results if r.detector == "drift" and r.feature}
    methods = sorted({r.metric for r in results if r.detector == "drift" and r.feature})
    return {
        "rows": rows, "mode": mode, "seconds": min(times), "frames_bytes": size,
        "rss_after_frames": rss_frames,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "small_shift_alerts": sum(drift[c] == "alert" for c in SMALL_SHIFT),
        "big_shift_alerts": sum(drift[c] == "alert" for c in BIG_SHIFT + CAT_SHIFT),
        "other_alerts": sum(s == "alert" for c, s in drift.items() if c not in SMALL_SHIFT + BIG_SHIFT + CAT_SHIFT),
        "methods": methods,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("ROWS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.repeat)))
        return
    mib = 1024 * 1024
    print(f"{'rows':>9} {'mode':>6} {'seconds':>8} {'rows/s':>11} {'frames MiB':>10} "
          f"{'peak RSS MiB':>12} {'peak/frames':>11}  decisions")
    for rows in (int(s) for s in args.sizes.split(",")):
        for mode in ("cold", "cached"):
            out = subprocess.run([sys.executable, __file__, "--one", str(rows), mode, "--repeat", str(args.repeat)],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            print(f"{r['rows']:>9} {r['mode']:>6} {r['seconds']:>8.3f} {r['rows'] / r['seconds']:>11,.0f} "
                  f"{r['frames_bytes'] / mib:>10.0f} {r['peak_rss'] / mib:>12.0f} "
                  f"{r['peak_rss'] / r['frames_bytes']:>11.2f}  "
                  f"0.02sd alerts {r['small_shift_alerts']}/5, real drift alerts {r['big_shift_alerts']}/5, "
                  f"false alarms {r['other_alerts']}, methods {','.join(r['methods'])}")


if __name__ == "__main__":
    main()
