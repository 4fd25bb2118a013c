"""Build a frozen dataclass from a TOML table: the one way connectors, detectors, schemas and
profile options are configured.

The dataclass fields are the config keys. Every unknown key is a problem that lists the valid
ones; every missing required field is a problem; a ``ValueError``/``TypeError`` from the class's
``__post_init__`` whose message starts with ``field:`` (or ``field.sub.key:``) becomes a problem
at ``<table path>.field``, so ``DriftDetector``'s ``"alpha: must be in (0, 1), got 2"`` reads
``monitors[0].detectors[0].alpha: must be in (0, 1), got 2``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..model import name_problem
from ..secrets import Secret
from .problems import Problems, join

__all__ = ["PluginRegistry", "build", "build_plugin", "check_keys", "check_name", "toml_type"]

T = TypeVar("T")
_FIELD_HEAD = re.compile(r"[.\[]")


class PluginRegistry(Protocol):
    """What ``build_plugin`` needs of a ``driftwatch.registry.Registry``."""

    def names(self) -> list[str]: ...

    def get(self, name: str) -> type[Any]: ...


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for messages that must not show the value.

    >>> toml_type(1), toml_type("x"), toml_type([1]), toml_type({}), toml_type(True)
    ('integer', 'string', 'array', 'table', 'boolean')
    """
    if isinstance(value, bool):
        return "boolean"
    for kind, name in ((int, "integer"), (float, "float"), (str, "string"), (list, "array"),
                       (Mapping, "table"), (datetime, "datetime"), (date, "date"), (time, "time")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _locate(path: str, message: str, valid: Collection[str]) -> tuple[str, str]:
    """Split ``"field.sub: message"`` into ``(path.field.sub, message)`` when ``field`` is a key."""
    head, sep, rest = message.partition(": ")
    if sep and head and _FIELD_HEAD.split(head, maxsplit=1)[0] in valid:
        return f"{path}.{head}" if path else head, rest
    return path, message


def check_keys(table: Mapping[str, Any], valid: Collection[str], path: str, problems: Problems) -> bool:
    """Record one problem per key of ``table`` not in ``valid``; True when there were none."""
    listed = ", ".join(sorted(valid))
    ok = True
    for key in table:
        if key not in valid:
            problems.add(join(path, str(key)), f"unknown key (valid: {listed})")
            ok = False
    return ok


_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def check_name(value: object, path: str, problems: Problems) -> str | None:
    """A monitor, channel or webhook name: it appears in URLs, metrics labels and log lines, so
    only letters, digits, ``_``, ``-`` and ``.``. None after recording the problem."""
    if value is None:
        problems.add(path, "missing required key")
    elif not isinstance(value, str):
        problems.add(path, f"must be a string, got {toml_type(value)}")
    elif not _NAME.fullmatch(value):
        problems.add(path, f"must be letters, digits, '_', '-' or '.' ([A-Za-z0-9_.-]+), got {value!r}")
    elif (problem := name_problem(value)) is not None:
        problems.add(path, problem)
    else:
        return value
    return None


def _wants_secret(spec: dataclasses.Field[Any]) -> bool:
    return "Secret" in str(spec.type)


def build(cls: type[T], table: object, path: str, problems: Problems, *,
          base_dir: Path | None = None, reserved: Collection[str] = ()) -> T | None:
    """An instance of the dataclass ``cls`` from ``table``, or None after recording problems.

    ``reserved`` keys belong to the caller (``type``, a reference's ``start``/``end``): they are
    listed as valid but not passed on. Fields annotated ``Secret`` get string values wrapped. If the
    instance has ``with_base_dir(base)`` it is called with ``base_dir`` (relative paths resolve
    against the config file's folder) and its result is returned; if it has ``config_warnings()``,
    each ``"key: message"`` it returns is recorded as a warning at that key.

    >>> from driftwatch.profiling import ProfileOptions
    >>> problems = Problems("c.toml")
    >>> build(ProfileOptions, {"bins": 20}, "profile", problems)
    ProfileOptions(bins=20, max_sample=250000, max_categories=10000)
    >>> build(ProfileOptions, {"bins": 1, "colour": "red"}, "profile", problems)
    >>> problems.format()  # doctest: +NORMALIZE_WHITESPACE
    ['c.toml: profile.colour: unknown key (valid: bins, max_categories, max_sample)',
     'c.toml: profile.bins: must be >= 2, got 1']
    """
    if not isinstance(table, Mapping):
        problems.add(path, f"must be a table, got {toml_type(table)}")
        return None
    if not dataclasses.is_dataclass(cls):
        problems.add(path, f"{cls.__name__} is not a dataclass and cannot be configured")
        return None
    specs = [spec for spec in dataclasses.fields(cls) if spec.init]
    valid = {spec.name for spec in specs}
    known = check_keys(table, valid | set(reserved), path, problems)
    ok = True
    for spec in specs:
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if required and spec.name not in table:
            problems.add(join(path, spec.name), "missing required key")
            ok = False
    if not ok:
        return None
    # Unknown keys do not stop the build: the known ones are still checked, so every problem shows.
    kwargs: dict[str, Any] = {key: value for key, value in table.items() if key in valid}
    for spec in specs:
        if spec.name in kwargs and isinstance(kwargs[spec.name], str) and _wants_secret(spec):
            kwargs[spec.name] = Secret(kwargs[spec.name])
    try:
        built: T = cls(**kwargs)
        hook = getattr(built, "with_base_dir", None)
        if base_dir is not None and callable(hook):
            rebased = hook(base_dir)
            built = built if rebased is None else rebased
    except (ValueError, TypeError) as exc:
        problems.add(*_locate(path, str(exc), valid))
        return None
    except Exception as exc:  # a plugin's own bug still becomes one problem line, not a traceback
        problems.add(path, f"{type(exc).__name__}: {exc}")
        return None
    hook = getattr(built, "config_warnings", None)
    for warning in hook() if callable(hook) else ():  # deprecated keys: "key: message"
        problems.warn(*_locate(path, str(warning), valid))
    return built if known else None


def build_plugin(registry: PluginRegistry, table: object, path: str, problems: Problems, *,
                 base_dir: Path | None = None, reserved: Collection[str] = ()) -> object | None:
    """The plugin class named by ``table["type"]`` in ``registry``, built by ``build``."""
    if not isinstance(table, Mapping):
        problems.add(path, f"must be a table, got {toml_type(table)}")
        return None
    name = table.get("type")
    where = join(path, "type")
    if name is None:
        problems.add(where, f"missing required key (valid: {', '.join(registry.names())})")
        return None
    if not isinstance(name, str):
        problems.add(where, f"must be a string, got {toml_type(name)}")
        return None
    try:
        cls = registry.get(name)
    except KeyError as exc:
        message = str(exc.args[0]) if exc.args else f"unknown type {name!r}"
        problems.add(where, message.removeprefix(f"type {name!r}: "))
        return None
    result: object | None = build(cls, table, path, problems, base_dir=base_dir, reserved=("type", *reserved))
    return result
