"""Reference profiles: everything the detectors need from one side of a comparison.

A reference set is read and summarised once per version, then the summary is cached in the
store, so a scheduled run only reads the current window. The same summary is built for the
current window (with the reference's bin edges and no thinning), so every drift method is a
function of two ``ColumnProfile``s. What one column's summary holds, and how it is built, is
``driftwatch.column_profile``; here are the whole profile, its bytes and cache key, and ``profile``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .column_profile import ColumnProfile, profile_categorical, profile_numeric
from .errors import DataError
from .joint import JointRows
from .joint import joint_rows as joint_rows_of
from .membership import HASH_PROBE, CategoryTail
from .model import Schema
from .outcomes import Outcomes, outcomes_of

__all__ = ["PROFILE_FORMAT", "ColumnProfile", "Profile", "ProfileOptions", "cache_key", "check_frame", "profile"]

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
