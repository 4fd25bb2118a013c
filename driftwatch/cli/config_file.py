"""``driftwatch init`` and ``driftwatch validate``: writing and checking a config file."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .calibrate import window_warnings
from .common import EXIT_OK, EXIT_USAGE, error


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="write an example config file")
    p.add_argument("path", nargs="?", default="config.toml", help="where to write it (default: config.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = sub.add_parser("validate", help="check a config file and report every problem")
    p.add_argument("path", nargs="?", help="the config file")
    p.add_argument("--config", dest="config", help="the config file (same as the positional argument)")


def cmd_init(args: argparse.Namespace) -> int:
    from ..demo import EXAMPLE_CONFIG

    target = Path(args.path)
    if target.exists() and not args.force:
        error(f"{target}: exists (use --force to overwrite)")
        return EXIT_USAGE
    shutil.copyfile(EXAMPLE_CONFIG, target)
    print(f"wrote {target}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from ..config import load

    path = args.config or args.path
    if not path:
        error("validate: give the config file (driftwatch validate config.toml)")
        return EXIT_USAGE
    settings = load(path)  # a ConfigError lists every problem, one per line (see main)
    for warning in (*settings.warnings, *window_warnings(settings)):
        print(warning, file=sys.stderr)
    print(f"{path}: ok ({len(settings.monitors)} monitor{'s' if len(settings.monitors) != 1 else ''})")
    return EXIT_OK


COMMANDS = {"init": cmd_init, "validate": cmd_validate}
