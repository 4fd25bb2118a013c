"""High-cardinality categories (issue 12, defect 6): time, memory and the figures themselves.

For each size ``d`` (default 10^4, 10^5, 10^6) the reference has ``d`` rows of ``d`` distinct
values ``"c%07d"``, the current window ``d`` rows of which half are the reference's second half
and half are values the reference never had. The true new-category share is therefore 0.5 and
so is the vanished share. The frames are written to Parquet once and each measurement reads them
in a fresh subprocess (as the file connector would), so its peak RSS is its own and is not
inflated by the Python strings that made the data:

* cold    — ``check(reference_frame, current_frame)``: profile the reference, then check;
* profile — ``profile(reference_frame).to_bytes()``, what a new reference version costs once;
  ``profile KiB`` is the serialised size the store keeps;
* cached  — ``check(Profile.from_bytes(...), current_frame)``: a scheduled run.

``RSS before`` is the process after reading the frames (and loading the profile), ``peak RSS``
its peak: the interpreter and its libraries are about 190 MiB of both.

``--code DIR`` runs the same against another checkout (``git archive HEAD driftwatch | tar -x
-C DIR`` for the code before a change), ``--exact-limit 0`` forces the Bloom filter path.
``--tracemalloc`` adds Python's peak traced allocation during the timed call (slower: every
allocation is traced; Arrow's own buffers are not).

Run:  python bench/cardinality_bench.py [--sizes 10000,100000,1000000] [--code DIR] [--exact-limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("cold", "profile", "cached")


def write_frames(distinct: int, folder: Path) -> None:
    import numpy as np
    import pandas as pd

    half = distinct // 2
    ref = np.array([f"c{i:07d}" for i in range(distinct)], dtype=object)
    cur = np.array([f"c{i:07d}" for i in range(half, distinct + half)], dtype=object)
    pd.DataFrame({"c": ref}).to_parquet(folder / f"ref{distinct}.parquet", index=False)
    pd.DataFrame({"c": cur}).to_parquet(folder / f"cur{distinct}.parquet", index=False)


def rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(distinct: int, mode: str, folder: Path, exact_limit: int | None, traced: bool) -> dict[str, object]:
    import pandas as pd

    import driftwatch
    from driftwatch.profiling import Profile

    if exact_limit is not None:
        from driftwatch import membership
        membership.EXACT_LIMIT = exact_limit
    stored = folder / f"profile{distinct}.bin"
    reference = pd.read_parquet(folder / f"ref{distinct}.parquet") if mode != "cached" else None
    current = pd.read_parquet(folder / f"cur{distinct}.parquet") if mode != "profile" else None
    ref = Profile.from_bytes(stored.read_bytes()) if mode == "cached" else reference
    before = rss()
    if traced:
        import tracemalloc
        tracemalloc.start()
    start = time.perf_counter()
    if mode == "profile":
        data = driftwatch.profile(reference).to_bytes()
    else:
        results = driftwatch.check(ref, current)
    seconds = time.perf_counter() - start
    traced_peak = None
    if traced:
        import tracemalloc
        traced_peak = tracemalloc.get_traced_memory()[1]
    figures = {}
    if mode == "profile":
        stored.write_bytes(data)
    else:
        figures = {r.metric: (r.value, r.status, r.details.get("expected"))
                   for r in results if r.detector == "quality" and r.metric.endswith("category_share")}
    return {"distinct": distinct, "mode": mode, "seconds": seconds, "rss_before": before, "peak_rss": rss(),
            "traced_peak": traced_peak, "profile_bytes": stored.stat().st_size if mode == "profile" else None,
            "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--code", help="a checkout whose driftwatch package to measure instead")
    parser.add_argument("--exact-limit", type=int, help="tail categories kept exactly (0: Bloom filter always)")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--one", nargs=3, metavar=("DISTINCT", "MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], Path(args.one[2]), args.exact_limit,
                                 args.tracemalloc)))
        return
    with tempfile.TemporaryDirectory() as folder:
        run_all(args, Path(folder))


def run_all(args: argparse.Namespace, folder: Path) -> None:
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = os.path.abspath(args.code) + os.pathsep + env.get("PYTHONPATH", "")
    extra = (["--exact-limit", str(args.exact_limit)] if args.exact_limit is not None else []) + \
        (["--tracemalloc"] if args.tracemalloc else [])
    mib = 1024 * 1024
    print(f"{'distinct':>9} {'mode':>7} {'seconds':>8} {'RSS before':>10} {'peak RSS':>9} {'traced':>7} "
          f"{'profile KiB':>11}  new (expected)          vanished (expected)      [MiB]")
    for distinct in (int(s) for s in args.sizes.split(",")):
        write_frames(distinct, folder)
        for mode in MODES:
            out = subprocess.run([sys.executable, __file__, "--one", str(distinct), mode, str(folder), *extra],
                                 check=True, capture_output=True, text=True, env=env, cwd="/").stdout
            r = json.loads(out)
            traced = f"{r['traced_peak'] / mib:>7.0f}" if r["traced_peak"] is not None else f"{'-':>7}"
            size = f"{r['profile_bytes'] / 1024:>11.0f}" if r["profile_bytes"] is not None else f"{'-':>11}"
            shares = ""
            if r["figures"]:
                new, gone = r["figures"]["new_category_share"], r["figures"]["vanished_category_share"]
                shares = (f"{new[0]:.4f} ({new[2]:.3f}) {new[1]:<5}  "
                          f"{gone[0]:.4f} ({gone[2]:.3f}) {gone[1]}")
            print(f"{r['distinct']:>9} {r['mode']:>7} {r['seconds']:>8.2f} {r['rss_before'] / mib:>10.0f} "
                  f"{r['peak_rss'] / mib:>9.0f} {traced} {size}  {shares}", flush=True)


if __name__ == "__main__":
    main()
