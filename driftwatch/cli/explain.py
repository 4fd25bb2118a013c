"""``driftwatch explain``: the SQL a monitor's window would run in its database, before it runs.

It says which path the monitor's latest complete window takes
(profiled in the database, or pulled and why) and prints each statement compiled for the
database, with its bound parameters listed apart (they are never in the SQL). It reads the
database's column types and the reference profile (from the store's cache, as a run does) and
runs nothing against the window. Exit 0; 2 for bad input.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from ..errors import ConfigError


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explain", help="print the SQL a monitor's window would run in its database")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--monitor", required=True, help="the monitor")
    p.add_argument("--at", help="explain the latest window complete at this time (default: now)")


def cmd_explain(args: argparse.Namespace) -> int:
    from ..config import load
    from ..engine import load_reference
    from ..pushdown import PushdownUnavailable
    from ..pushdown.run import rows_needed
    from ..store import Store
    from .common import parse_time

    settings = load(args.config)
    names = [m.name for m in settings.monitors]
    if args.monitor not in names:
        raise ConfigError(f"--monitor: unknown monitor {args.monitor!r} (configured: {', '.join(sorted(names))})")
    monitor = settings.monitor(args.monitor)
    now = parse_time(args.at) if args.at else datetime.now(timezone.utc)
    end = monitor.schedule.latest_end(now)
    if end is None:
        raise ConfigError(f"--at: no complete window of monitor {monitor.name!r} ends by {now.isoformat()}")
    window = monitor.schedule.window_ending(end)
    connector = monitor.current
    mode = getattr(connector, "pushdown", None)
    explain = getattr(connector, "explain_window", None)
    print(f"monitor {monitor.name!r} window {window}")
    why = rows_needed(monitor)
    if mode is None or explain is None:
        print(f"rows pulled: the {type(connector).name} connector reads rows")
        return 0
    if mode == "off" or why is not None:
        print("rows pulled: " + ('pushdown = "off"' if mode == "off" else str(why)))
        return 0
    with Store(settings.store.url.reveal()) as store:
        store.create_all()
        reference = load_reference(monitor, window, store, settings.profile, now)
    needed: set[str] = set()
    for detector in monitor.detectors:
        needed |= detector.required_columns(reference.schema)
    try:
        found = explain(window, reference, sorted(needed), max_sorted=settings.profile.max_sample)
    except PushdownUnavailable as exc:
        verdict = "the run fails" if mode == "require" else "rows pulled"
        print(f"{verdict}: {exc}")
        return 0
    print(f"profiled in the database ({len(found)} statements)")
    for what, sql, params in found:
        print(f"\n-- {what}\n{sql};")
        if params:
            print("-- parameters: " + ", ".join(f"{name} = {value!r}" for name, value in params.items()))
    return 0


COMMANDS = {"explain": cmd_explain}
