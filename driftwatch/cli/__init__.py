"""The ``driftwatch`` command: init, validate, check, demo, run, serve, backfill, silence, outbox,
calibrate, explain, report, db.

Exit status: 0 nothing at alert level, 1 at least one result at alert level (``check``),
2 bad usage, bad config or unreadable data — always with one line per problem on stderr and
no traceback.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__, logs
from ..errors import ConfigError, DriftwatchError, StoreError
from .alerts import cmd_outbox, cmd_silence
from .calibrate import add_parser as add_calibrate_parser
from .calibrate import cmd_calibrate, window_warnings
from .explain import add_parser as add_explain_parser
from .explain import cmd_explain
from .report import add_parser as add_report_parser
from .report import cmd_report

if TYPE_CHECKING:
    from ..config import MonitorSettings, Settings
    from ..model import Result, Window

log = logging.getLogger("driftwatch")

EXIT_OK, EXIT_ALERT, EXIT_USAGE = 0, 1, 2
#: Windows one ``backfill`` runs at most: a century of hourly windows is a mistake, not a plan.
MAX_BACKFILL = 100_000
#: Daily windows ``demo`` writes at most (a year).
MAX_DEMO_DAYS = 366


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftwatch", description="Watch ML models in production.")
    parser.add_argument("--version", action="version", version=f"driftwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as readable text (default) or one JSON object per line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="write an example config file")
    p.add_argument("path", nargs="?", default="config.toml", help="where to write it (default: config.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = sub.add_parser("validate", help="check a config file and report every problem")
    p.add_argument("path", nargs="?", help="the config file")
    p.add_argument("--config", dest="config", help="the config file (same as the positional argument)")

    p = sub.add_parser("check", help="run monitors once on their latest window, or compare two files")
    p.add_argument("--config", help="config file: run its monitors and store the results")
    p.add_argument("--monitor", action="append", help="only this monitor (repeatable)")
    p.add_argument("--at", help="take the latest window ending at or before this ISO time (default: now)")
    p.add_argument("--reference", help="ad hoc: reference data file (CSV, Parquet, JSON lines)")
    p.add_argument("--current", help="ad hoc: current data file")
    p.add_argument("--method", help="ad hoc: drift method (default: auto)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument("--all", action="store_true", help="table: also list data-quality figures that are ok")

    p = sub.add_parser("run", help="the daemon: scheduled monitors, catch-up, web health endpoints")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--no-web", action="store_true", help="do not serve the web app in this process")
    p.add_argument("--no-dispatcher", action="store_true",
                   help="do not send queued notifications from this process (another replica does)")
    p.add_argument("--host", help="web address (default: web.host)")
    p.add_argument("--port", type=int, help="web port (default: web.port)")

    p = sub.add_parser("serve", help="only the web app (no scheduler)")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--host", help="web address (default: web.host)")
    p.add_argument("--port", type=int, help="web port (default: web.port)")

    p = sub.add_parser("backfill", help="run every window of a monitor in a date range")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--monitor", required=True, help="the monitor")
    p.add_argument("--from", dest="start", required=True, help="first window start (ISO date/time, UTC)")
    p.add_argument("--to", dest="end", required=True, help="last window end (ISO date/time, UTC)")
    p.add_argument("--force", action="store_true", help="also rerun windows that already succeeded")

    p = sub.add_parser("silence", help="silence alerts for a while, list silences, or end one")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--monitor", help="the monitor to silence (required to create one)")
    p.add_argument("--detector", help="only this detector's alerts")
    p.add_argument("--feature", help="only this feature's alerts ('' for data-set level)")
    p.add_argument("--metric", help="only this metric's alerts")
    p.add_argument("--for", dest="duration", help="how long, e.g. 4h or 2d")
    p.add_argument("--reason", help="why (shown on the page and in the list)")
    p.add_argument("--by", default=None, help="who (default: $USER)")
    p.add_argument("--list", action="store_true", help="list silences that are pending or active")
    p.add_argument("--expire", type=int, metavar="ID", help="end the silence with this id now")

    p = sub.add_parser("outbox", help="queued notifications: list them, or send one again")
    p.add_argument("action", choices=("list", "retry"), help="list: newest first; retry: queue ID again now")
    p.add_argument("id", nargs="?", type=int, help="retry: the outbox id")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--state", choices=("pending", "delivered", "dead"), help="list: only rows in this state")
    p.add_argument("--limit", type=int, default=50, help="list: at most this many rows (default: 50)")

    add_calibrate_parser(sub)
    add_explain_parser(sub)
    add_report_parser(sub)

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=("upgrade",), help="upgrade: apply schema migrations (idempotent)")
    p.add_argument("--config", required=True, help="config file")

    p = sub.add_parser("demo", help="write seeded demo data and a config, run it over every window")
    p.add_argument("--dir", default="driftwatch-demo", help="folder to write into (default: ./driftwatch-demo)")
    p.add_argument("--days", type=int, default=7, help="daily windows to generate (default: 7)")
    p.add_argument("--all", action="store_true", help="print every figure of every window, not the summary")
    return parser


def _error(message: str) -> None:
    for line in message.splitlines() or [""]:
        print(f"driftwatch: error: {line}", file=sys.stderr)


def _print_results(results: Sequence[Result], fmt: str, everything: bool) -> None:
    from ..output import json_lines, shown, table

    if fmt == "json":
        sys.stdout.write(json_lines(results))
    elif results:
        print(table(shown(results, everything=everything)))


def needs_attention(results: Sequence[Result]) -> bool:
    """Exit status 1: a result at alert level, or one that could not be computed (``error``: a
    column of the wrong type, a method that does not apply)."""
    return any(r.status in ("alert", "error") for r in results)


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--at: not an ISO date/time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cmd_init(args: argparse.Namespace) -> int:
    from ..demo import EXAMPLE_CONFIG

    target = Path(args.path)
    if target.exists() and not args.force:
        _error(f"{target}: exists (use --force to overwrite)")
        return EXIT_USAGE
    shutil.copyfile(EXAMPLE_CONFIG, target)
    print(f"wrote {target}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from ..config import load

    path = args.config or args.path
    if not path:
        _error("validate: give the config file (driftwatch validate config.toml)")
        return EXIT_USAGE
    settings = load(path)  # a ConfigError lists every problem, one per line (see main)
    for warning in (*settings.warnings, *window_warnings(settings)):
        print(warning, file=sys.stderr)
    print(f"{path}: ok ({len(settings.monitors)} monitor{'s' if len(settings.monitors) != 1 else ''})")
    return EXIT_OK


def _run_windows(settings: Settings, plan: Sequence[tuple[MonitorSettings, Window]],
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
        _error("check: use either --config or --reference/--current, not both")
        return EXIT_USAGE
    if args.config:
        return _check_config(args)
    if not (args.reference and args.current):
        _error("check: give --config FILE, or both --reference FILE and --current FILE")
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
            _error(f"--monitor: unknown monitor {unknown[0]!r} (configured: {', '.join(sorted(names))})")
            return EXIT_USAGE
        monitors = [m for m in monitors if m.name in args.monitor]
    now = _parse_time(args.at) if args.at else datetime.now(timezone.utc)
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
    results, failures = _run_windows(settings, plan, now)
    _print_results(results, args.format, args.all)
    for failure in failures:
        _error(failure)
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
    _print_results(results, args.format, args.all)
    return EXIT_ALERT if needs_attention(results) else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import demo
    from ..alerts.channels.log import LogChannel
    from ..config import load
    from ..demo.summary import summary

    if not 1 <= args.days <= MAX_DEMO_DAYS:
        _error(f"--days: must be between 1 and {MAX_DEMO_DAYS}")
        return EXIT_USAGE
    written = demo.write(args.dir, days=args.days)
    settings = load(written.config)
    plan = [(m, w) for w in written.windows for m in settings.monitors]
    # The summary counts the alert messages; their full text (--all shows it) would bury it.
    quieted = [] if args.all else [logging.getLogger(c.logger) for c in settings.channels.values()
                                   if isinstance(c, LogChannel)]
    levels = [(logger, logger.level) for logger in quieted]
    for logger in quieted:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        results, failures = _run_windows(settings, plan)
    finally:
        for logger, level in levels:
            logger.setLevel(level)
    run_ids = {r.run_id for r in results if r.run_id is not None}
    if args.all:
        _print_results(results, "table", True)
    else:
        print(summary(results, _messages(settings, run_ids)))
    for failure in failures:
        _error(failure)
    print(f"\n{len(written.windows)} windows checked; results stored in {written.directory / 'driftwatch.db'}.\n"
          + ("" if args.all else "Every figure and the alert messages: driftwatch demo --all --dir "
                                 f"{written.directory}\n")
          + f"Reports: driftwatch serve --config {written.config}, then open "
          f"http://{settings.web.host}:{settings.web.port}/\n"
          + (f"The last run as one file: driftwatch report --config {written.config} --run {max(run_ids)} "
             "-o report.html" if run_ids else ""))
    return EXIT_USAGE if failures else EXIT_OK


def _messages(settings: Settings, run_ids: set[int]) -> dict[int, int]:
    """The alert messages each of ``run_ids`` queued, read back from the store."""
    from ..store import Store
    from ..store.outbox import messages_by_run

    store = Store(settings.store.url.reveal())
    try:
        return messages_by_run(store.engine, run_ids)
    finally:
        store.dispose()


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, config, the app) out of the garbage
    collector's reach: a long-running process otherwise rescans them in every full collection,
    a pause of 100+ ms that lands on a random request (the web bench's tail showed it)."""
    gc.collect()
    gc.freeze()


