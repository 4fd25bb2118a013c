"""The ``[alerts]``, ``[channels.NAME]`` and ``[webhooks.NAME]`` sections, and the checks that
tie them to the rest of the file: every channel a route names is configured (R39), every
monitor a webhook subscription names exists. Split from ``build`` so each stays one screenful of
concerns."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from .alerts import AlertsSettings
from .plugins import build, build_plugin, check_name, toml_type
from .problems import Problems, join

__all__ = ["build_alert_sections", "check_alert_references", "check_timeouts"]


def build_alert_sections(merged: Mapping[str, Any], problems: Problems, base: Path
                         ) -> tuple[AlertsSettings | None, dict[str, object], dict[str, object]]:
    """``[alerts]`` settings and the built channels and webhook subscriptions by name."""
    from ..alerts.channels import REGISTRY as CHANNELS
    from ..alerts.channels.webhook import WebhookSubscription

    alerts = build(AlertsSettings, merged.get("alerts", {}), "alerts", problems)
    channels = named_tables(merged.get("channels", {}), "channels", problems,
                            lambda table, where: build_plugin(CHANNELS, table, where, problems, base_dir=base))
    webhooks = named_tables(merged.get("webhooks", {}), "webhooks", problems,
                            lambda table, where: build(WebhookSubscription, table, where, problems, base_dir=base))
    return alerts, channels, webhooks


def check_alert_references(merged: Mapping[str, Any], channels: Mapping[str, object],
                           webhooks: Mapping[str, object], problems: Problems) -> None:
    """Names used across sections point at something configured."""
    check_routes(merged.get("alerts"), "alerts", channels, problems)
    raw_monitors = merged.get("monitors")
    raw_monitors = raw_monitors if isinstance(raw_monitors, list) else []
    for i, table in enumerate(raw_monitors):
        if isinstance(table, Mapping):
            check_routes(table.get("alerts"), join(join("monitors", i), "alerts"), channels, problems)
    check_subscriptions(webhooks, {t["name"] for t in raw_monitors
                                   if isinstance(t, Mapping) and isinstance(t.get("name"), str)}, problems)


def named_tables(value: object, path: str, problems: Problems,
                 build_one: Callable[[object, str], object | None]) -> dict[str, object]:
    """``[SECTION.NAME]`` tables built one by one; names checked like monitor names."""
    if not isinstance(value, Mapping):
        problems.add(path, f"must be a table of named tables ([{path}.NAME]), got {toml_type(value)}")
        return {}
    out: dict[str, object] = {}
    for name, table in value.items():
        where = join(path, str(name))
        if check_name(name, where, problems) is None:
            continue
        built = build_one(table, where)
        if built is not None:
            out[name] = built
    return out


def check_routes(table: object, path: str, channels: Mapping[str, object], problems: Problems) -> None:
    """Every channel named in ``table``'s ``channels`` or ``routes[i].channels`` (the raw
    ``[alerts]`` or ``[monitors.alerts]`` table at ``path``) must be configured (R39)."""
    if not isinstance(table, Mapping):
        return
    configured = ", ".join(sorted(channels)) or "none; add a [channels.NAME] table"
    lists: list[tuple[str, object]] = [(join(path, "channels"), table.get("channels"))]
    routes = table.get("routes")
    if isinstance(routes, list):
        lists += [(join(join(join(path, "routes"), i), "channels"), route.get("channels"))
                  for i, route in enumerate(routes) if isinstance(route, Mapping)]
    for where, names in lists:
        if not isinstance(names, list):
            continue  # a wrong type is reported when the policy is built
        for i, name in enumerate(names):
            if isinstance(name, str) and name not in channels:
                problems.add(join(where, i), f"unknown channel {name!r} (configured: {configured})")


def check_subscriptions(webhooks: Mapping[str, object], names: Collection[str], problems: Problems) -> None:
    """Every monitor a subscription names must be configured (a monitor with other problems
    still counts as configured: its own problems are reported where they are)."""
    for sub_name, sub in webhooks.items():
        for monitor in getattr(sub, "monitors", ()):
            if monitor not in names:
                problems.add(join(join("webhooks", sub_name), "monitors"),
                             f"unknown monitor {monitor!r} (configured: {', '.join(sorted(names))})")


def check_timeouts(channels: Mapping[str, object], webhooks: Mapping[str, object], lease: object,
                   problems: Problems) -> None:
    """Warn where a send may outlive its outbox lease: another replica could then send it again."""
    if not isinstance(lease, timedelta):
        return
    for section, targets in (("channels", channels), ("webhooks", webhooks)):
        for name, target in targets.items():
            timeout = getattr(target, "timeout", None)
            if isinstance(timeout, (int, float)) and timeout >= lease.total_seconds():
                problems.warn(f"{section}.{name}.timeout", f"{timeout:g} s is not shorter than daemon.lease "
                              f"({lease}): another replica may send a message again while it is being sent")
