"""Alert routing: which channels an alert's item goes to, by its severity.

``[[alerts.routes]]`` tables become ``Route``s (``config.alerts`` parses them); a route takes
items of its ``severity`` or worse, and ``error`` (a failed run) always. Evaluation asks
``channel_names`` which channels to consider and ``channels_for`` where each item goes.

>>> routes = (Route(("oncall",)), Route(("pager", "oncall"), severity="alert"))
>>> channels_for(routes, "warn"), channels_for(routes, "alert"), channels_for(routes, "error")
(('oncall',), ('oncall', 'pager'), ('oncall', 'pager'))
>>> channel_names(routes)
['oncall', 'pager']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SEVERITIES", "Route", "channel_names", "channels_for", "name_list"]

#: Severities a route can ask for, lowest first: ``warn`` takes warn and alert (and errors).
SEVERITIES: tuple[str, ...] = ("warn", "alert")
_RANK = {"warn": 1, "alert": 2, "error": 3}


def name_list(value: object, key: str) -> tuple[str, ...]:
    """``value`` as a tuple of non-empty names; ``ValueError`` naming ``key`` for anything else."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{key}: must be a list of names, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Route:
    """Items of ``severity`` or worse go to ``channels`` (``[[alerts.routes]]``)."""

    channels: tuple[str, ...]
    severity: str = "warn"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", name_list(self.channels, "channels"))
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")

    def takes(self, severity: str | None) -> bool:
        """Whether an item of ``severity`` is routed here (``error``, a failed run, always is)."""
        return _RANK.get(severity or "warn", 1) >= _RANK[self.severity]


def channel_names(routes: Sequence[Route]) -> list[str]:
    """Every channel some route names, in order, once each."""
    return list(dict.fromkeys(name for route in routes for name in route.channels))


def channels_for(routes: Sequence[Route], severity: str | None) -> tuple[str, ...]:
    """The channels an item of ``severity`` goes to."""
    return tuple(dict.fromkeys(name for route in routes if route.takes(severity) for name in route.channels))
