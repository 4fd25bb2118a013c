"""The Python API for notebooks and pipeline steps: ``check`` and ``profile``.

``check`` gives the same results as ``driftwatch check`` on the same data, without a store:
the run context fields (``run_id``, window) are None unless given.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import pandas as pd

from .detectors import (
    Detector,
    DriftDetector,
    FairnessDetector,
    PerformanceDetector,
    QualityDetector,
    joint_rows_wanted,
)
from .engine import detect
from .model import Result, Schema, Window
from .profiling import Profile, ProfileOptions, check_frame, profile
from .results import Results

_DRIFT_KEYS = {f.name for f in fields(DriftDetector)}
_QUALITY_KEYS = {f.name for f in fields(QualityDetector)}
_PROFILE_KEYS = {f.name for f in fields(ProfileOptions)}


def default_detectors(options: Mapping[str, Any] | None = None, schema: Schema | None = None) -> list[Detector]:
    """Drift and quality, plus performance when ``schema`` names a target and fairness when it
    names sensitive columns; ``options`` go to the drift and quality detector with that field
    (give ``detectors=`` to configure the others).

    >>> [type(d).name for d in default_detectors({"method": "psi", "min_rows": 10})]
    ['drift', 'quality']
    >>> [type(d).name for d in default_detectors(schema=Schema(target="y", sensitive=("g",)))]
    ['drift', 'quality', 'performance', 'fairness']
    >>> default_detectors({"colour": "red"})
    Traceback (most recent call last):
    ...
    TypeError: unknown option 'colour' (valid: alpha, columns, correction, direction, drift_share, large_sample, method, min_rows, missing_as_category, missing_direction, missing_share_increase, new_category_share, non_finite_share_increase, out_of_range_share, threshold, top_categories, vanished_category_share)
    """
    options = dict(options or {})
    if options.get("large_sample") is not None:
        warnings.warn(DriftDetector(large_sample=options["large_sample"]).config_warnings()[0], FutureWarning,
                      stacklevel=3)
    unknown = sorted(set(options) - _DRIFT_KEYS - _QUALITY_KEYS)
    if unknown:
        valid = ", ".join(sorted(_DRIFT_KEYS | _QUALITY_KEYS))
        raise TypeError(f"unknown option {unknown[0]!r} (valid: {valid})")
    detectors: list[Detector] = [DriftDetector(**{k: v for k, v in options.items() if k in _DRIFT_KEYS}),
                                 QualityDetector(**{k: v for k, v in options.items() if k in _QUALITY_KEYS})]
    if schema is not None and schema.target is not None:
        detectors.append(PerformanceDetector())
    if schema is not None and schema.sensitive:
        detectors.append(FairnessDetector())
    return detectors


def check(reference: pd.DataFrame | Profile, current: pd.DataFrame,
          schema: Schema | Mapping[str, Any] | None = None, *, monitor: str = "adhoc",
          detectors: Sequence[Detector] | None = None, window: Window | None = None,
          **options: Any) -> Results:
    """Compare ``current`` with ``reference`` and return one ``Result`` per figure, as ``Results``
    (a list that also gives a table, ``to_frame()``, and the run page's report, ``save_html()``).

    ``reference`` is a frame or a ``Profile`` from ``driftwatch.profile`` (profile once, check
    many windows). ``schema`` None infers one from the reference. ``options`` are drift and
    quality detector settings (``method``, ``threshold``, ``alpha``, ``columns``, ``min_rows``,
    ...) and, for a frame reference, profile settings (``bins``, ``max_sample``, ...).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=500)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, size=500)})
    >>> [(r.feature, r.metric, r.status) for r in check(ref, cur) if r.detector == "drift"]
    [('x', 'ks', 'alert'), ('', 'drift_share', 'alert')]
    """
    profile_options = {k: options.pop(k) for k in list(options) if k in _PROFILE_KEYS}
    check_frame(current, "current")
    if not isinstance(reference, (Profile, pd.DataFrame)):
        raise TypeError(f"reference: must be a pandas DataFrame or a driftwatch Profile, got {type(reference).__name__}")
    if isinstance(reference, Profile):
        if profile_options:
            raise TypeError(f"{sorted(profile_options)[0]!r}: profile options need a frame reference, "
                            "not a Profile")
        if schema is not None and Schema.from_value(schema) != reference.schema:
            raise ValueError("schema: differs from the schema the reference Profile was built with")
        built = reference
    else:  # a multivariate detector compares rows the profile keeps
        built = profile(reference, schema, ProfileOptions(**profile_options),
                        joint_rows=joint_rows_wanted(detectors or ()))
    if detectors is None:
        detectors = default_detectors(options, built.schema)
    elif options:
        raise TypeError(f"{sorted(options)[0]!r}: pass options to the detectors you give, not to check()")
    return Results(Result.stamp(f, monitor=monitor, run_id=None, window=window, detector=d)
                   for d, f in detect(built, current, detectors))


__all__ = ["check", "default_detectors", "profile"]
