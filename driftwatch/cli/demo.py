"""``driftwatch demo``: write seeded data and a config, run the monitor over every window, and
print one line per window (``--all``: every figure) and where to look next."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from .check import run_windows
from .common import EXIT_OK, EXIT_USAGE, error, print_results

if TYPE_CHECKING:
    from ..config import Settings

#: Daily windows ``demo`` writes at most (a year).
MAX_DEMO_DAYS = 366


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="write seeded demo data and a config, run it over every window")
    p.add_argument("--dir", default="driftwatch-demo", help="folder to write into (default: ./driftwatch-demo)")
    p.add_argument("--days", type=int, default=7, help="daily windows to generate (default: 7)")
    p.add_argument("--all", action="store_true", help="print every figure of every window, not the summary")


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import demo
    from ..alerts.channels.log import LogChannel
    from ..config import load
    from ..demo.summary import summary

    if not 1 <= args.days <= MAX_DEMO_DAYS:
        error(f"--days: must be between 1 and {MAX_DEMO_DAYS}")
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
        results, failures = run_windows(settings, plan)
    finally:
        for logger, level in levels:
            logger.setLevel(level)
    run_ids = {r.run_id for r in results if r.run_id is not None}
    if args.all:
        print_results(results, "table", True)
    else:
        print(summary(results, _messages(settings, run_ids)))
    for failure in failures:
        error(failure)
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


COMMANDS = {"demo": cmd_demo}
