"""``driftwatch check``: run each monitor once on its latest complete window and store the
results, or compare two files ad hoc; and the running of (monitor, window) pairs that
``demo`` shares."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..errors import ConfigError, StoreError
from .common import EXIT_ALERT, EXIT_OK, EXIT_USAGE, error, needs_attention, parse_time, print_results

if TYPE_CHECKING:
    from ..config import MonitorSettings, Settings
    from ..model import Result, Window


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="run monitors once on their latest window, or compare two files")
    p.add_argument("--config", help="config file: run its monitors and store the results")
    p.add_argument("--monitor", action="append", help="only this monitor (repeatable)")
    p.add_argument("--at", help="take the latest window ending at or before this ISO time (default: now)")
    p.add_argument("--reference", help="ad hoc: reference data file (CSV, Parquet, JSON lines)")
    p.add_argument("--current", help="ad hoc: current data file")
    p.add_argument("--method", help="ad hoc: drift method (default: auto)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument("--all", action="store_true", help="table: also list data-quality figures that are ok")


def run_windows(settings: Settings, plan: Sequence[tuple[MonitorSettings, Window]],
                now: datetime | None = None) -> tuple[list[Result], list[str]]:
    """Run each (monitor, window) of ``plan`` against the configured store, evaluate alerts, and
    send the notifications that are due (what fails stays queued for the daemon's dispatcher)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..alerts.dispatcher import Dispatcher
    from ..alerts.evaluate import AlertContext
    from ..engine import default_owner, run_monitor
    from ..secrets import redact_url
    from ..store import Store

    results: list[Result] = []
    failures: list[str] = []
    store = Store(settings.store.url.reveal())
    alerts = AlertContext(settings.alerts, settings.webhooks)
    try:
        store.create_all()
        for monitor, window in plan:
            try:
                outcome = run_monitor(monitor, window, store=store, options=settings.profile, now=now, alerts=alerts)
            except SQLAlchemyError as exc:  # the store failed mid-run (read-only or full disk, server gone)
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise StoreError(f"store.url {redact_url(settings.store.url)}: cannot store monitor {monitor.name!r} "
                                 f"window {window}: {reason}") from None
            results.extend(outcome.results)
            if outcome.error:
                failures.append(f"monitor {outcome.monitor!r} window {outcome.window}: {outcome.error}")
        dispatcher = Dispatcher(store, settings.channels, settings.webhooks, owner=default_owner())
        try:
            dispatcher.drain()
        finally:
            dispatcher.close()
    finally:
        store.dispose()
    return results, failures


def cmd_check(args: argparse.Namespace) -> int:
    if args.config and (args.reference or args.current):
        error("check: use either --config or --reference/--current, not both")
        return EXIT_USAGE
    if args.config:
        return _check_config(args)
    if not (args.reference and args.current):
        error("check: give --config FILE, or both --reference FILE and --current FILE")
        return EXIT_USAGE
    return _check_files(args)


def _check_config(args: argparse.Namespace) -> int:
    from ..config import load

    settings = load(args.config)
    monitors = list(settings.monitors)
    if args.monitor:
        names = {m.name for m in monitors}
        unknown = [n for n in args.monitor if n not in names]
        if unknown:
            error(f"--monitor: unknown monitor {unknown[0]!r} (configured: {', '.join(sorted(names))})")
            return EXIT_USAGE
        monitors = [m for m in monitors if m.name in args.monitor]
    now = parse_time(args.at) if args.at else datetime.now(timezone.utc)
    plan = []
    for m in monitors:
        latest = _latest(m, now)
        if latest is None:
            continue
        if m.label_delay:  # the window whose labels just became due gets a fresh run
            due = _latest(m, now - m.label_delay)
            if due is not None and due != latest:
                plan.append((m, due))
        plan.append((m, latest))
    results, failures = run_windows(settings, plan, now)
    print_results(results, args.format, args.all)
    for failure in failures:
        error(failure)
    if failures:
        return EXIT_USAGE
    return EXIT_ALERT if needs_attention(results) else EXIT_OK


def _latest(monitor: MonitorSettings, now: datetime) -> Window | None:
    """The newest window of ``monitor`` that is complete (its schedule's delay included) at ``now``."""
    end = monitor.schedule.latest_end(now)
    return monitor.schedule.window_ending(end) if end is not None else None


def _check_files(args: argparse.Namespace) -> int:
    from ..api import check
    from ..connectors import FileConnector

    try:
        reference = FileConnector(path=args.reference).fetch(None, None)
        current = FileConnector(path=args.current).fetch(None, None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    options = {"method": args.method} if args.method else {}
    try:
        results = check(reference, current, **options)
    except ValueError as exc:
        raise ConfigError(f"--method: {exc}") from None
    print_results(results, args.format, args.all)
    return EXIT_ALERT if needs_attention(results) else EXIT_OK


COMMANDS = {"check": cmd_check}
