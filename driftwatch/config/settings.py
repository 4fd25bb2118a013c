"""The typed settings a config file becomes. Frozen: built once, shared by every component."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..schedule import Schedule
from .alerts import AlertPolicy, AlertsSettings, RetrainPolicy
from .daemon import DaemonSettings, MetricsSettings, WebSettings

if TYPE_CHECKING:
    from ..connectors import Connector
    from ..detectors import Detector
    from ..model import Schema
    from ..profiling import ProfileOptions
    from ..secrets import Secret
    from ..segments import Segments

__all__ = ["DEFAULT_STORE_URL", "LabelsSettings", "MonitorSettings", "ReferenceSettings", "Settings", "StoreSettings"]

#: The store when the config names none: a SQLite file next to the config file.
DEFAULT_STORE_URL = "sqlite:///driftwatch.db"


@dataclass(frozen=True)
class StoreSettings:
    """``[store]``: where runs, results and reference profiles live.

    ``url`` is a SQLAlchemy URL wrapped in ``Secret`` (it may carry a password); relative SQLite
    paths have already been made absolute against the config file's folder.
    """

    url: Secret


@dataclass(frozen=True)
class ReferenceSettings:
    """``[monitors.reference]``: a connector with an optional fixed ``[start, end)`` range, or
    ``rolling`` = the N windows before the current one, read through the current connector."""

    connector: Connector | None = None
    start: datetime | None = None
    end: datetime | None = None
    rolling: int | None = None


@dataclass(frozen=True)
class LabelsSettings:
    """``[monitors.labels]``: where ground truth arrives, joined to predictions on ``id_column``
    (default: ``schema.id``); the label column is ``schema.target``."""

    connector: Connector
    id_column: str | None = None


@dataclass(frozen=True)
class MonitorSettings:
    """One ``[[monitors]]`` entry: what to read, how often, and which detectors to run."""

    name: str
    window: timedelta
    schema: Schema | None
    current: Connector
    reference: ReferenceSettings
    detectors: tuple[Detector, ...]
    labels: LabelsSettings | None = None
    #: How long after a window ends its labels are complete; performance waits until then.
    label_delay: timedelta = timedelta(0)
    #: When it runs and which window each run checks (default: every ``window``, UTC-aligned).
    schedule: Schedule = None  # type: ignore[assignment]  # filled in __post_init__
    #: Missed windows run after downtime, oldest first; older ones are recorded as skipped.
    max_catchup: int = 24
    #: ``[alerts]`` with this monitor's ``[monitors.alerts]`` overrides applied.
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    #: ``[monitors.retrain]``: when to send ``retrain.requested`` (None: never).
    retrain: RetrainPolicy | None = None
    #: ``segments``: the columns whose top values each get every detector's run too (None: none).
    segments: Segments | None = None

    def __post_init__(self) -> None:
        if self.schedule is None:
            seconds = int(self.window.total_seconds())
            object.__setattr__(self, "schedule", Schedule(expression=f"{seconds}s", window=self.window))


@dataclass(frozen=True)
class Settings:
    """A whole config file, checked. ``path`` is the absolute path of the file; ``warnings`` are
    the lines ``validate`` prints and the daemon logs (deprecated keys), never fatal."""

    path: Path
    store: StoreSettings
    profile: ProfileOptions
    monitors: tuple[MonitorSettings, ...] = field(default=())
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    web: WebSettings = field(default_factory=WebSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    #: ``[channels.NAME]``: built channels (``driftwatch.alerts.channels``) by name.
    channels: Mapping[str, object] = field(default_factory=dict)
    #: ``[webhooks.NAME]``: retrain/alert webhook subscriptions by name.
    webhooks: Mapping[str, object] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def monitor(self, name: str) -> MonitorSettings:
        """The monitor called ``name``; ``KeyError`` naming the configured ones otherwise."""
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        raise KeyError(f"unknown monitor {name!r} (configured: {', '.join(m.name for m in self.monitors)})")
