"""Durations in config strings ("15m", "1h", "7d"); window arithmetic lives in ``schedule``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


#: No window, delay or interval is longer than a century; past it dates overflow.
MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse ``<integer><unit>`` with unit s, m, h, d or w, at most ``MAX_DURATION``.

    >>> parse_duration("15m"), parse_duration("7d")
    (datetime.timedelta(seconds=900), datetime.timedelta(days=7))
    >>> parse_duration("1.5h")
    Traceback (most recent call last):
    ...
    ValueError: invalid duration '1.5h' (expected e.g. 30s, 15m, 1h, 7d, 2w)
    >>> parse_duration("100000000000000s")
    Traceback (most recent call last):
    ...
    ValueError: duration '100000000000000s' is longer than 36500 days
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or (int(match.group(1)) == 0 and not allow_zero):
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 15m, 1h, 7d, 2w)")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)
