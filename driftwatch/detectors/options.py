"""Building a detector's nested option tables (``columns.<name>``, ``rules.<metric>``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def nested_tables(value: object, cls: type[T], key: str) -> dict[str, T]:
    """``{name: cls(**table)}`` from a table of tables; every error names ``key.name.field``.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Rule:
    ...     min: float | None = None
    >>> nested_tables({"accuracy": {"min": 0.8}}, Rule, "rules")
    {'accuracy': Rule(min=0.8)}
    >>> nested_tables({"accuracy": {"mni": 0.8}}, Rule, "rules")
    Traceback (most recent call last):
    ...
    ValueError: rules.accuracy.mni: unknown key (valid: min)
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: must be a table, got {value!r}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    out: dict[str, T] = {}
    for name, table in value.items():
        if isinstance(table, cls):
            out[name] = table
            continue
        if not isinstance(table, Mapping):
            raise ValueError(f"{key}.{name}: must be a table, got {table!r}")
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"{key}.{name}.{unknown[0]}: unknown key (valid: {', '.join(sorted(known))})")
        options: dict[str, Any] = dict(table)
        try:
            out[name] = cls(**options)
        except ValueError as exc:
            raise ValueError(f"{key}.{name}.{exc}") from None
    return out
