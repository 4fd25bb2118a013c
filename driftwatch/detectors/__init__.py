"""Detectors: pure functions from (reference profile, current window) to findings.

A detector is a frozen dataclass whose fields are its config keys. It does no I/O, logs no
data and draws nothing; the engine stamps the run context onto its findings. ``BUILTIN`` lists
the ones shipped here; third parties register more under the ``driftwatch.detectors``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol, runtime_checkable

from ..model import Finding, Schema
from ..profiling import Profile
from ..registry import Registry
from .current import CurrentData


@runtime_checkable
class Detector(Protocol):
    """Turns a reference profile and a current window into findings."""

    name: ClassVar[str]

    def required_columns(self, schema: Schema) -> set[str]:
        """The columns this detector needs read from the current window."""
        ...

    def run(self, reference: Profile, current: CurrentData, schema: Schema) -> list[Finding]:
        """Same inputs, same findings."""
        ...


def joint_rows_wanted(detectors: Iterable[object]) -> int:
    """How many reference rows the profile must keep whole (``driftwatch.joint``) for
    ``detectors``: the most any asks for with a ``reference_rows`` attribute, 0 for none."""
    return max((int(getattr(d, "reference_rows", 0)) for d in detectors), default=0)


from .drift import DriftDetector  # noqa: E402
from .fairness import FairnessDetector  # noqa: E402
from .multivariate import MultivariateDetector  # noqa: E402
from .performance import PerformanceDetector  # noqa: E402
from .quality import QualityDetector  # noqa: E402

BUILTIN: dict[str, type[Detector]] = {"drift": DriftDetector, "quality": QualityDetector,
                            "performance": PerformanceDetector, "fairness": FairnessDetector,
                            "multivariate": MultivariateDetector}
REGISTRY: Registry[Detector] = Registry("driftwatch.detectors", BUILTIN, Detector)

__all__ = ["BUILTIN", "REGISTRY", "CurrentData", "Detector", "DriftDetector", "FairnessDetector",
           "MultivariateDetector", "PerformanceDetector", "QualityDetector", "joint_rows_wanted"]
