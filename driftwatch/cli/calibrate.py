"""``driftwatch calibrate``: the A/A dry run of ``driftwatch.calibrate`` for configured monitors,
and the window-size warnings ``driftwatch validate`` adds from the same run history.

it reads the reference and the store's run history but writes
nothing. Exit 0 when every monitor's expected false pages per 30 days are within ``--budget``,
1 when one is over it, 2 for bad input (``ConfigError`` through ``cli.main``).
"""

from __future__ import annotations

import argparse
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Settings

EXIT_OK, EXIT_OVER = 0, 1
#: Past runs whose window sizes make the "usual" size.
HISTORY = 30


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("calibrate", help="A/A dry run: expected false pages and detectable drift per monitor")
    p.add_argument("--config", required=True, help="config file")
    p.add_argument("--monitor", action="append", help="only this monitor (repeatable)")
    p.add_argument("--rows", type=int, help="current rows per draw (default: the median of the monitor's last "
                                            f"{HISTORY} runs, else its latest window's rows)")
    p.add_argument("--draws", type=int, default=100, help="A/A draws per monitor (default: 100)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="false pages per 30 days allowed before exit status 1 (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random splits (default: 0)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..calibrate import calibrate, report
    from ..config import load
    from ..engine import read_reference

    settings = load(args.config)
    monitors = list(settings.monitors)
    if args.monitor:
        unknown = sorted(set(args.monitor) - {m.name for m in monitors})
        if unknown:
            raise ConfigError(f"--monitor: unknown monitor {unknown[0]!r} "
                              f"(configured: {', '.join(sorted(m.name for m in monitors))})")
        monitors = [m for m in monitors if m.name in args.monitor]
    for name, value, low in (("--draws", args.draws, 1), ("--rows", args.rows, 1)):
        if value is not None and value < low:
            raise ConfigError(f"{name}: must be >= {low}, got {value}")
    if not args.budget >= 0:
        raise ConfigError(f"--budget: must be >= 0, got {args.budget}")
    now = datetime.now(timezone.utc)
    over = False
    for monitor in monitors:
        end = monitor.schedule.latest_end(now)
        if end is None:
            raise ConfigError(f"monitor {monitor.name!r}: its schedule has no complete window yet")
        window = monitor.schedule.window_ending(end)
        reference = read_reference(monitor, window, now)
        rows = args.rows or _usual_rows(settings.store.url.reveal(), monitor.name)
        if rows is None:
            columns = list(monitor.schema.columns) if monitor.schema is not None else None
            rows = len(monitor.current.fetch(window, columns))
            source = f"the latest window ({window})"
        else:
            source = "--rows" if args.rows else f"the median of the last {HISTORY} runs"
        if rows < 1:
            raise ConfigError(f"monitor {monitor.name!r}: the latest window ({window}) has no rows; give --rows")
        if 2 * rows > len(reference):
            print(f"note: monitor {monitor.name!r}: {rows:,} rows ({source}) is more than half the reference's "
                  f"{len(reference):,}; drawing {len(reference) // 2:,}")
            rows = len(reference) // 2
        result = calibrate(monitor.name, reference, monitor.detectors, schema=monitor.schema, rows=rows,
                           draws=args.draws, period=monitor.schedule.period, for_runs=monitor.alerts.for_runs,
                           options=settings.profile, seed=args.seed)
        print(report(result, args.budget))
        print()
        over = over or result.pages(result.any_alert_draws)[0] > args.budget
    return EXIT_OVER if over else EXIT_OK


def window_warnings(settings: Settings) -> list[str]:
    """One line per monitor whose recent windows are too small for some or all of its detectors
    to alert (under their ``min_rows``). Read from a SQLite store's run history only: ``validate``
    makes no network calls, so a server store is not asked."""
    from sqlalchemy.engine import make_url

    url = settings.store.url.reveal()
    if make_url(url).get_backend_name() != "sqlite":
        return []
    lines = []
    for i, monitor in enumerate(settings.monitors):
        rows = _usual_rows(url, monitor.name)
        floors = {type(d).name: floor for d in monitor.detectors
                  if isinstance(floor := getattr(d, "min_rows", None), int)}
        blind = sorted(name for name, floor in floors.items() if rows is not None and rows < floor)
        if not blind:
            continue
        which = "every detector" if len(blind) == len(monitor.detectors) else ", ".join(blind)
        consequence = "none of its rules can alert" if which == "every detector" else f"{which} cannot alert"
        lines.append(f"{settings.path}: monitors[{i}]: warning: monitor {monitor.name!r}: its last windows held a "
                     f"median of {rows} rows, under min_rows of {which} "
                     f"({', '.join(f'{n} {floors[n]}' for n in blind)}): {consequence}; widen the window or "
                     "lower min_rows")
    return lines


def _usual_rows(url: str, monitor: str) -> int | None:
    """The median current rows of the monitor's last succeeded runs; None without history (a
    SQLite store that does not exist yet is not created for the question)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import Store

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or parsed.database == ":memory:"
                                                  or not Path(parsed.database).exists()):
        return None
    store = Store(url)
    try:
        sizes = [r.rows_current for r in store.runs(monitor, limit=HISTORY)
                 if r.status == "succeeded" and r.rows_current]
    except SQLAlchemyError:  # a store without tables yet
        return None
    finally:
        store.dispose()
    return int(statistics.median(sizes)) if sizes else None


COMMANDS = {"calibrate": cmd_calibrate}
