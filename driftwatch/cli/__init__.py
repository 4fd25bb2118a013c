"""The ``driftwatch`` command: one module per command group, and ``main``, which parses the
arguments, sets up logging and turns every expected failure into one line on stderr.

Exit status: 0 nothing at alert level, 1 at least one result at alert level (``check``),
2 bad usage, bad config or unreadable data — always with one line per problem on stderr and
no traceback. Each group's module imports what its commands need inside them, so ``--help``
and ``--version`` load no data or database library.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from .. import __version__, logs
from ..errors import ConfigError, DriftwatchError
from . import alerts, calibrate, check, config_file, daemon, demo, explain, report
from .common import EXIT_USAGE, error

#: The command groups, in the order ``--help`` lists their commands.
GROUPS = (config_file, check, daemon, alerts, calibrate, explain, report, demo)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    name: command for group in GROUPS for name, command in group.COMMANDS.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftwatch", description="Watch ML models in production.")
    parser.add_argument("--version", action="version", version=f"driftwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as readable text (default) or one JSON object per line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


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
        error(str(exc))
        return EXIT_USAGE
    except SQLAlchemyError as exc:  # the store went away mid-command
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        error(f"store: {reason}")
        return EXIT_USAGE
    except OSError as exc:  # a path the user gave cannot be written or read
        where = exc.filename if exc.filename is not None else ""
        error(f"{where}: {exc.strerror or exc}" if where else str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
