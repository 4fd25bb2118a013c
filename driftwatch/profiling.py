"""Reference profiles: everything the detectors need from one side of a comparison.

A reference set is read and summarised once per version, then the summary is cached in the
store, so a scheduled run only reads the current window. The same summary is built for the
current window (with the reference's bin edges and no thinning), so every drift method is a
function of two ``ColumnProfile``s.

Numeric columns keep the sorted finite values (the reference thinned to ``max_sample`` evenly
spaced order statistics, which moves the empirical CDF by at most ``1 / max_sample``), counts of
missing and infinite values, moments, and counts over fixed bins. The bins come from reference
quantiles and never from the current window::

    (-inf, min) | [min, q_1) | [q_1, q_2) | ... | [q_k, max] | (max, +inf)

where ``q_i`` are the distinct reference quantiles at ``i / bins``. The two open outer bins hold
current values outside the reference range (and ``-inf`` / ``+inf``), so they always land
somewhere and show up in PSI, Jensen-Shannon and Hellinger. Categorical columns keep counts per
category (the ``max_categories`` most frequent; the rest summed as ``other``). The categories of
that rest stay known as a set (``driftwatch.membership.CategoryTail``: exact 64-bit hashes with
their counts up to two million, a Bloom filter beyond), so a current category outside the kept
ones is still told apart as new or known, and a tail category can be seen vanishing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .joint import JointRows
from .joint import joint_rows as joint_rows_of
from .membership import HASH_PROBE, CategoryTail
from .model import Schema
from .outcomes import Outcomes, outcomes_of
from .values import category_counts, numeric_values

#: Bumped whenever the profile layout changes, so old cached profiles are not reused.
PROFILE_FORMAT = 7  # 7: labelled references keep some rows' features (outcomes), for estimates and causes


@dataclass(frozen=True)
class ProfileOptions:
    """How references are summarised (the ``[profile]`` config table).

    >>> ProfileOptions(bins=1)
    Traceback (most recent call last):
    ...
    ValueError: bins: must be >= 2, got 1
    """

    bins: int = 10
    max_sample: int = 250_000
    max_categories: int = 10_000

    def __post_init__(self) -> None:
        for name, low in (("bins", 2), ("max_sample", 100), ("max_categories", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name}: must be >= {low}, got {value!r}")

    def digest(self) -> str:
        return f"{self.bins}/{self.max_sample}/{self.max_categories}"


_EMPTY = np.empty(0, dtype=np.float64)
_EMPTY_INT = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """The summary of one column on one side of a comparison."""

    name: str
    kind: str  # "numeric" | "categorical"
    n: int  # rows, missing included
    n_missing: int
    dtype: str = ""
    # numeric
    sorted_values: np.ndarray = field(default_factory=lambda: _EMPTY)
    n_finite: int = 0
    n_posinf: int = 0
    n_neginf: int = 0
    mean: float = math.nan
    std: float = math.nan
    minimum: float = math.nan
    maximum: float = math.nan
    edges: np.ndarray = field(default_factory=lambda: _EMPTY)
    bin_counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    # categorical
    categories: tuple[str, ...] = ()
    counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    other_count: int = 0
    #: Categories lumped into ``other`` that were seen once / twice: what the Good-Turing
    #: estimate of never-seen categories needs beside the kept counts.
    other_singletons: int = 0
    other_doubletons: int = 0
    #: Which categories (and, up to two million, how many rows each) ``other`` holds.
    tail: CategoryTail | None = None

    @property
    def n_present(self) -> int:
        """Rows with a value (not missing); infinite values count as present."""
        return self.n - self.n_missing

    def category_counts(self) -> dict[str, int]:
        return dict(zip(self.categories, (int(c) for c in self.counts)))

    @cached_property
    def _category_index(self) -> pd.Index:
        return pd.Index(np.array(self.categories, dtype=object), dtype=object)

    def category_array(self) -> np.ndarray:
        """``categories`` as an object array (built once)."""
        keys: np.ndarray = self._category_index.to_numpy()
        return keys

    def positions(self, keys: Any) -> np.ndarray:
        """Where each of ``keys`` sits in ``categories``, -1 where it does not: one hash lookup
        each, instead of a dict of a million categories built per question. (Given as an object
        index: pandas would infer Arrow text from the keys and copy it back to a million new
        Python strings to look them up.)"""
        found: np.ndarray = self._category_index.get_indexer(pd.Index(keys, dtype=object, copy=False))
        return found

    def counts_of(self, keys: Any) -> np.ndarray:
        """The count of each of ``keys`` (0 for a category this side does not keep)."""
        where = self.positions(keys)
        return np.where(where >= 0, self.counts[where], 0) if self.counts.size else np.zeros(where.size, np.int64)


@dataclass(frozen=True, eq=False)
class Profile:
    """The reference side of a check: one ``ColumnProfile`` per watched column."""

    schema: Schema
    n_rows: int
    columns: Mapping[str, ColumnProfile]
    options: ProfileOptions = field(default_factory=ProfileOptions)
    #: True when the schema was guessed from the reference: then every column is watched and
    #: a current column the reference never had is worth a warning.
    schema_inferred: bool = False
    #: The reference's labelled rows (labels, predictions, scores), when the schema names a target.
    outcomes: Outcomes | None = None
    #: Reference rows kept whole for multivariate detectors (``profile(joint_rows=…)`` of them).
    joint: JointRows | None = None

    def to_bytes(self) -> bytes:
        """Serialise without pickle (``numpy.savez`` plus a JSON header)."""
        header: dict[str, Any] = {
            "format": PROFILE_FORMAT,
            "hash_probe": HASH_PROBE,
            "n_rows": self.n_rows,
            "schema_inferred": self.schema_inferred,
            "options": vars(self.options),
            "schema": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self.schema).items()},
            "columns": [],
        }
        arrays: dict[str, np.ndarray] = {}
        for i, col in enumerate(self.columns.values()):
            header["columns"].append({
                "name": col.name, "kind": col.kind, "n": col.n, "n_missing": col.n_missing,
                "dtype": col.dtype, "n_finite": col.n_finite, "n_posinf": col.n_posinf,
                "n_neginf": col.n_neginf, "mean": col.mean, "std": col.std,
                "minimum": col.minimum, "maximum": col.maximum,
                "categories": list(col.categories), "other_count": col.other_count,
                "other_singletons": col.other_singletons, "other_doubletons": col.other_doubletons,
            })
            arrays[f"{i}_sorted"] = col.sorted_values
            arrays[f"{i}_edges"] = col.edges
            arrays[f"{i}_bins"] = col.bin_counts
            arrays[f"{i}_counts"] = col.counts
            if col.tail is not None:
                meta, tail_arrays = col.tail.to_arrays()
                header["columns"][-1]["tail"] = meta
                arrays.update({f"{i}_tail_{k}": v for k, v in tail_arrays.items()})
        if self.outcomes is not None:
            o = self.outcomes
            header["outcomes"] = {"task": o.task, "n_rows": o.n_rows, "n_labelled": o.n_labelled,
                                  "has_pred": o.y_pred is not None, "has_score": o.score is not None}
            arrays["outcomes_true"] = o.y_true
            if o.y_pred is not None:
                arrays["outcomes_pred"] = o.y_pred
            if o.score is not None:
                arrays["outcomes_score"] = o.score
            if o.class_scores is not None:
                header["outcomes"]["score_classes"] = list(o.score_classes)
                arrays["outcomes_class_scores"] = o.class_scores
            if o.features is not None and o.feature_rows is not None:
                header["outcomes"]["feature_columns"] = list(o.feature_columns)
                arrays["outcomes_features"] = o.features
                arrays["outcomes_feature_rows"] = o.feature_rows
        if self.joint is not None:
            header["joint"] = list(self.joint.columns)
            arrays["joint_values"] = self.joint.values
        buffer = io.BytesIO()
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        # what numpy.savez_compressed writes, at zlib level 1: the hashes of a category tail hardly
        # compress, and level 6 spent 0.8 s a million of them for 0.6 % less
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode())
            if header.get("format") != PROFILE_FORMAT:
                raise DataError(f"cached profile has format {header.get('format')}, expected {PROFILE_FORMAT}")
            if header.get("hash_probe") != HASH_PROBE:  # another pandas hashing differently
                raise DataError("cached profile hashes categories differently from this process")
            columns = {}
            for i, meta in enumerate(header["columns"]):
                tail_meta = meta.pop("tail", None)
                tail = None if tail_meta is None else CategoryTail.from_arrays(
                    tail_meta, {k[len(f"{i}_tail_"):]: npz[k] for k in npz.files if k.startswith(f"{i}_tail_")})
                columns[meta["name"]] = ColumnProfile(
                    categories=tuple(meta.pop("categories")),
                    sorted_values=npz[f"{i}_sorted"], edges=npz[f"{i}_edges"],
                    bin_counts=npz[f"{i}_bins"], counts=npz[f"{i}_counts"], tail=tail, **meta)
            outcomes = None
            if "outcomes" in header:
                meta = header["outcomes"]
                outcomes = Outcomes(task=meta["task"], y_true=npz["outcomes_true"],
                                    y_pred=npz["outcomes_pred"] if meta["has_pred"] else None,
                                    score=npz["outcomes_score"] if meta["has_score"] else None,
                                    n_rows=meta["n_rows"], n_labelled=meta["n_labelled"])
                if "score_classes" in meta:
                    outcomes = replace(outcomes, class_scores=npz["outcomes_class_scores"],
                                       score_classes=tuple(meta["score_classes"]))
                if "feature_columns" in meta:
                    outcomes = replace(outcomes, features=npz["outcomes_features"],
                                       feature_rows=npz["outcomes_feature_rows"],
                                       feature_columns=tuple(meta["feature_columns"]))
            joint = JointRows(tuple(header["joint"]), npz["joint_values"]) if "joint" in header else None
        schema = Schema.from_value(header["schema"])
        return cls(schema=schema, n_rows=header["n_rows"], columns=columns,
                   options=ProfileOptions(**header["options"]), schema_inferred=header["schema_inferred"],
                   outcomes=outcomes, joint=joint)


def cache_key(source_version: str, schema: Schema | None, options: ProfileOptions, joint_rows: int = 0) -> str:
    """The store key of a reference profile: changes with the data, the schema, the options or
    the rows it keeps whole (named only when some are, so older keys stay valid)."""
    parts: list[object] = [PROFILE_FORMAT, source_version, repr(schema), options.digest()]
    text = json.dumps(parts + [joint_rows] if joint_rows else parts)
    return hashlib.sha256(text.encode()).hexdigest()


# --- building -------------------------------------------------------------------------------

def reference_edges(sorted_finite: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges from reference quantiles, with the range ends as edges (see module docstring).

    >>> reference_edges(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [1.0, 2.5, 4.000000000000001]
    >>> reference_edges(np.array([5.0, 5.0]), 10).tolist()  # constant: below / at / above
    [5.0, 5.000000000000001]
    """
    if sorted_finite.size == 0:
        return _EMPTY
    # arange / bins, not linspace: linspace(0, 1, 11)[3] is 0.30000000000000004, which would
    # put the edge just above a value sitting exactly on the 30% quantile.
    inner = np.quantile(sorted_finite, np.arange(1, bins) / bins)
    top = np.nextafter(sorted_finite[-1], np.inf)
    return np.unique(np.concatenate(([sorted_finite[0]], inner, [top])))


