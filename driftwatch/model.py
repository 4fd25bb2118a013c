"""The shared nouns: Window, Schema, Finding, Result, and the alert's AlertKey and AlertState.

They are frozen dataclasses so a result can be handed from detector to store to web without
anyone changing it on the way. A detector returns ``Finding``s; the engine stamps the run
context (monitor, run id, window) onto each to make a ``Result``, so no detector can forget or
fake it. They live here, below every package, so that the packages that pass them on (the
store keeps alert states, the web draws a result's bins) need not import the one that makes them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Literal

import pandas as pd

from .errors import DataError
from .jsonsafe import json_safe

Status = Literal["ok", "warn", "alert", "insufficient_data", "error"]
STATUSES: tuple[str, ...] = ("ok", "warn", "alert", "insufficient_data", "error")
#: Severity order used to sort reports: the worst first.
SEVERITY: dict[str, int] = {"error": 4, "alert": 3, "warn": 2, "insufficient_data": 1, "ok": 0}
#: Labels of the bins a drift result's ``details["bins"]`` adds to a column's own values: values
#: missing on either side, and categories outside the reference's top ones.
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


def utc(value: datetime) -> datetime:
    """Return ``value`` as a timezone-aware UTC datetime (naive input is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class Window:
    """A half-open time interval ``[start, end)`` in UTC.

    >>> w = Window(datetime(2026, 11, 1), datetime(2026, 11, 2))
    >>> w.start.isoformat(), w.end - w.start
    ('2026-11-01T00:00:00+00:00', datetime.timedelta(days=1))
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"window: end {self.end.isoformat()} must be after start {self.start.isoformat()}")

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


_SCHEMA_LISTS = ("numeric", "categorical", "sensitive")
_SCHEMA_SINGLE = ("target", "prediction", "score", "id", "timestamp")
#: The longest name a store keeps (``results.feature`` is VARCHAR(255) on PostgreSQL): one limit
#: for every store, checked when the schema is made, not when PostgreSQL refuses a run's results.
MAX_NAME = 255


def name_problem(name: str) -> str | None:
    """Why a store cannot keep ``name`` as a column or monitor name, or None.

    >>> name_problem("x" * 300)
    'is 300 characters, over the 255 a store keeps'
    >>> name_problem("a\\x00b"), name_problem("age")
    ('holds a NUL character, which no store keeps', None)
    """
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters, over the {MAX_NAME} a store keeps"
    if "\x00" in name:
        return "holds a NUL character, which no store keeps"
    return None


def _shown(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:40] + "…")


@dataclass(frozen=True)
class Schema:
    """Which columns to watch and what they mean.

    The keys are those of a monitor's ``[monitors.schema]`` table. Columns the schema does not
    name are ignored; ``Schema.infer`` names every column of a frame.

    >>> Schema.from_value({"numeric": ["age"], "categorical": ["region"]}).features
    ('age', 'region')
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    target: str | None = None
    prediction: str | None = None
    score: str | None = None
    sensitive: tuple[str, ...] = ()
    id: str | None = None
    timestamp: str | None = None
    task: str | None = None
    #: A multiclass model's probability columns, one per class: ``{class label: column}``
    #: (kept as sorted ``(label, column)`` pairs).
    class_scores: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_scores", _class_scores(self.class_scores))
        if self.class_scores and self.score is not None:
            raise ValueError("class_scores: set it or score (a binary model's one probability), not both")
        for name in _SCHEMA_LISTS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{name}: must be a list of column names, got {value!r}")
            items = tuple(value)
            for item in items:
                if not isinstance(item, str) or not item:
                    raise ValueError(f"{name}: column names must be non-empty strings, got {item!r}")
                if (problem := name_problem(item)) is not None:
                    raise ValueError(f"{name}: column {_shown(item)} {problem}")
            object.__setattr__(self, name, items)
        for name in _SCHEMA_SINGLE:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name}: must be a column name, got {value!r}")
            if value is not None and (problem := name_problem(value)) is not None:
                raise ValueError(f"{name}: column {_shown(value)} {problem}")
        if self.task not in (None, "classification", "binary", "multiclass", "regression"):
            raise ValueError(f"task: must be one of classification, binary, multiclass, regression, "
                             f"got {self.task!r}")
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise ValueError(f"numeric: {both} also listed in categorical")

    @property
    def features(self) -> tuple[str, ...]:
        """The columns whose distributions are watched, numeric first."""
        return self.numeric + self.categorical

    def kind(self, column: str) -> str:
        """``"numeric"`` or ``"categorical"`` for a feature column."""
        return "numeric" if column in self.numeric else "categorical"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the schema names, each once, in a stable order."""
        named = list(self.features)
        for name in _SCHEMA_SINGLE:
            value = getattr(self, name)
            if value is not None:
                named.append(value)
        named.extend(self.sensitive)
        named.extend(column for _, column in self.class_scores)
        return tuple(dict.fromkeys(named))

    @classmethod
    def from_value(cls, value: Schema | Mapping[str, Any]) -> Schema:
        """Build from a ``Schema`` or a dict with the config keys; unknown keys are an error."""
        if isinstance(value, Schema):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"schema: must be a table/dict, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown schema key (valid: {', '.join(sorted(known))})")
        return cls(**dict(value))

    @classmethod
    def infer(cls, frame: pd.DataFrame, *, max_integer_categories: int = 20) -> Schema:
        """Guess numeric vs categorical from dtypes.

        Floats are numeric; bool, strings and categories are categorical; integers are
        categorical when they take at most ``max_integer_categories`` distinct values.

        >>> Schema.infer(pd.DataFrame({"x": [0.5, 1.5], "flag": [True, False], "n": [1, 2]}))
        Schema(numeric=('x',), categorical=('flag', 'n'), target=None, prediction=None, score=None, sensitive=(), id=None, timestamp=None, task=None, class_scores=())
        """
        numeric: list[str] = []
        categorical: list[str] = []
        timestamp: str | None = None
        for column in frame.columns:
            series = frame[column]
            name = str(column)
            if pd.api.types.is_bool_dtype(series.dtype):
                categorical.append(name)
            elif pd.api.types.is_datetime64_any_dtype(series.dtype):
                timestamp = timestamp or name
            elif pd.api.types.is_integer_dtype(series.dtype):
                if series.nunique(dropna=True) <= max_integer_categories:
                    categorical.append(name)
                else:
                    numeric.append(name)
            elif pd.api.types.is_numeric_dtype(series.dtype):
                numeric.append(name)
            else:
                categorical.append(name)
        try:
            return cls(numeric=tuple(numeric), categorical=tuple(categorical), timestamp=timestamp)
        except ValueError as exc:  # a column name no store keeps: the data's problem, named
            raise DataError(f"the data's {str(exc).split(': ', 1)[1]}") from None


def _class_scores(value: object) -> tuple[tuple[str, str], ...]:
    """``class_scores`` as sorted ``(label, column)`` pairs, from a table or from such pairs
    (how a cached profile's header holds them).

    >>> _class_scores({"b": "p_b", "a": "p_a"})
    (('a', 'p_a'), ('b', 'p_b'))
    """
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if isinstance(pairs, str) or not isinstance(pairs, Iterable):
        raise ValueError(f"class_scores: must be a table of class label = probability column, got {value!r}")
    found: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, str) or not isinstance(pair, Iterable) or len(pair := tuple(pair)) != 2:
            raise ValueError(f"class_scores: must be a table of class label = probability column, got {value!r}")
        label, column = pair
        if not isinstance(column, str) or not column:
            raise ValueError(f"class_scores.{label}: must be a column name, got {column!r}")
        if (problem := name_problem(column)) is not None:
            raise ValueError(f"class_scores.{label}: column {_shown(column)} {problem}")
        found[str(label)] = column  # TOML keys are text; labels are compared as normalised text
    if len(found) == 1:
        raise ValueError("class_scores: a multiclass model has a probability column for each of at least two classes")
    return tuple(sorted(found.items()))


def _clean_float(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Finding:
    """One figure a detector computed, before the engine adds the run context.

    ``value`` is the statistic or distance; ``p_value`` is set only for tests that have one;
    ``threshold`` is what the decision compared against (alpha for p-values).
    """

    feature: str
    metric: str
    value: float | None
    status: Status
    threshold: float | None = None
    p_value: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "value", _clean_float(self.value))
        object.__setattr__(self, "p_value", _clean_float(self.p_value))
        object.__setattr__(self, "threshold", _clean_float(self.threshold))


@dataclass(frozen=True)
class Result:
    """One stored figure: a ``Finding`` with the monitor, run and window it belongs to.

    ``to_json`` gives the public JSON contract of ``driftwatch check --format json``.
    """

    monitor: str
    run_id: int | None
    window_start: datetime | None
    window_end: datetime | None
    detector: str
    feature: str
    metric: str
    value: float | None
    p_value: float | None
    threshold: float | None
    status: Status
    details: Mapping[str, Any] = field(default_factory=dict)
    #: Which rows the figure is of: ``""`` for the whole window, ``column=value`` for a segment
    #: (``column=(other)`` for the values outside a column's top ones, ``driftwatch.segments``).
    segment: str = ""

    @classmethod
    def stamp(cls, finding: Finding, *, monitor: str, run_id: int | None, window: Window | None,
              detector: str, segment: str = "") -> Result:
        """Attach the run context (and the segment, if any) to a detector's finding."""
        return cls(
            monitor=monitor,
            run_id=run_id,
            window_start=window.start if window else None,
            window_end=window.end if window else None,
            detector=detector,
            feature=finding.feature,
            metric=finding.metric,
            value=finding.value,
            p_value=finding.p_value,
            threshold=finding.threshold,
            status=finding.status,
            details=finding.details,
            segment=segment,
        )

    def to_json(self) -> dict[str, Any]:
        """The public JSON object for this result (timestamps as ISO 8601 UTC; non-finite numbers
        in ``details`` as null, so the output is strict JSON)."""
        return {
            "monitor": self.monitor,
            "run_id": self.run_id,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "detector": self.detector,
            "feature": self.feature,
            "metric": self.metric,
            "value": self.value,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "status": self.status,
            "details": json_safe(self.details),
            "segment": self.segment,
        }


@dataclass(frozen=True)
class AlertKey:
    """Which figure an alert watches. ``feature`` is ``""`` for data-set level figures;
    ``segment`` is ``""`` for the whole window, ``column=value`` for one segment of it."""

    monitor: str
    detector: str
    feature: str
    metric: str
    segment: str = ""

    @property
    def fingerprint(self) -> str:
        """R1: the first 16 hex characters of SHA-256 of the canonical JSON of the four parts
        (five with a segment, so a whole window's alerts keep the id they always had) — the same
        in every process and after every restart."""
        parts = [self.monitor, self.detector, self.feature, self.metric] + ([self.segment] if self.segment else [])
        canonical = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AlertState:
    """An alert as stored: its state, the run counters that move it, and its latest figure."""

    key: AlertKey
    state: str = "ok"
    severity: str | None = None
    breaching_runs: int = 0
    clean_runs: int = 0
    value: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    active_since: datetime | None = None
    resolved_at: datetime | None = None
    last_run_id: int | None = None
    last_window_end: datetime | None = None
