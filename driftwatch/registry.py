"""One registry type for the three plugin families (connectors, detectors, channels).

Built-ins are an explicit dict; third parties add classes through an entry-point group. Entry
points load lazily, one at a time, so one broken plugin cannot stop the daemon from using the
others. An unknown name lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to plugin classes: built-ins first, then the entry-point group ``group``.

    >>> reg = Registry("example.group", {"a": int})
    >>> reg.get("a")
    <class 'int'>
    >>> reg.get("b")
    Traceback (most recent call last):
    ...
    KeyError: "unknown type 'b' (valid: a)"
    """

    def __init__(self, group: str, builtin: Mapping[str, type[T]]) -> None:
        self.group = group
        self._builtin = dict(builtin)
        self._loaded: dict[str, type[T]] = {}

    def names(self) -> list[str]:
        """Every name that can be asked for, sorted."""
        plugin_names = {ep.name for ep in entry_points(group=self.group)}
        return sorted(set(self._builtin) | plugin_names)

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``; ``KeyError`` naming the valid ones otherwise."""
        if name in self._builtin:
            return self._builtin[name]
        if name in self._loaded:
            return self._loaded[name]
        for ep in entry_points(group=self.group, name=name):
            try:
                cls: type[T] = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                raise KeyError(f"type {name!r}: plugin {ep.value} failed to load: {exc}") from exc
            self._loaded[name] = cls
            return cls
        raise KeyError(f"unknown type {name!r} (valid: {', '.join(self.names())})")