def bin_counts(sorted_finite: np.ndarray, n_neginf: int, n_posinf: int, edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``[e_{i-1}, e_i)`` of sorted finite values plus the infinite ones."""
    if edges.size == 0:
        return np.array([sorted_finite.size + n_neginf + n_posinf], dtype=np.int64)
    below = np.searchsorted(sorted_finite, edges, side="left")
    counts = np.diff(np.concatenate(([0], below, [sorted_finite.size]))).astype(np.int64)
    counts[0] += n_neginf
    counts[-1] += n_posinf
    return counts


def thin(sorted_values: np.ndarray, max_sample: int | None) -> np.ndarray:
    """At most ``max_sample`` evenly spaced order statistics of a sorted sample (all of a smaller one).

    The ``⌈i (n − 1) / (k − 1)⌉``-th smallest for ``i = 0 … k − 1`` (first and last included):
    integer arithmetic, so a database computes the very same ranks (``pushdown.sql``) and a
    profile built there equals one built here. The empirical CDF moves by at most ``1 / k``.

    >>> thin(np.arange(10.0), 3).tolist()
    [0.0, 5.0, 9.0]
    """
    if max_sample is None or sorted_values.size <= max_sample:
        return sorted_values
    if max_sample == 1:
        return sorted_values[:1]
    steps = np.arange(max_sample, dtype=np.int64) * (sorted_values.size - 1)
    index = -(-steps // (max_sample - 1))  # ceiling division
    return sorted_values[index]


def _moments(finite: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1); values near the float limit are scaled
    first so squaring them cannot overflow to inf.

    >>> _moments(np.array([-1e300, 1e300]))
    (0.0, 1.4142135623730952e+300)
    """
    if finite.size == 0:
        return math.nan, math.nan
    scale = max(abs(float(finite[0])), abs(float(finite[-1])))
    if scale > 1e150:  # sorted input: the extremes are at the ends
        scaled = finite / scale
        std = float(scaled.std(ddof=1)) * scale if finite.size > 1 else math.nan
        return float(scaled.mean()) * scale, std
    return float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else math.nan


def profile_numeric(series: pd.Series, column: str, *, edges: np.ndarray | None = None,
                    bins: int = 10, max_sample: int | None = None) -> ColumnProfile:
    """Summarise a numeric column; ``edges`` given = current side (use the reference's bins)."""
    values = numeric_values(series, column)
    missing = np.isnan(values)
    present = values[~missing]
    finite_mask = np.isfinite(present)
    n_posinf = int(np.count_nonzero(present == np.inf))
    n_neginf = int(present.size - finite_mask.sum() - n_posinf)
    finite = np.sort(present[finite_mask] if n_posinf or n_neginf else present, kind="quicksort")
    if edges is None:
        edges = reference_edges(finite, bins)
    has = finite.size > 0
    mean, std = _moments(finite)
    return ColumnProfile(
        name=column, kind="numeric", n=int(values.size), n_missing=int(missing.sum()),
        dtype=str(series.dtype), sorted_values=thin(finite, max_sample), n_finite=int(finite.size),
        n_posinf=n_posinf, n_neginf=n_neginf,
        mean=mean, std=std,
        minimum=float(finite[0]) if has else math.nan, maximum=float(finite[-1]) if has else math.nan,
        edges=edges, bin_counts=bin_counts(finite, n_neginf, n_posinf, edges),
    )


def profile_categorical(series: pd.Series, column: str, *, max_categories: int | None = None,
                        exact_limit: int | None = None, fp_rate: float | None = None) -> ColumnProfile:
    """Summarise a categorical column as counts per normalised category; beyond the
    ``max_categories`` most frequent, the set of the rest (``CategoryTail.build``: exact up to
    ``exact_limit`` categories, else a Bloom filter of false-positive rate ``fp_rate``)."""
    counts, n_missing = category_counts(series)
    return categorical_profile(counts, column, n=int(len(series)), n_missing=n_missing, dtype=str(series.dtype),
                               max_categories=max_categories, exact_limit=exact_limit, fp_rate=fp_rate)


def categorical_profile(counts: pd.Series, column: str, *, n: int, n_missing: int, dtype: str,
                        max_categories: int | None = None, exact_limit: int | None = None,
                        fp_rate: float | None = None) -> ColumnProfile:
    """The profile of a categorical column from its counts per key (``values.category_counts``
    of a frame, or a database's ``GROUP BY`` through ``values.keyed_counts``)."""
    keys, values = counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.int64)
    other = singletons = doubletons = 0
    tail = None
    if max_categories is not None and keys.size > max_categories:
        rest = values[max_categories:]
        other = int(rest.sum())
        singletons, doubletons = int(np.count_nonzero(rest == 1)), int(np.count_nonzero(rest == 2))
        tail = CategoryTail.build(keys[max_categories:], rest, exact_limit=exact_limit, fp_rate=fp_rate)
        keys, values = keys[:max_categories], values[:max_categories]
    return ColumnProfile(
        name=column, kind="categorical", n=n, n_missing=n_missing, dtype=dtype,
        categories=tuple(keys), counts=values, other_count=other,
        other_singletons=singletons, other_doubletons=doubletons, tail=tail,
    )