def cmd_run(args: argparse.Namespace) -> int:
    from ..scheduler import Daemon

    daemon = Daemon(args.config, web=not args.no_web, dispatcher=not args.no_dispatcher, host=args.host,
                    port=args.port)
    return daemon.serve_forever(on_started=_freeze_startup_objects)


def cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ..config import load
    from ..store import Store
    from ..web import create_app
    from ..web.server import WebServer

    settings = load(args.config)
    store = Store(settings.store.url.reveal())
    store.create_all()
    server = WebServer(create_app(store, settings=settings), args.host or settings.web.host,
                       args.port if args.port is not None else settings.web.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    _freeze_startup_objects()
    while not stop.wait(0.5):
        if not server.alive:  # it could not bind its port, say
            _error("web server stopped; see the log above")
            return EXIT_USAGE
    server.stop()
    store.dispose()
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..config import load
    from ..engine import execute_run
    from ..scheduler import Runner
    from ..store import Store

    settings = load(args.config)
    try:
        monitor = settings.monitor(args.monitor)
    except KeyError as exc:
        raise ConfigError(f"--monitor: {exc.args[0]}") from None
    start, end = _parse_time(args.start), _parse_time(args.end)
    if end <= start:
        raise ConfigError("--to: must be after --from")
    if (end - start) / monitor.schedule.period > MAX_BACKFILL:
        raise ConfigError(f"--from/--to: the range holds more than {MAX_BACKFILL:,} windows of "
                          f"{monitor.name!r}; backfill it in parts")
    store = Store(settings.store.url.reveal())
    try:
        store.create_all()
        runner = Runner(store, settings)
        try:
            windows = [w for w in monitor.schedule.windows_between(start, end) if w.start >= start]
        except OverflowError:
            raise ConfigError("--from/--to: too near the ends of the calendar to compute windows") from None
        done = set() if args.force else store.succeeded_windows(monitor.name, start, end)
        todo = [w for w in windows if (w.start, w.end) not in done]
        failed = 0
        for window in tqdm(todo, desc=f"backfill {monitor.name}", unit="window", disable=None):
            if args.force:
                run_id = store.start_run(monitor.name, window, owner=runner.owner, rerun=True)
                outcome = execute_run(monitor, window, run_id, store=store, options=settings.profile) \
                    if run_id is not None else None
            else:
                outcome = runner.run_window(monitor, window, retry=True, alerts=False)
            if outcome is not None and outcome.status == "failed":
                failed += 1
                _error(f"window {window}: {outcome.error}")
        print(f"{len(todo)} window(s) run, {len(windows) - len(todo)} already succeeded, {failed} failed")
    finally:
        store.dispose()
    return EXIT_USAGE if failed else EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from ..config import load
    from ..store.migrate import current, upgrade

    settings = load(args.config)
    url = settings.store.url.reveal()
    upgrade(url)
    print(f"database at revision {current(url)}")
    return EXIT_OK


COMMANDS = {"init": cmd_init, "validate": cmd_validate, "check": cmd_check, "demo": cmd_demo, "run": cmd_run,
            "serve": cmd_serve, "backfill": cmd_backfill, "silence": cmd_silence, "outbox": cmd_outbox,
            "calibrate": cmd_calibrate, "db": cmd_db,
            "explain": cmd_explain, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported once the arguments parse, so that --help and --version do without SQLAlchemy.
    from sqlalchemy.exc import SQLAlchemyError

    default = logging.INFO if args.command in ("run", "serve") else logging.WARNING
    level = [default, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logs.setup(level, args.log_format)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except DriftwatchError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except SQLAlchemyError as exc:  # the store went away mid-command
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _error(f"store: {reason}")
        return EXIT_USAGE
    except OSError as exc:  # a path the user gave cannot be written or read
        where = exc.filename if exc.filename is not None else ""
        _error(f"{where}: {exc.strerror or exc}" if where else str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
