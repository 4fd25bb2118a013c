"""One registry type for the three plugin families (connectors, detectors, channels).

Built-ins are an explicit dict; third parties add classes through an entry-point group. Entry
points load lazily, one at a time, so one broken plugin cannot stop the daemon from using the
others. An unknown name lists the valid ones. A registry is typed by its kind's Protocol, so
mypy checks every built-in against it, and what an entry point loads is checked at run time:
a class with every member of the Protocol, or an error naming the entry point and what it lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


def protocol_members(protocol: type) -> list[str]:
    """The names a class must have to be a ``protocol``: its annotated attributes and methods.

    >>> from typing import ClassVar, Protocol
    >>> class Greeter(Protocol):
    ...     name: ClassVar[str]
    ...     def greet(self) -> str: ...
    >>> protocol_members(Greeter)
    ['greet', 'name']
    """
    own = {name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")}
    return sorted(own | set(getattr(protocol, "__annotations__", {})))


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

    def __init__(self, group: str, builtin: Mapping[str, type[T]], protocol: type[Any] | None = None) -> None:
        self.group = group
        self.protocol = protocol
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
                loaded = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                raise KeyError(f"type {name!r}: plugin {ep.value} failed to load: {exc}") from exc
            cls = self._checked(ep, loaded)
            self._loaded[name] = cls
            return cls
        raise KeyError(f"unknown type {name!r} (valid: {', '.join(self.names())})")

    def _checked(self, ep: EntryPoint, loaded: object) -> type[T]:
        """``loaded`` if it is a class with every member of the registry's Protocol (any class
        when the registry has none)."""
        where = f"type {ep.name!r}: entry point {ep.name} = {ep.value} (group {self.group})"
        kind = self.protocol.__name__ if self.protocol is not None else "plugin"
        if not isinstance(loaded, type):
            raise KeyError(f"{where} is {type(loaded).__name__} {loaded!r}, not a {kind} class")
        members = protocol_members(self.protocol) if self.protocol is not None else []
        missing = [m for m in members if not hasattr(loaded, m)]
        if missing:
            raise KeyError(f"{where}: {loaded.__name__} lacks {', '.join(missing)} (a {kind} has {', '.join(members)})")
        return cast("type[T]", loaded)
