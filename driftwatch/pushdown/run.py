"""Which path a run takes to its current window: profiled where it lives, or pulled.

A connector with a ``pushdown`` setting and a ``profile_window`` method (the SQL connector;
the file connector, whose ``engine`` sets it, through DuckDB) profiles the window where it
lives when every detector of the monitor reads only profiles (drift, data quality) and no
labels are joined to the rows; otherwise the rows are pulled.
``prefer`` pulls when the database cannot cut or read the window exactly (the log says why),
``require`` fails the run instead, ``off`` always pulls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..detectors import CurrentData
from ..errors import ConnectorError
from ..model import Window
from ..profiling import Profile, ProfileOptions
from . import PushdownUnavailable

if TYPE_CHECKING:
    from ..config import MonitorSettings

__all__ = ["pushed_down", "pushed_reference", "rows_needed"]

log = logging.getLogger("driftwatch.pushdown")


def rows_needed(monitor: MonitorSettings) -> str | None:
    """Why ``monitor`` needs its window's rows, or None when profiles will do."""
    if monitor.labels is not None:
        return "labels are joined to the rows"
    if monitor.segments is not None:
        return "segments split the window's rows"
    for detector in monitor.detectors:
        if not getattr(detector, "profiles_only", False):
            return f"detector {type(detector).name!r} reads rows"
    return None


def pushed_down(monitor: MonitorSettings, window: Window, reference: Profile, columns: Sequence[str],
                options: ProfileOptions, context: Mapping[str, Any]) -> CurrentData | None:
    """The window profiled by its database, or None: pull it (see the module docstring)."""
    connector = monitor.current
    mode = getattr(connector, "pushdown", "off")
    profile_window = getattr(connector, "profile_window", None)
    if mode == "off" or profile_window is None:
        return None
    why = rows_needed(monitor)
    try:
        if why is not None:
            raise PushdownUnavailable(why)
        found = profile_window(window, reference, columns, max_sorted=options.max_sample)
    except PushdownUnavailable as exc:
        if mode == "require":
            raise ConnectorError(f"monitor {monitor.name!r}: pushdown = \"require\", but {exc}") from None
        log.log(logging.DEBUG if exc.quiet else logging.INFO,
                "monitor %s window %s: rows pulled, not profiled in the database: %s", monitor.name, window, exc)
        return None
    log.info("monitor %s window %s: profiled in the database (%d rows)", monitor.name, window, found.n_rows)
    return CurrentData.profiled(reference, found.n_rows, found.profiles, found.dtypes, context=context)


def pushed_reference(monitor: MonitorSettings, windows: Sequence[Window | None],
                     options: ProfileOptions, *, joint_rows: int = 0) -> Profile | None:
    """The reference profile computed by the database that holds it, or None: read its rows.

    As for a window, by the reference connector's ``pushdown``; the rows are read when the
    schema is inferred from them or names a target (the reference's outcomes are rows too).
    """
    connector = monitor.reference.connector or monitor.current
    mode = getattr(connector, "pushdown", "off")
    profile_reference = getattr(connector, "profile_reference", None)
    if mode == "off" or profile_reference is None:
        return None
    schema = monitor.schema
    try:
        if schema is None:
            raise PushdownUnavailable("the schema is inferred from the rows")
        if schema.target is not None:
            raise PushdownUnavailable("the reference's outcomes (schema.target) are read from its rows")
        if joint_rows:
            raise PushdownUnavailable("a multivariate detector compares the reference's rows")
        if monitor.segments is not None:
            raise PushdownUnavailable("segments split the reference's rows")
        built: Profile = profile_reference(windows, schema, options)
        if built.n_rows == 0:
            raise PushdownUnavailable("no reference rows (read them to say so)", quiet=True)
    except PushdownUnavailable as exc:
        if mode == "require":
            raise ConnectorError(f"monitor {monitor.name!r} reference: pushdown = \"require\", but {exc}") from None
        log.log(logging.DEBUG if exc.quiet else logging.INFO,
                "monitor %s reference: rows pulled, not profiled in the database: %s", monitor.name, exc)
        return None
    log.info("monitor %s reference: profiled in the database (%d rows)", monitor.name, built.n_rows)
    return built
