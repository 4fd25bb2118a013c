"""Durations in config strings ("15m", "1h", "7d") and window arithmetic."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .model import Window, utc

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse ``<integer><unit>`` with unit s, m, h, d or w.

    >>> parse_duration("15m"), parse_duration("7d")
    (datetime.timedelta(seconds=900), datetime.timedelta(days=7))
    >>> parse_duration("1.5h")
    Traceback (most recent call last):
    ...
    ValueError: invalid duration '1.5h' (expected e.g. 30s, 15m, 1h, 7d, 2w)
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or (int(match.group(1)) == 0 and not allow_zero):
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 15m, 1h, 7d, 2w)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def latest_window(length: timedelta, now: datetime) -> Window:
    """The last complete window of ``length`` ending at or before ``now``, aligned to the epoch (UTC).

    >>> str(latest_window(timedelta(days=1), datetime(2026, 11, 27, 15, 30)))
    '[2026-11-26T00:00:00+00:00, 2026-11-27T00:00:00+00:00)'
    """
    now = utc(now)
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    seconds = int(length.total_seconds())
    end_s = (int((now - epoch).total_seconds()) // seconds) * seconds
    end = epoch + timedelta(seconds=end_s)
    return Window(end - length, end)
