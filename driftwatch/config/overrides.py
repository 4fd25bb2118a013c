"""``DRIFTWATCH_<SECTION>__<KEY>=value`` environment overrides (R38).

Precedence is defaults < file < environment (< command-line flags, which the CLI applies last).
A value is read as a TOML integer, float or boolean when it is one (``20``, ``0.5``, ``true``)
and as a string otherwise; values of secret keys (``url``, ``password`` ...) always stay strings.
Deeper keys chain with more ``__`` (``DRIFTWATCH_ALERTS__SLACK__CHANNEL``). Variables without a
``__`` after the prefix (``DRIFTWATCH_TEST_POSTGRES_URL``) are not overrides and are ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from .problems import Problems, is_secret_key, join

__all__ = ["PREFIX", "apply_overrides", "parse_scalar"]

PREFIX = "DRIFTWATCH_"


def parse_scalar(text: str) -> Any:
    """``text`` as a TOML integer, float or boolean if it is one, else ``text`` itself.

    >>> parse_scalar("20"), parse_scalar("0.25"), parse_scalar("true"), parse_scalar("1d"), parse_scalar("2026-01-01")
    (20, 0.25, True, '1d', '2026-01-01')
    """
    if "\n" in text or "\r" in text:
        return text
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, (bool, int, float)) else text


def apply_overrides(data: dict[str, Any], environ: Mapping[str, str], problems: Problems,
                    sections: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with the environment's overrides applied, each recorded in ``problems.origins``.

    ``sections`` maps each valid top-level name to ``"table"`` or ``"array"``; only tables can be
    overridden. Bad variables are problems named by the variable.
    """
    out = dict(data)
    for var in sorted(environ):
        if not var.startswith(PREFIX) or "__" not in var[len(PREFIX):]:
            continue
        parts = var[len(PREFIX):].lower().split("__")
        if any(not part for part in parts) or len(parts) < 2:
            problems.add(var, f"expected {PREFIX}<SECTION>__<KEY>")
            continue
        section, keys = parts[0], parts[1:]
        if section not in sections:
            problems.add(var, f"unknown section '{section}' (valid: {', '.join(sorted(sections))})")
            continue
        if sections[section] != "table":
            problems.add(var, f"[[{section}]] is an array of tables and cannot be set from the environment")
            continue
        path = ".".join(parts)
        value: Any = environ[var] if is_secret_key(path) else parse_scalar(environ[var])
        table = out
        where = ""
        for key in [section, *keys[:-1]]:
            where = join(where, key)
            current = table.get(key)
            if current is None:
                current = {}
            elif isinstance(current, Mapping):
                current = dict(current)
            else:
                problems.add(var, f"cannot set {path}: {where} is not a table")
                break
            table[key] = current
            table = current
        else:
            table[keys[-1]] = value
            problems.origins[path] = var
    return out
