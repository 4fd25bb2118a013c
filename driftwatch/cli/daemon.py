"""The long-running commands and the store's upkeep: ``run`` (the daemon), ``serve`` (the web
app alone), ``backfill`` (every window of a range) and ``db upgrade``."""

from __future__ import annotations

import argparse
import gc

from ..errors import ConfigError
from .common import EXIT_OK, EXIT_USAGE, error, parse_time

#: Windows one ``backfill`` runs at most: a century of hourly windows is a mistake, not a plan.
MAX_BACKFILL = 100_000


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=("upgrade",), help="upgrade: apply schema migrations (idempotent)")
    p.add_argument("--config", required=True, help="config file")


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, config, the app) out of the garbage
    collector's reach: a long-running process otherwise rescans them in every full collection,
    a pause of 100+ ms that lands on a random request (the web bench's tail showed it)."""
    gc.collect()
    gc.freeze()


def cmd_run(args: argparse.Namespace) -> int:
    from ..scheduler import Daemon

    daemon = Daemon(args.config, web=not args.no_web, dispatcher=not args.no_dispatcher, host=args.host,
                    port=args.port)
    return daemon.serve_forever(on_started=freeze_startup_objects)


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    from ..config import load
    from ..signals import Signals
    from ..store import Store
    from ..web import create_app
    from ..web.server import WebServer

    settings = load(args.config)
    store = Store(settings.store.url.reveal())
    store.create_all()
    server = WebServer(create_app(store, settings=settings), args.host or settings.web.host,
                       args.port if args.port is not None else settings.web.port)
    noted = Signals(signal.SIGTERM, signal.SIGINT)  # handlers that take no lock: see driftwatch.signals
    server.start()
    freeze_startup_objects()
    while noted.next(timeout=0.5) is None:
        if not server.alive:  # it could not bind its port, say
            error("web server stopped; see the log above")
            return EXIT_USAGE
    server.stop()
    store.dispose()
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..config import load
    from ..engine import execute_run
    from ..runner import Runner
    from ..store import Store

    settings = load(args.config)
    try:
        monitor = settings.monitor(args.monitor)
    except KeyError as exc:
        raise ConfigError(f"--monitor: {exc.args[0]}") from None
    start, end = parse_time(args.start), parse_time(args.end)
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
                error(f"window {window}: {outcome.error}")
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


COMMANDS = {"run": cmd_run, "serve": cmd_serve, "backfill": cmd_backfill, "db": cmd_db}
