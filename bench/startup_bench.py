"""How long a fresh process takes to reach driftwatch: ``import driftwatch``, ``driftwatch
--help``, and the first use of ``driftwatch.check`` (which loads the statistics).

Each case runs in a new interpreter ``--repeat`` times (default 7) after one warm-up run that
fills the page cache; the figures are wall-clock seconds of the whole process, with bare
``python -c pass`` alongside for the interpreter's own start-up. It also counts the modules each
case leaves loaded. Printed, never asserted.

Run:  python bench/startup_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": "pass",
    "import driftwatch": "import driftwatch",
    "driftwatch --help": "from driftwatch.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "first driftwatch.check": "import driftwatch\ndriftwatch.check",
}
COUNT = "\nimport sys\nprint(len(sys.modules), file=sys.stderr)"


def seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def modules(code: str) -> int:
    done = subprocess.run([sys.executable, "-c", code + COUNT], check=True, capture_output=True, text=True)
    return int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per case (default: 7)")
    args = parser.parse_args()
    print(f"{'case':<24} {'median s':>9} {'min s':>7} {'max s':>7} {'modules':>8}")
    for name, code in CASES.items():
        seconds(code)  # warm-up
        times = [seconds(code) for _ in range(args.repeat)]
        print(f"{name:<24} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f} "
              f"{modules(code):>8}")


if __name__ == "__main__":
    main()
