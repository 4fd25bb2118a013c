"""What every command shares: exit statuses, the one-line error, ``--at``-style times, and
printing results as a table or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..model import Result

EXIT_OK, EXIT_ALERT, EXIT_USAGE = 0, 1, 2


def error(message: str) -> None:
    """Print ``message`` on stderr, each line as ``driftwatch: error: …``."""
    for line in message.splitlines() or [""]:
        print(f"driftwatch: error: {line}", file=sys.stderr)


def print_results(results: Sequence[Result], fmt: str, everything: bool) -> None:
    """``results`` as JSON lines, or as the table (``everything``: ok quality figures too)."""
    from ..output import json_lines, shown, table

    if fmt == "json":
        sys.stdout.write(json_lines(results))
    elif results:
        print(table(shown(results, everything=everything)))


def needs_attention(results: Sequence[Result]) -> bool:
    """Exit status 1: a result at alert level, or one that could not be computed (``error``: a
    column of the wrong type, a method that does not apply)."""
    return any(r.status in ("alert", "error") for r in results)


def parse_time(text: str) -> datetime:
    """An ISO date/time given on the command line, UTC when it names no zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--at: not an ISO date/time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
