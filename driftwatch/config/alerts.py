"""``[alerts]``, ``[monitors.alerts]`` and ``[monitors.retrain]``: when an alert fires, where its
message goes, and when a pipeline is told to retrain.

``[alerts]`` sets the defaults every monitor starts from, plus what only makes sense once
(``base_url`` for report links, the delivery deadline, how often the dispatcher looks); a
monitor's ``[monitors.alerts]`` table overrides any of the policy keys for that monitor.

>>> AlertPolicy(channels=("oncall",)).routes
(Route(channels=('oncall',), severity='warn'),)
>>> AlertPolicy(routes=[{"channels": ["pager"], "severity": "alert"}]).routes
(Route(channels=('pager',), severity='alert'),)

Which channels an item goes to is ``driftwatch.alerts.routing``'s to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from ..alerts.routing import Route, name_list
from ..alerts.state import Policy
from ..timeutil import parse_duration

__all__ = ["POLICY_KEYS", "AlertPolicy", "AlertsSettings", "RetrainPolicy"]


def _duration(value: object, key: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be a duration string such as 30s or 24h, got {value!r}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


@dataclass(frozen=True)
class AlertPolicy:
    """How one monitor's alerts behave (R2–R6): when they fire and resolve, what missing data
    counts as, which channels get which severities, whether resolved messages are sent and when
    an unchanged group is sent again. The fields are the keys of ``[alerts]`` and
    ``[monitors.alerts]``. ``channels`` is short for one route taking every severity."""

    for_runs: int = 1
    keep_firing_runs: int = 1
    no_data: str = "keep_last"
    repeat_interval: timedelta | str = "24h"
    send_resolved: bool = True
    channels: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()

    def __post_init__(self) -> None:
        Policy(self.for_runs, self.keep_firing_runs, self.no_data)  # checks the three, naming the key
        object.__setattr__(self, "repeat_interval", _duration(self.repeat_interval, "repeat_interval"))
        if not isinstance(self.send_resolved, bool):
            raise ValueError(f"send_resolved: must be true or false, got {self.send_resolved!r}")
        object.__setattr__(self, "channels", name_list(self.channels, "channels"))
        routes = []
        for i, route in enumerate(self.routes):
            if isinstance(route, Route):
                routes.append(route)
                continue
            if not isinstance(route, Mapping):
                raise ValueError(f"routes[{i}]: must be a table with channels and severity, got {route!r}")
            unknown = set(route) - {"channels", "severity"}
            if unknown:
                raise ValueError(f"routes[{i}].{sorted(unknown)[0]}: unknown key (valid: channels, severity)")
            if "channels" not in route:
                raise ValueError(f"routes[{i}].channels: missing required key")
            try:
                routes.append(Route(**route))
            except ValueError as exc:
                raise ValueError(f"routes[{i}].{exc}") from None
        if self.channels:
            routes.insert(0, Route(self.channels))
            object.__setattr__(self, "channels", ())
        object.__setattr__(self, "routes", tuple(routes))

    @property
    def state_policy(self) -> Policy:
        """The part the state machine needs."""
        return Policy(self.for_runs, self.keep_firing_runs, self.no_data)



#: The keys of ``AlertPolicy``: what ``[monitors.alerts]`` may override.
POLICY_KEYS: tuple[str, ...] = ("for_runs", "keep_firing_runs", "no_data", "repeat_interval", "send_resolved",
                                "channels", "routes")


@dataclass(frozen=True)
class RetrainPolicy:
    """``[monitors.retrain]``: send ``retrain.requested`` when an alert on one of ``on`` has
    breached ``for_runs`` runs in a row. ``on`` names a detector (``"performance"``) or a
    detector's metric (``"drift.drift_share"``, the data-set drift share)."""

    on: tuple[str, ...] = ("drift.drift_share", "performance")
    for_runs: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "on", name_list(self.on, "on"))
        if isinstance(self.for_runs, bool) or not isinstance(self.for_runs, int) or self.for_runs < 1:
            raise ValueError(f"for_runs: must be an integer >= 1, got {self.for_runs!r}")

    def matches(self, detector: str, metric: str) -> bool:
        """Whether an alert on ``detector``'s ``metric`` counts towards retraining."""
        return detector in self.on or f"{detector}.{metric}" in self.on


@dataclass(frozen=True)
class AlertsSettings:
    """``[alerts]``: the default ``AlertPolicy`` (same keys) and the once-only settings.

    ``base_url``: where the web page is reachable, for report links in messages (unset: no
    links). ``delivery_deadline``: how long a message is retried before it is marked ``dead``.
    ``dispatch_interval``: how often the dispatcher looks for messages to send.
    """

    base_url: str | None = None
    delivery_deadline: timedelta | str = "24h"
    dispatch_interval: timedelta | str = "2s"
    for_runs: int = 1
    keep_firing_runs: int = 1
    no_data: str = "keep_last"
    repeat_interval: timedelta | str = "24h"
    send_resolved: bool = True
    channels: tuple[str, ...] = ()
    routes: tuple[Any, ...] = ()
    policy: AlertPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_url is not None:
            parts = urlsplit(self.base_url) if isinstance(self.base_url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"base_url: must be an http(s) URL such as https://driftwatch.example.com, "
                                 f"got {self.base_url!r}")
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "delivery_deadline", _duration(self.delivery_deadline, "delivery_deadline"))
        object.__setattr__(self, "dispatch_interval", _duration(self.dispatch_interval, "dispatch_interval"))
        object.__setattr__(self, "policy", AlertPolicy(**{key: getattr(self, key) for key in POLICY_KEYS}))

    def report_url(self, run_id: int | None) -> str | None:
        """The link to a run's report page, or None without ``base_url``."""
        if self.base_url is None or run_id is None:
            return None
        return f"{self.base_url}/runs/{run_id}"

    def monitor_policy(self, overrides: Mapping[str, Any]) -> AlertPolicy:
        """The default policy with a monitor's ``[monitors.alerts]`` keys applied (a monitor that
        sets ``channels`` or ``routes`` replaces both)."""
        values: dict[str, Any] = {key: getattr(self.policy, key) for key in POLICY_KEYS}
        if "channels" in overrides or "routes" in overrides:
            values["routes"] = ()
        values.update(overrides)
        return AlertPolicy(**values)