def check_frame(frame: object, role: str) -> pd.DataFrame:
    """``frame`` as the data of ``role`` (reference, current): a ``TypeError`` for anything but a
    DataFrame, a ``DataError`` for repeated column names (``frame[name]`` would be a frame).

    >>> check_frame([1, 2], "current")
    Traceback (most recent call last):
    ...
    TypeError: current: must be a pandas DataFrame, got list
    >>> check_frame(pd.DataFrame([[1, 2]], columns=["x", "x"]), "reference")
    Traceback (most recent call last):
    ...
    driftwatch.errors.DataError: reference data has repeated column names: 'x'
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{role}: must be a pandas DataFrame, got {type(frame).__name__}")
    repeated = frame.columns[frame.columns.duplicated()].unique()
    if len(repeated):
        raise DataError(f"{role} data has repeated column names: {', '.join(repr(str(c)) for c in repeated)}")
    return frame


def profile(reference: pd.DataFrame, schema: Schema | Mapping[str, Any] | None = None,
            options: ProfileOptions | None = None, *, joint_rows: int = 0) -> Profile:
    """Build the reusable reference profile of ``reference``.

    ``schema`` None infers one from the frame. Columns the schema names that the frame lacks are
    a ``DataError`` naming them. ``joint_rows``: how many of its rows to keep whole for
    multivariate detectors (``driftwatch.joint``; ``detectors.joint_rows_wanted``).

    >>> p = profile(pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}))
    >>> p.columns["x"].sorted_values.tolist(), p.columns["c"].category_counts()
    ([1.0, 2.0, 3.0], {'a': 2, 'b': 1})
    """
    options = options or ProfileOptions()
    check_frame(reference, "reference")
    resolved = Schema.infer(reference) if schema is None else Schema.from_value(schema)
    absent = [c for c in resolved.features if c not in reference.columns]
    if absent:
        raise DataError(f"reference data lacks column(s) named in the schema: {', '.join(map(repr, absent))}")
    columns: dict[str, ColumnProfile] = {}
    for column in resolved.features:
        if resolved.kind(column) == "numeric":
            columns[column] = profile_numeric(reference[column], column, bins=options.bins,
                                              max_sample=options.max_sample)
        else:
            columns[column] = profile_categorical(reference[column], column,
                                                  max_categories=options.max_categories)
    return Profile(schema=resolved, n_rows=int(len(reference)), columns=columns, options=options,
                   schema_inferred=schema is None,
                   outcomes=outcomes_of(reference, resolved, max_sample=options.max_sample, profiles=columns),
                   joint=joint_rows_of(reference, resolved.features, columns, joint_rows) if joint_rows else None)
