"""``${VAR}`` interpolation of config strings (R37).

Forms: ``${VAR}`` (an unset variable is a problem, never silently ``""``), ``${VAR:-default}``
(the default when unset or empty), ``${VAR:?message}`` (a problem carrying ``message`` when unset
or empty) and ``$$`` for a literal ``$``. A ``$`` followed by anything else is left as is. It runs
on every string value, in arrays and nested tables too, before any value is checked, so an
interpolated value is validated exactly like a literal one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .problems import Problems, is_secret_key, join

__all__ = ["interpolate", "interpolate_string"]

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate_string(text: str, environ: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """``text`` with its references replaced: ``(value, problems, substituted values)``.

    >>> interpolate_string("${HOME}/data", {"HOME": "/home/ann"})[0]
    '/home/ann/data'
    >>> interpolate_string("${PORT:-5432} costs $$5", {})[0]
    '5432 costs $5'
    >>> interpolate_string("${TOKEN:?set it in .env}", {})[1]
    ['environment variable TOKEN is not set: set it in .env']
    """
    out: list[str] = []
    problems: list[str] = []
    used: list[str] = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        if not text.startswith("${", j):
            out.append("$")
            i = j + 1
            continue
        match = _REFERENCE.match(text, j)
        if match is None:
            problems.append(f"invalid reference at character {j + 1} (use ${{VAR}}, ${{VAR:-default}} "
                            "or ${VAR:?message}; write $$ for a literal $)")
            out.append("${")
            i = j + 2
            continue
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = environ.get(name)
        if op == ":-" and not value:
            value = arg
        elif op == ":?" and not value:
            problems.append(f"environment variable {name} is not set" + (f": {arg}" if arg else ""))
            value = ""
        elif value is None:
            problems.append(f"environment variable {name} is not set "
                            f"(give a default with ${{{name}:-default}})")
            value = ""
        else:
            used.append(value)
        out.append(value)
        i = match.end()
    return "".join(out), problems, used


def interpolate(data: Any, environ: Mapping[str, str], problems: Problems, path: str = "") -> Any:
    """A copy of ``data`` with every string interpolated; problems are recorded at their key path.

    Values substituted into secret keys join ``problems.secrets`` so no message can show them.
    """
    if isinstance(data, Mapping):
        return {key: interpolate(value, environ, problems, join(path, key)) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(value, environ, problems, join(path, i)) for i, value in enumerate(data)]
    if isinstance(data, str) and "$" in data:
        value, found, used = interpolate_string(data, environ)
        for message in found:
            problems.add(path, message)
        if found:
            problems.settled.add(path)
        if is_secret_key(path):
            problems.add_secrets(used)
        return value
    return data
