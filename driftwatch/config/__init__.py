"""TOML config file -> typed, checked ``Settings``; every problem at once, each on one line.

A problem line reads ``FILE[:LINE[:COL]]: key.path: message``, for example::

    driftwatch.toml:14: monitors[1].detectors[0].threshold: must be > 0, got -1
    driftwatch.toml:3:9: invalid TOML: Expected newline or end of document after a statement
    driftwatch.toml: profile.bins: must be >= 2, got 1 (set by DRIFTWATCH_PROFILE__BINS)

Strings may use ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` and ``$$`` (R37);
``DRIFTWATCH_<SECTION>__<KEY>`` overrides a key of a top-level table (R38); values of secret keys
(``url``, ``password``, ``token`` ...) never appear in a problem or a repr (R40).

>>> settings = settings_from_dict({"monitors": [{"name": "m", "window": "1d", "current": {"type": "x"},
...     "reference": {"rolling": 7}}]}, path=Path("/srv/dw/driftwatch.toml"), environ={})
Traceback (most recent call last):
...
driftwatch.errors.ConfigError: /srv/dw/driftwatch.toml: monitors[0].current.type: unknown type 'x' (valid: file, sql)
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .build import build_settings
from .plugins import PluginRegistry
from .problems import KeyLines, Problems, syntax_problem
from .settings import DEFAULT_STORE_URL, LabelsSettings, MonitorSettings, ReferenceSettings, Settings, StoreSettings

__all__ = [
    "DEFAULT_STORE_URL",
    "LabelsSettings",
    "MonitorSettings",
    "ReferenceSettings",
    "Settings",
    "StoreSettings",
    "load",
    "settings_from_dict",
    "validate",
]


def _check(path: str | os.PathLike[str], environ: Mapping[str, str] | None,
           connectors: PluginRegistry | None, detectors: PluginRegistry | None) -> tuple[Settings | None, list[str]]:
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        return None, [f"{file}: cannot read the config file: {exc.strerror or exc}"]
    except UnicodeDecodeError:
        return None, [f"{file}: cannot read the config file: not UTF-8 text"]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [syntax_problem(file, text, str(exc))]
    problems = Problems(file, KeyLines(text))
    settings = build_settings(data, path=Path(file), problems=problems, environ=environ,
                              connectors=connectors, detectors=detectors)
    if settings is not None and problems.cautions:
        settings = dataclasses.replace(settings, warnings=tuple(problems.format_warnings()))
    return settings, problems.format()


def load(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
         connectors: PluginRegistry | None = None, detectors: PluginRegistry | None = None) -> Settings:
    """Read, interpolate, override and check the config file at ``path``.

    ``environ`` defaults to ``os.environ``; ``connectors``/``detectors`` to the registries of
    ``driftwatch.connectors`` and ``driftwatch.detectors``. Raises ``ConfigError`` whose
    ``problems`` list every problem found.
    """
    settings, problems = _check(path, environ, connectors, detectors)
    if settings is None or problems:
        raise ConfigError(problems)
    return settings


def validate(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
             connectors: PluginRegistry | None = None, detectors: PluginRegistry | None = None) -> list[str]:
    """Every problem of the config file at ``path``, one line each; ``[]`` when it is valid."""
    return _check(path, environ, connectors, detectors)[1]


def settings_from_dict(data: Mapping[str, Any], *, path: str | os.PathLike[str],
                       environ: Mapping[str, str] | None = None, connectors: PluginRegistry | None = None,
                       detectors: PluginRegistry | None = None) -> Settings:
    """``Settings`` from an already parsed config, as if read from the file ``path`` (whose
    folder relative paths resolve against). Raises ``ConfigError`` listing every problem."""
    problems = Problems(os.fspath(path))
    settings = build_settings(data, path=Path(path), problems=problems, environ=environ,
                              connectors=connectors, detectors=detectors)
    if settings is None or problems:
        raise ConfigError(problems.format())
    return settings
