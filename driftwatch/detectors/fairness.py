"""Group fairness: does the model treat the groups of a sensitive column alike?

Per group of each sensitive column (and, with ``intersections = true``, of every combination of
them) the detector reports the row count, selection rate (share predicted positive), and — on
labelled rows — TPR, FPR and precision. Across groups it reports fairlearn's disparities:
demographic parity difference (max − min selection rate) and ratio (min / max), equalized odds
difference (the larger of the TPR and FPR differences) and ratio, and equal opportunity
difference (TPR). Groups with fewer than ``min_group_size`` rows are listed with status
``insufficient_data`` and left out of the disparities, so one tiny group cannot page anyone.

The documented default alert is the four-fifths rule: ``demographic_parity_ratio < 0.8``. The
other disparities alert only when given a bound (``*_max`` for differences, ``*_min`` for ratios).
The per-group table goes into ``details`` so a report can show which group is hurt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataError
from ..model import Finding, Schema
from ..outcomes import check_scores, label_keys
from ..profiling import Profile
from ..values import numeric_values
from .current import CurrentData
from .fairness_metrics import (
    GroupRates,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_rates,
)
from .performance import positive_class

#: (metric, kernel, needs labels, config key of its bound, bound is a minimum)
DISPARITIES: tuple[tuple[str, Callable[[Sequence[GroupRates]], float], bool, str, bool], ...] = (
    ("demographic_parity_difference", demographic_parity_difference, False, "demographic_parity_difference_max", False),
    ("demographic_parity_ratio", demographic_parity_ratio, False, "demographic_parity_ratio_min", True),
    ("equalized_odds_difference", equalized_odds_difference, True, "equalized_odds_difference_max", False),
    ("equalized_odds_ratio", equalized_odds_ratio, True, "equalized_odds_ratio_min", True),
    ("equal_opportunity_difference", equal_opportunity_difference, True, "equal_opportunity_difference_max", False),
)


@dataclass(frozen=True)
class FairnessDetector:
    """Per-group rates and disparities (``type = "fairness"``).

    >>> FairnessDetector(min_group_size=0)
    Traceback (most recent call last):
    ...
    ValueError: min_group_size: must be an integer >= 1, got 0
    """

    name: ClassVar[str] = "fairness"

    sensitive: tuple[str, ...] = ()
    intersections: bool = False
    min_group_size: int = 30
    positive_class: str | None = None
    decision_threshold: float = 0.5
    demographic_parity_ratio_min: float | None = 0.8
    demographic_parity_difference_max: float | None = None
    equalized_odds_difference_max: float | None = None
    equalized_odds_ratio_min: float | None = None
    equal_opportunity_difference_max: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.sensitive, str):
            raise ValueError(f"sensitive: must be a list of column names, got {self.sensitive!r}")
        object.__setattr__(self, "sensitive", tuple(self.sensitive))
        if isinstance(self.min_group_size, bool) or not isinstance(self.min_group_size, int) \
                or self.min_group_size < 1:
            raise ValueError(f"min_group_size: must be an integer >= 1, got {self.min_group_size!r}")
        if not isinstance(self.intersections, bool):
            raise ValueError(f"intersections: must be true or false, got {self.intersections!r}")
        if not isinstance(self.decision_threshold, (int, float)) or not 0 <= self.decision_threshold <= 1:
            raise ValueError(f"decision_threshold: must be in [0, 1], got {self.decision_threshold!r}")
        if self.positive_class is not None and not isinstance(self.positive_class, str):
            object.__setattr__(self, "positive_class", str(self.positive_class))
        for _, _, _, key, _ in DISPARITIES:
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{key}: must be a number, got {value!r}")

    def columns_of(self, schema: Schema) -> tuple[str, ...]:
        return self.sensitive or schema.sensitive

    def required_columns(self, schema: Schema) -> set[str]:
        named = (schema.target, schema.prediction, schema.score)
        return {c for c in named if c is not None} | set(self.columns_of(schema))

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        columns = self.columns_of(schema)
        if not columns:
            return [Finding("", "fairness", None, "error",
                            details={"error": "no sensitive columns (set schema.sensitive or sensitive)"})]
        frame = current.frame
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            return [Finding(c, "fairness", None, "error",
                            details={"error": f"sensitive column {c!r} is missing from the current data"})
                    for c in absent]
        try:
            y_pred01, y_true01, labelled, predicted = self._outcomes(reference, frame, schema)
        except DataError as exc:
            return [Finding("", "fairness", None, "error", details={"error": str(exc)})]
        due_at = current.context.get("labels_due_at")
        if due_at is not None:  # early labels are a biased sample: wait like performance does
            y_true01, labelled = None, np.zeros(len(frame), dtype=bool)
        # Rows without a prediction say nothing about how the model treats their group.
        frame = frame[predicted]
        y_pred01, labelled = y_pred01[predicted], labelled[predicted]
        y_true01 = y_true01[predicted] if y_true01 is not None else None
        specs: list[tuple[str, ...]] = [(c,) for c in columns]
        if self.intersections and len(columns) > 1:
            specs.append(tuple(columns))
        findings: list[Finding] = []
        for spec in specs:
            findings.extend(self._spec(spec, frame, y_pred01, y_true01, labelled, due_at))
        return findings

    def _outcomes(self, reference: Profile, frame: pd.DataFrame, schema: Schema
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Predicted-positive flags, true-positive flags, the labelled mask and the mask of rows
        that have a prediction, each over every row."""
        ref = reference.outcomes
        classes = ref.classes if ref is not None else ()
        pos = positive_class(classes, self.positive_class) if classes or self.positive_class else "1"
        if schema.prediction is not None and schema.prediction in frame.columns:
            keys = label_keys(frame[schema.prediction])
            y_pred01 = (keys == pos).astype(np.int64)
            predicted = frame[schema.prediction].notna().to_numpy()
        elif schema.score is not None and schema.score in frame.columns:
            score = numeric_values(frame[schema.score], schema.score)
            check_scores(score[~np.isnan(score)], f"column {schema.score!r}")
            y_pred01 = (score >= self.decision_threshold).astype(np.int64)
            predicted = ~np.isnan(score)
        else:
            raise DataError("fairness needs the model's output: set schema.prediction or schema.score")
        if schema.target is None or schema.target not in frame.columns:
            return y_pred01, None, np.zeros(len(frame), dtype=bool), predicted
        truth = label_keys(frame[schema.target])
        labelled = frame[schema.target].notna().to_numpy()
        return y_pred01, (truth == pos).astype(np.int64), labelled, predicted

    def _spec(self, spec: tuple[str, ...], frame: pd.DataFrame, y_pred01: np.ndarray,
              y_true01: np.ndarray | None, labelled: np.ndarray, due_at: str | None = None) -> list[Finding]:
        feature = " & ".join(spec)
        groups = frame[list(spec)].reset_index(drop=True)
        everyone = group_rates(np.zeros_like(y_pred01), y_pred01, groups)
        with_labels = (group_rates(y_true01[labelled], y_pred01[labelled], groups[labelled].reset_index(drop=True))
                       if y_true01 is not None and labelled.any() else [])
        by_group = {r.group: r for r in with_labels}
        table = [self._row(r, by_group.get(r.group)) for r in everyone]
        findings = [Finding(f"{feature}={'/'.join(row['group'])}", "selection_rate", row["selection_rate"],
                            "ok" if row["count"] >= self.min_group_size else "insufficient_data",
                            details=row) for row in table]
        big = [r for r in everyone if r.count >= self.min_group_size]
        big_labelled = [r for r in with_labels if r.count >= self.min_group_size]
        details: dict[str, Any] = {"groups": table, "min_group_size": self.min_group_size,
                                   "excluded": ["/".join(r.group) for r in everyone if r.count < self.min_group_size]}
        for metric, kernel, needs_labels, key, is_min in DISPARITIES:
            eligible = big_labelled if needs_labels else big
            bound = getattr(self, key)
            if len(eligible) < 2:
                reason = ("no labelled rows" if needs_labels and not with_labels
                          else f"fewer than two groups with >= {self.min_group_size} rows")
                if needs_labels and due_at is not None:
                    reason = f"labels are not due until {due_at}"
                findings.append(Finding(feature, metric, None, "insufficient_data", threshold=bound,
                                        details={**details, "reason": reason}))
                continue
            value = kernel(eligible)
            breached = bound is not None and np.isfinite(value) and (value < bound if is_min else value > bound)
            findings.append(Finding(feature, metric, value, "alert" if breached else "ok", threshold=bound,
                                    details=details))
        return findings

    @staticmethod
    def _row(everyone: GroupRates, labelled: GroupRates | None) -> dict[str, Any]:
        row: dict[str, Any] = {"group": list(everyone.group), "count": everyone.count,
                               "selection_rate": everyone.selection_rate}
        if labelled is not None:
            row.update({"labelled": labelled.count, "tpr": labelled.tpr, "fpr": labelled.fpr,
                        "precision": labelled.precision})
        return row
