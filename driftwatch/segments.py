"""Segments: every detector also runs on the rows of each top value of a segment column.

A model can hold steady overall while it fails one country: the overall figures average the
failure away. A monitor with ``segments = ["country", "device"]`` runs its detectors on the
whole window and again on each segment of it, and stores each segment's results with
``segment = "country=BR"``.

* **Which segments.** For each column, its ``top`` values by reference row count that have at
  least ``min_rows`` reference rows, and ``column=(other)``: every other row (missing values
  included) when those are ``min_rows`` too. They are chosen on the reference, so they stay the
  same from window to window; a value that becomes common only in production is in ``(other)``.
  A column none of whose values has ``min_rows`` reference rows (an id, say: a million values)
  is not segmented, and each run says so in one ``insufficient_data`` result.
* **Small segments.** A segment with fewer than ``min_rows`` rows in the window gets one
  ``insufficient_data`` result (detector ``segments``, metric ``rows``) instead of its
  detectors' results. Every segment's row count is stored as that ``rows`` result.
* **Multiple testing.** The ``S`` segments of a column are tested together: each detector
  decides at level ``alpha / S`` (drift, quality, multivariate; performance widens its interval
  to ``1 - (1 - interval) / S``), passed as ``segments_tested`` in the run context. So on
  unchanged data the chance that some segment of a column alerts is no more than the whole
  window's alone, however many segments there are.

Each segment's reference profile is built once per reference version, like the reference's
own, and cached beside it (``SegmentProfiles``).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .detectors.current import CurrentData
from .errors import DataError
from .model import Finding, Schema, name_problem
from .outcomes import label_keys
from .profiling import Profile, ProfileOptions, profile
from .values import category_key

#: The segment of a column's rows outside its top values.
OTHER = "(other)"
#: The detector name of the results segments add themselves (row counts, unsegmented columns).
DETECTOR = "segments"
#: Most segments a column may name: each costs a run of every detector.
MAX_TOP = 100
#: Past this many distinct values, values too rare to name a segment are not normalised one by one.
_MANY = 10_000


@dataclass(frozen=True)
class Segments:
    """A monitor's ``segments``: a list of columns, or a table with ``columns``, ``top``
    (values per column, default 10) and ``min_rows`` (rows a segment needs, default 200).

    >>> Segments.from_value(["country"])
    Segments(columns=('country',), top=10, min_rows=200)
    >>> Segments.from_value({"columns": ["country"], "top": 0})
    Traceback (most recent call last):
    ...
    ValueError: top: must be an integer from 1 to 100, got 0
    """

    columns: tuple[str, ...]
    top: int = 10
    min_rows: int = 200

    def __post_init__(self) -> None:
        columns = self.columns
        if isinstance(columns, str) or not isinstance(columns, Iterable):
            raise ValueError(f"columns: must be a list of column names, got {columns!r}")
        columns = tuple(columns)
        if not columns:
            raise ValueError("columns: must name at least one column")
        for column in columns:
            if not isinstance(column, str) or not column:
                raise ValueError(f"columns: column names must be non-empty strings, got {column!r}")
            if (problem := name_problem(column)) is not None:
                raise ValueError(f"columns: column {column[:40]!r} {problem}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns: a column is listed twice in {list(columns)}")
        object.__setattr__(self, "columns", columns)
        for key, high in (("top", MAX_TOP), ("min_rows", None)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (high and value > high):
                limit = f"from 1 to {high}" if high else ">= 1"
                raise ValueError(f"{key}: must be an integer {limit}, got {value!r}")

    @classmethod
    def from_value(cls, value: object) -> Segments:
        if isinstance(value, Segments):
            return value
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"{unknown[0]}: unknown key (valid: {', '.join(sorted(known))})")
            if "columns" not in value:
                raise ValueError("columns: missing required key (the columns to segment by)")
            return cls(**dict(value))
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"must be a list of column names or a table with columns, top, min_rows; got {value!r}")
        return cls(columns=tuple(value))


@dataclass(frozen=True)
class Segment:
    """One segment: the rows whose ``column`` is ``value`` (a normalised value key), or for
    ``OTHER`` the rows whose value is none of ``named``."""

    column: str
    value: str
    named: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.column}={self.value}"


def choose(reference: pd.DataFrame, spec: Segments) -> tuple[list[Segment], dict[str, str]]:
    """The segments of ``reference`` for ``spec``, and why a column has none (by column)."""
    segments: list[Segment] = []
    notes: dict[str, str] = {}
    for column in spec.columns:
        if column not in reference.columns:
            raise DataError(f"segments: column {column!r} is not in the reference data")
        raw = reference[column].value_counts(dropna=True)
        distinct, most = len(raw), int(raw.iloc[0]) if len(raw) else 0  # value_counts: most common first
        if distinct > _MANY:  # an id-like column: only values that could name a segment are spelled out
            raw = raw[raw >= spec.min_rows]
        counts = pd.Series(raw.to_numpy(), index=[category_key(v) for v in raw.index]).groupby(level=0).sum()
        counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]
        # a value no store keeps in a label (over 255 characters, a NUL) stays in (other)
        kept = counts[[name_problem(f"{column}={k}") is None for k in counts.index]]
        named = [str(k) for k, c in kept.iloc[:spec.top].items() if c >= spec.min_rows]
        if not named:
            notes[column] = (f"no value of {column!r} has min_rows={spec.min_rows} reference rows "
                             f"({distinct:,} distinct values, the most common {most:,} rows): "
                             "the column is not segmented")
            continue
        segments.extend(Segment(column, value) for value in named)
        if len(reference) - int(counts[named].sum()) >= spec.min_rows:
            segments.append(Segment(column, OTHER, tuple(named)))
    return segments, notes


def split(frame: pd.DataFrame, column: str, segments: Sequence[Segment]) -> dict[str, pd.DataFrame]:
    """``frame``'s rows of each of ``column``'s segments, by label: one pass over the column."""
    named = [s.value for s in segments if s.value != OTHER]
    slot = pd.Index(named).get_indexer(pd.Index(label_keys(frame[column]), dtype=object))
    slot[slot < 0] = len(named)  # every other value, and missing ones
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(len(named) + 2))
    parts: dict[str, pd.DataFrame] = {}
    for segment in segments:
        i = len(named) if segment.value == OTHER else named.index(segment.value)
        parts[segment.label] = frame.take(order[bounds[i]:bounds[i + 1]]).reset_index(drop=True)
    return parts


@dataclass(frozen=True)
class SegmentProfiles:
    """The reference profile of each segment, by label, and the columns left unsegmented."""

    segments: tuple[Segment, ...]
    profiles: Mapping[str, Profile]
    notes: Mapping[str, str]

    def of(self, column: str) -> list[Segment]:
        return [s for s in self.segments if s.column == column]

    def to_bytes(self) -> bytes:
        """One archive: an index and each segment's ``Profile.to_bytes`` (compressed already)."""
        index = {"segments": [[s.column, s.value, list(s.named)] for s in self.segments], "notes": dict(self.notes)}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("index.json", json.dumps(index))
            for i, segment in enumerate(self.segments):
                archive.writestr(f"{i}.profile", self.profiles[segment.label].to_bytes())
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SegmentProfiles:
        """What ``to_bytes`` wrote; ``DataError`` for an archive of another format."""
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                index = json.loads(archive.read("index.json"))
                segments = tuple(Segment(c, v, tuple(n)) for c, v, n in index["segments"])
                profiles = {s.label: Profile.from_bytes(archive.read(f"{i}.profile")) for i, s in enumerate(segments)}
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise DataError(f"cached segment profiles are unreadable ({exc})") from None
        return cls(segments, profiles, dict(index["notes"]))


