"""Data-set drift in how columns move together (``type = "multivariate"``).

Univariate tests compare each column's distribution alone, so they miss a change that keeps
every marginal and moves the joint distribution: a correlation that flips, a segment that
swaps its mix of two columns. This detector compares whole rows of the window with rows of the
reference kept in its profile (``driftwatch.joint``, ``reference_rows`` of them), by one of two
methods (see their modules for the statistics):

* ``reconstruction`` (default): the window's mean PCA reconstruction error against the
  reference's; effect = its relative increase (practical minimum ``threshold``, 0.02);
* ``classifier``: the cross-validated ROC AUC of a gradient-boosted classifier telling window
  rows from reference rows; effect = AUC − 0.5 (practical minimum 0.05).

One rule as for univariate drift: the window alerts when its excess is significant at
``alpha`` and at least the practical minimum, so a stable model stays quiet at 100 rows and at
a million. The finding is one data-set figure (``feature`` ""), its ``threshold`` the value
that alerts at this window's size; ``details.moved`` names the columns that changed most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..errors import DataError
from ..joint import encode
from ..model import Finding, Schema, Status
from ..profiling import Profile
from .current import CurrentData
from .domain_classifier import classifier_test, model_inputs
from .fitted import per_profile
from .reconstruction import Reconstruction, fit

__all__ = ["METHODS", "MultivariateDetector"]

#: Method → (metric stored, default practical minimum of its effect).
METHODS = {"reconstruction": ("reconstruction_error", 0.02), "classifier": ("domain_classifier_auc", 0.05)}


def _positive(value: object, key: str, *, integer: bool = False, low: float = 0.0) -> None:
    wrong = isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
    if wrong or not value > low:  # type: ignore[operator]
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{key}: must be {kind} > {low:g}, got {value!r}")


@dataclass(frozen=True)
class MultivariateDetector:
    """How whole rows moved (see the module docstring).

    >>> MultivariateDetector(method="pca")
    Traceback (most recent call last):
    ...
    ValueError: method: must be one of reconstruction, classifier, got 'pca'
    """

    name: ClassVar[str] = "multivariate"
    #: Reads the window's rows (a profile keeps no joint rows of the window).
    profiles_only: ClassVar[bool] = False

    method: str = "reconstruction"
    threshold: float | None = None
    alpha: float = 0.01
    #: Share of the standardised reference's variance the kept components explain (reconstruction).
    variance: float = 0.65
    #: Reference rows the profile keeps for this detector (half fit, half calibrate).
    reference_rows: int = 20_000
    #: Rows a side the classifier trains and scores on at most (classifier).
    max_rows: int = 10_000
    folds: int = 3
    seed: int = 0
    min_rows: int = 100
    #: The columns compared (default every feature of the schema).
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.threshold is not None:
            _positive(self.threshold, "threshold")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise ValueError(f"alpha: must be in (0, 1), got {self.alpha!r}")
        if isinstance(self.variance, bool) or not isinstance(self.variance, (int, float)) \
                or not 0 < self.variance < 1:
            raise ValueError(f"variance: must be in (0, 1), got {self.variance!r}")
        for key, low in (("reference_rows", 19), ("max_rows", 19), ("folds", 1), ("min_rows", 1)):
            _positive(getattr(self, key), key, integer=True, low=low)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: must be an integer >= 0, got {self.seed!r}")
        if isinstance(self.columns, str):
            raise ValueError(f"columns: must be a list of column names, got {self.columns!r}")
        object.__setattr__(self, "columns", tuple(self.columns))

    @property
    def metric(self) -> str:
        return METHODS[self.method][0]

    def columns_of(self, schema: Schema) -> tuple[str, ...]:
        return self.columns or tuple(schema.features)

    def required_columns(self, schema: Schema) -> set[str]:
        return set(self.columns_of(schema))

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        segments = current.segments_tested  # one of S segments tested together: decides at alpha / S
        chosen = self if segments == 1 else replace(self, alpha=self.alpha / segments)
        return chosen._run(reference, current, schema)

    def _run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        columns = self.columns_of(schema)
        joint = reference.joint
        kept = set(joint.columns) if joint is not None else set()
        unknown = [c for c in columns if c not in kept]
        if joint is None or unknown:
            why = ("the reference profile keeps no rows: build it with driftwatch.profile(..., joint_rows="
                   f"{self.reference_rows}), or let check() profile the frame" if joint is None
                   else f"column(s) {', '.join(map(repr, unknown))} are not among the reference's features")
            return [self._finding(None, "error", details={"error": why})]
        if len(columns) < 2:
            return [self._finding(None, "error", details={"error": "needs at least two columns to compare rows"})]
        absent = [c for c in columns if c not in current.frame.columns]
        if absent:
            return [self._finding(None, "error", details={
                "error": f"column(s) {', '.join(map(repr, absent))} missing from the current data"})]
        n = current.n_rows
        if n < self.min_rows or joint.values.shape[0] < 2 * self.min_rows:
            return [self._finding(None, "insufficient_data", details={
                "reason": f"fewer than min_rows={self.min_rows} rows in the window (or twice that in the reference)",
                "n_cur": n, "n_ref": int(joint.values.shape[0])})]
        try:
            window = encode(current.frame, columns, reference.columns)
        except DataError as exc:  # text in a numeric column
            return [self._finding(None, "error", details={"error": str(exc)})]
        threshold = self.threshold if self.threshold is not None else METHODS[self.method][1]
        if self.method == "reconstruction":
            fitted = _fitted(reference, columns, float(self.variance), self.seed)
            found: dict[str, Any] = fitted.test(window, self.alpha, threshold)
            found.update(components=int(fitted.components.shape[0]), explained=fitted.explained,
                         reference_mean=fitted.error_mean, reference_sd=fitted.error_sd,
                         calibration_rows=fitted.error_rows)
        else:
            where = [joint.columns.index(c) for c in columns]
            categorical = [reference.columns[c].kind != "numeric" for c in columns]
            found = classifier_test(model_inputs(joint.values[:, where], categorical),
                                    model_inputs(window, categorical), categorical, columns, alpha=self.alpha,
                                    threshold=threshold, max_rows=self.max_rows, folds=self.folds, seed=self.seed)
        value, p_value, alerts_at = found.pop("value"), found.pop("p_value"), found.pop("alerts_at")
        breached = p_value < self.alpha and value >= alerts_at
        rule = ("significant and at least the threshold" if breached else "not significant at this size"
                if p_value >= self.alpha else "significant but under the threshold")
        details = {"method": self.method, "columns": list(columns), "n_cur": n, "alpha": self.alpha,
                   "practical_minimum": threshold, **found, "rule": rule}
        return [self._finding(value, "alert" if breached else "ok", threshold=alerts_at, p_value=p_value,
                              details=details)]

    def _finding(self, value: float | None, status: Status, *, threshold: float | None = None,
                 p_value: float | None = None, details: dict[str, Any]) -> Finding:
        return Finding("", self.metric, value, status, threshold=threshold, p_value=p_value, details=details)


@per_profile
def _fitted(reference: Profile, columns: tuple[str, ...], variance: float, seed: int) -> Reconstruction:
    """The reconstruction of a reference, fitted once per profile (``fitted.per_profile``)."""
    assert reference.joint is not None
    return fit(reference, reference.joint, columns, variance, seed)
