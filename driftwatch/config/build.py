"""From parsed TOML (a dict) to ``Settings``: interpolate, apply environment overrides, check
every top-level section, and build the plugins. The ``[[monitors]]`` tables are built by
``build_monitors`` and the alert sections by ``build_alerts``. Every problem is recorded; nothing
stops at the first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..profiling import ProfileOptions
from ..secrets import Secret
from .build_alerts import build_alert_sections, check_alert_references, check_timeouts
from .build_monitors import MonitorBuilder
from .daemon import DaemonSettings, MetricsSettings, WebSettings
from .interpolate import interpolate
from .overrides import apply_overrides
from .plugins import PluginRegistry, build, check_keys, toml_type
from .problems import Problems, secret_values
from .settings import DEFAULT_STORE_URL, Settings, StoreSettings

__all__ = ["SECTIONS", "build_settings", "resolve_sqlite_url"]

#: The valid top-level names and what they hold.
SECTIONS: dict[str, str] = {"store": "table", "profile": "table", "daemon": "table", "web": "table",
                             "alerts": "table", "channels": "table", "webhooks": "table", "metrics": "table",
                             "monitors": "array"}
STORE_KEYS = ("url",)

_URL_HELP = "expected e.g. sqlite:///driftwatch.db or postgresql+psycopg://user@host/db"


def resolve_sqlite_url(url: str, base: Path) -> str:
    """``url`` with a relative SQLite database path made absolute against ``base``.

    In-memory databases, absolute paths, ``file:`` URIs and other databases are unchanged;
    ``ValueError`` when ``url`` is not a database URL at all (the message never shows it).

    >>> resolve_sqlite_url("sqlite:///data/dw.db", Path("/srv/dw"))
    'sqlite:////srv/dw/data/dw.db'
    >>> resolve_sqlite_url("sqlite:///:memory:", Path("/srv")), resolve_sqlite_url("sqlite:////tmp/x.db", Path("/srv"))
    ('sqlite:///:memory:', 'sqlite:////tmp/x.db')
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        raise ValueError(f"not a valid database URL ({_URL_HELP})") from None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(base / database)).render_as_string(hide_password=False)


def build_store(table: object, problems: Problems, base: Path) -> StoreSettings | None:
    """The ``[store]`` section, a relative SQLite path made absolute against ``base``."""
    if not isinstance(table, Mapping):
        problems.add("store", f"must be a table, got {toml_type(table)}")
        return None
    check_keys(table, STORE_KEYS, "store", problems)
    url = table.get("url", DEFAULT_STORE_URL)
    if not isinstance(url, str):
        problems.add("store.url", f"must be a string, got {toml_type(url)}")
        return None
    try:
        return StoreSettings(url=Secret(resolve_sqlite_url(url, base)))
    except ValueError as exc:
        problems.add("store.url", str(exc))
        return None


def build_settings(data: Mapping[str, Any], *, path: Path, problems: Problems,
                   environ: Mapping[str, str] | None = None, connectors: PluginRegistry | None = None,
                   detectors: PluginRegistry | None = None) -> Settings | None:
    """``Settings`` from parsed TOML, or None with every problem recorded in ``problems``.

    Order: ``${VAR}`` interpolation of the file's strings, then ``DRIFTWATCH_*`` overrides, then
    the checks. ``path`` is the config file; its folder is the base of relative paths.
    """
    environ = os.environ if environ is None else environ
    merged = interpolate(dict(data), environ, problems)
    merged = apply_overrides(merged, environ, problems, SECTIONS)
    problems.add_secrets(secret_values(merged))
    path = Path(os.path.abspath(path))
    builder = MonitorBuilder(problems, path.parent, connectors, detectors)
    for key, value in merged.items():
        if key not in SECTIONS:
            kind = "section" if isinstance(value, (Mapping, list)) else "key"
            problems.add(key, f"unknown {kind} (valid: {', '.join(sorted(SECTIONS))})")
    alerts, channels, webhooks = build_alert_sections(merged, problems, builder.base)
    if alerts is not None:
        builder.alerts = alerts
    store = build_store(merged.get("store", {}), problems, builder.base)
    profile = build(ProfileOptions, merged.get("profile", {}), "profile", problems)
    daemon = build(DaemonSettings, merged.get("daemon", {}), "daemon", problems)
    web = build(WebSettings, merged.get("web", {}), "web", problems)
    metrics = build(MetricsSettings, merged.get("metrics", {}), "metrics", problems)
    if not merged:  # an empty file (a failed copy, a wrong path in a template) is no config
        problems.add("", "the file is empty: a config needs at least one [[monitors]] table "
                     "(driftwatch init writes an example)")
    elif not merged.get("monitors"):
        problems.warn("monitors", "no monitor configured: nothing will be watched")
    monitors = builder.monitors(merged.get("monitors", []))
    check_alert_references(merged, channels, webhooks, problems)
    if daemon is not None:
        check_timeouts(channels, webhooks, daemon.lease, problems)
    if problems or store is None or profile is None or daemon is None or web is None or alerts is None \
            or metrics is None:
        return None
    return Settings(path=path, store=store, profile=profile, monitors=monitors, daemon=daemon, web=web,
                    alerts=alerts, channels=channels, webhooks=webhooks, metrics=metrics)