def build(reference: pd.DataFrame, whole: Profile, spec: Segments, options: ProfileOptions,
          joint_rows: int = 0) -> SegmentProfiles:
    """Profile each segment of ``reference`` with the schema ``whole`` (its profile) resolved."""
    segments, notes = choose(reference, spec)
    profiles: dict[str, Profile] = {}
    for column in dict.fromkeys(s.column for s in segments):
        of_column = [s for s in segments if s.column == column]
        for label, rows in split(reference, column, of_column).items():
            built = profile(rows, whole.schema, options, joint_rows=joint_rows)
            profiles[label] = replace(built, schema_inferred=whole.schema_inferred)
    return SegmentProfiles(tuple(segments), profiles, notes)


def detect_segments(segmented: SegmentProfiles, spec: Segments, frame: pd.DataFrame, detectors: Sequence[Any],
                    context: Mapping[str, Any]) -> list[tuple[str, str, Finding]]:
    """``(segment, detector, finding)`` of every detector on every segment of ``frame`` (the
    window's rows, labels joined), with each segment's row count and each unsegmented column."""
    found: list[tuple[str, str, Finding]] = [
        ("", DETECTOR, Finding(column, "segments", None, "insufficient_data", details={"reason": reason}))
        for column, reason in segmented.notes.items()]
    for column in spec.columns:
        segments = segmented.of(column)
        if not segments:
            continue
        if column not in frame.columns:
            found.append(("", DETECTOR, Finding(column, "segments", None, "error", details={
                "error": f"segment column {column!r} is missing from the current data"})))
            continue
        tested = {**context, "segments_tested": len(segments)}
        for label, rows in split(frame, column, segments).items():
            n = len(rows)
            enough = n >= spec.min_rows
            details: dict[str, Any] = {"share": n / len(frame) if len(frame) else None}
            if not enough:
                details["reason"] = f"fewer than min_rows={spec.min_rows} rows of this segment in the window"
            found.append((label, DETECTOR, Finding("", "rows", n, "ok" if enough else "insufficient_data",
                                                   threshold=spec.min_rows, details=details)))
            if not enough:
                continue
            reference = segmented.profiles[label]
            data = CurrentData(rows, reference, context=tested)
            found.extend((label, type(d).name, f) for d in detectors for f in d.run(reference, data, reference.schema))
    return found


def columns_needed(spec: Segments | None, schema: Schema | None) -> list[str]:
    """The segment columns a read must include beyond what the detectors ask for."""
    if spec is None:
        return []
    named = set(schema.columns) if schema is not None else set()
    return [c for c in spec.columns if c not in named]
