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

Segments (``--segments-rows``): the multivariate section's 50 columns plus a binary
classifier's score, prediction and label, and a ``region`` column of 10 values with shares
proportional to 1/k (34 % down to 3.4 %); a reference and a window of the same size, the window
unchanged (``a/a``) or with half the labels of the third region flipped (``drop``: 11 % of the
rows at accuracy 0.5, so the whole window's accuracy alerts and its segment causes are ranked).
The default detectors (drift, quality, performance), the reference profile and the segments'
profiles (``segments.build``, timed once) built beforehand, as a daemon has them cached. Per
window, best of ``--repeat`` alternating runs, each with a fresh ``CurrentData`` as the engine
makes one: ``whole`` (the detectors on the window), ``segmented`` (that plus ``detect_segments``
on every region and ``with_segment_causes``, as ``engine.execute_run`` does), their ratio,
``segments.split`` of the window alone and the extra cost per segment; then one pass of each
stage (the column profiles the detectors share, then each detector) on the whole window and on
each segment, to show where the time goes.

Run:  python bench/performance_bench.py [--sizes 10000,100000] [--mv-sizes 100000,1000000]
                                        [--segments-rows 100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import driftwatch
from driftwatch import segments
from driftwatch.api import default_detectors
from driftwatch.detectors import (
    CurrentData,
    Detector,
    FairnessDetector,
    MultivariateDetector,
    PerformanceDetector,
    joint_rows_wanted,
)
from driftwatch.engine import detect
from driftwatch.model import Finding
from driftwatch.profiling import Profile, ProfileOptions
from driftwatch.segment_causes import with_segment_causes

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


SEGMENTED = {"numeric": [f"n{i}" for i in range(40)], "categorical": [f"c{i}" for i in range(10)],
             "target": "y", "prediction": "pred", "score": "p"}
REGIONS = np.array([f"r{k}" for k in range(10)], dtype=object)
REGION_SHARE = (1 / np.arange(1, 11)) / (1 / np.arange(1, 11)).sum()
DROPPED = "r2"  # 11 % of the rows


def segmented_frame(rows: int, seed: int, *, drop: bool = False) -> pd.DataFrame:
    """``wide`` plus a calibrated binary classifier (score, prediction, label) and ``region``;
    with ``drop`` half the labels of region ``DROPPED`` are flipped (its accuracy falls to 0.5)."""
    rng = np.random.default_rng([seed, 1])
    p = rng.beta(2, 2, rows)
    region = REGIONS[rng.choice(10, rows, p=REGION_SHARE)]
    y = (rng.random(rows) < p).astype(int)
    flip = (region == DROPPED) & (rng.random(rows) < 0.5) & drop
    return wide(rows, seed).assign(p=p, pred=(p >= 0.5).astype(int), y=np.where(flip, 1 - y, y), region=region)


Found = list[tuple[str, str, Finding]]


def whole_run(reference: Profile, current: pd.DataFrame, detectors: list[Detector]) -> Found:
    """The detectors on one window, as ``engine.execute_run`` runs them without segments."""
    data = CurrentData(current, reference)
    return [("", d, f) for d, f in detect(reference, data, detectors)]


def segmented_run(reference: Profile, segmented: segments.SegmentProfiles, spec: segments.Segments,
                  current: pd.DataFrame, detectors: list[Detector]) -> Found:
    """The same with segments, as ``engine.execute_run`` runs them."""
    data = CurrentData(current, reference)
    found = [("", d, f) for d, f in detect(reference, data, detectors)]
    return with_segment_causes(found + segments.detect_segments(segmented, spec, data.frame, detectors, {}))


def stages(reference: Profile, frame: pd.DataFrame, detectors: list[Detector], tested: int) -> dict[str, float]:
    """Seconds of each stage of one run on ``frame``: the column profiles the drift and quality
    detectors share, then each detector."""
    data = CurrentData(frame, reference, context={"segments_tested": tested})
    start = time.perf_counter()
    data.profiles(c for c in reference.schema.features if c in reference.columns)
    times = {"profiles": time.perf_counter() - start}
    for detector in detectors:
        start = time.perf_counter()
        detector.run(reference, data, reference.schema)
        times[type(detector).name] = time.perf_counter() - start
    return times


def where_time_goes(reference: Profile, segmented: segments.SegmentProfiles, whole: pd.DataFrame,
                    parts: dict[str, pd.DataFrame], detectors: list[Detector]) -> None:
    """One pass of each stage on the whole window and on each segment, and what the segments
    cost beyond their rows' share of the whole window's."""
    names = ["profiles", *(type(d).name for d in detectors)]
    print(f"  where the time goes, one pass each (s): {'rows':>9} {'total':>7} " + " ".join(f"{n:>11}" for n in names))
    passes = {"whole": (len(whole), stages(reference, whole, detectors, 1))}
    for label, part in parts.items():
        passes[label] = (len(part), stages(segmented.profiles[label], part, detectors, len(parts)))
    of_segments = list(passes.values())[1:]
    passes["segments (sum)"] = (sum(n for n, _ in of_segments), {k: sum(t[k] for _, t in of_segments) for k in names})
    for label, (n, times) in passes.items():
        print(f"  {label:>38} {n:>9,} {sum(times.values()):>7.3f} " + " ".join(f"{t:>11.3f}" for t in times.values()))
    excess = sum(passes["segments (sum)"][1].values()) - sum(passes["whole"][1].values())
    print(f"  segments' sum beyond the whole window's: {excess:.3f} s, {excess / len(parts):.3f} s a segment "
          "(the part of their cost not proportional to rows)")


def segmented_bench(sizes: list[int], repeat: int) -> None:
    spec = segments.Segments(columns=("region",))
    for rows in sizes:
        reference_frame = segmented_frame(rows, 1)
        start = time.perf_counter()
        reference = driftwatch.profile(reference_frame, SEGMENTED)
        profiled = time.perf_counter() - start
        detectors = default_detectors(schema=reference.schema)
        start = time.perf_counter()
        segmented = segments.build(reference_frame, reference, spec, ProfileOptions(), joint_rows_wanted(detectors))
        built = time.perf_counter() - start
        del reference_frame
        count = len(segmented.segments)
        names = [type(d).name for d in detectors]
        print(f"segments: {rows:,} rows x 50 features + score, prediction, label; detectors {', '.join(names)}; "
              f"{count} segments of region ({', '.join(s.value for s in segmented.segments)}): reference profile "
              f"{profiled:.2f} s, segment profiles build {built:.2f} s (one-off, cached per reference version)")
        print(f"{'rows':>9} {'window':>6} {'whole s':>8} {'segmented s':>11} {'ratio':>6} {'split s':>8} "
              f"{'per segment s':>13}  decisions")
        for window, drop in (("a/a", False), ("drop", True)):
            current = segmented_frame(rows, 2, drop=drop)
            alone = current.drop(columns="region")  # the engine reads the segment column only for segments
            whole, both, split = [], [], []
            found: Found = []
            for _ in range(repeat):  # alternating, so a busy neighbour slows both alike
                start = time.perf_counter()
                whole_run(reference, alone, detectors)
                whole.append(time.perf_counter() - start)
                start = time.perf_counter()
                found = segmented_run(reference, segmented, spec, current, detectors)
                both.append(time.perf_counter() - start)
                start = time.perf_counter()
                parts = segments.split(current, "region", segmented.segments)
                split.append(time.perf_counter() - start)
            a, b, s = min(whole), min(both), min(split)
            alerts = sum(f.status == "alert" for seg, _, f in found if not seg)
            segment_alerts = sum(f.status == "alert" for seg, d, f in found if seg and d != segments.DETECTOR)
            accuracy = next(f for seg, d, f in found if not seg and d == "performance" and f.metric == "accuracy")
            causes = accuracy.details.get("segments", [])
            top = f"{causes[0]['segment']} {causes[0]['share_of_drop']:.2f} of the drop" if causes else "none"
            print(f"{rows:>9,} {window:>6} {a:>8.3f} {b:>11.3f} {b / a:>5.2f}x {s:>8.3f} {(b - a) / count:>13.3f}  "
                  f"alerts whole {alerts}, segments {segment_alerts}; accuracy {accuracy.status}, "
                  f"top segment cause {top}")
            print(f"segments cost: {b / a:.2f}x a single run per {count} segments ({window}, {rows:,} rows; "
                  "target <= 1.5x)")
            where_time_goes(reference, segmented, alone, parts, detectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="performance and fairness window sizes ('' for none)")
    parser.add_argument("--mv-sizes", default="100000,1000000", help="multivariate window sizes ('' for none)")
    parser.add_argument("--segments-rows", default="100000,1000000", help="segments window sizes ('' for none)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.mv_sizes:
        multivariate([int(s) for s in args.mv_sizes.split(",")], args.repeat)
    if args.segments_rows:
        segmented_bench([int(s) for s in args.segments_rows.split(",")], args.repeat)
    if args.sizes:
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
