"""``driftwatch report``: one stored run's report as a single HTML file that opens offline.

The file shows what the run page ``/runs/ID`` shows (the same
templates and charts, ``driftwatch.web.export``), for attaching to a ticket or reading where
the web app is out of reach. Exit 0; 2 for bad input (an unknown run or segment, a path that
cannot be written), with nothing written.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="write one stored run's report as a standalone HTML file")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--run", required=True, type=int, metavar="ID", help="the run's id (the web page's /runs/ID)")
    p.add_argument("--segment", default="", help="one segment's report, e.g. country=BR (default: the whole window)")
    p.add_argument("-o", "--output", help="file to write (default: run-ID.html); '-' writes to stdout")


def cmd_report(args: argparse.Namespace) -> int:
    from ..config import load
    from ..store import Store
    from ..web.api import MAX_SMALL_ID
    from ..web.export import stored_run_html, write_atomically

    if not 1 <= args.run <= MAX_SMALL_ID:  # a run id the store could hold at all
        raise ConfigError(f"--run: no run {args.run} in the store")
    settings = load(args.config)
    store = Store(settings.store.url.reveal())
    try:
        document = stored_run_html(store, args.run, segment=args.segment)
    finally:
        store.dispose()
    if args.output == "-":
        sys.stdout.write(document)
        return 0
    path = write_atomically(args.output or f"run-{args.run}.html", document)
    print(f"wrote {path}")
    return 0


COMMANDS = {"report": cmd_report}
