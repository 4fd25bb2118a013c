"""Crontab lines with crontab's own semantics (R25), for ``schedule``.

Five fields (minute hour day month day_of_week) with steps, ranges, lists and names, the
``@hourly`` … ``@yearly`` aliases, day of week 0 and 7 = Sunday (APScheduler 3 counts 0 = Monday,
so nothing here is handed to it unconverted), and crontab's rule that when both day fields are
restricted a day matches if *either* does. ``parse_schedule`` reads an interval too, so a
monitor's ``schedule`` key is read in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped, unused-ignore]
from apscheduler.triggers.combining import OrTrigger  # type: ignore[import-untyped, unused-ignore]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped, unused-ignore]

from .timeutil import parse_duration

__all__ = ["ALIASES", "Crontab", "crontab_trigger", "load_zone", "parse_schedule"]

_DAY = timedelta(days=1)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# name, lowest, highest (crontab: the day of week runs 0-7, both ends Sunday)
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("day_of_week", 0, 7))
_NAMES = {
    "month": {n: i + 1 for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))},
    "day_of_week": {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_ITEM = re.compile(r"^(?:(?P<star>\*)|(?P<first>[0-9a-z]+)(?:-(?P<last>[0-9a-z]+))?)(?:/(?P<step>\d+))?$",
                   re.IGNORECASE)
# APScheduler 3's day_of_week names in crontab order (crontab 0 = Sunday)
_APS_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class Crontab:
    """A parsed crontab: each field as the sorted values it allows, ``None`` for a bare ``*``.

    ``day_of_week`` uses crontab numbers with 7 folded onto 0 (0 = Sunday ... 6 = Saturday).
    ``day_or`` is crontab's rule that a day matches when either day field does; it holds when
    neither field starts with ``*``.

    >>> parse_schedule("0 9 * * 1-5")
    Crontab(minute=(0,), hour=(9,), day=None, month=None, day_of_week=(1, 2, 3, 4, 5), day_or=False)
    """

    minute: tuple[int, ...] | None
    hour: tuple[int, ...] | None
    day: tuple[int, ...] | None
    month: tuple[int, ...] | None
    day_of_week: tuple[int, ...] | None
    day_or: bool

    def never_fires(self) -> bool:
        """True when no month allows any of the days (``"0 0 30 2 *"``)."""
        if self.day_or or self.day is None:
            return False
        return all(self.day[0] > _MONTH_DAYS[m - 1] for m in (self.month or range(1, 13)))

    def matches(self, day: date) -> bool:
        """Whether the crontab runs on ``day`` (crontab's either-day rule included)."""
        if self.month is not None and day.month not in self.month:
            return False
        by_date = self.day is None or day.day in self.day
        by_weekday = self.day_of_week is None or day.isoweekday() % 7 in self.day_of_week
        return (by_date or by_weekday) if self.day_or else (by_date and by_weekday)

    def readings(self, low: datetime, high: datetime) -> Iterator[datetime]:
        """The matching wall-clock readings (naive) in ``[low, high]``, in order."""
        hours = self.hour if self.hour is not None else range(24)
        minutes = self.minute if self.minute is not None else range(60)
        day = low.date()
        while day <= high.date():
            if self.matches(day):
                midnight = datetime.combine(day, time())
                for hour in hours:
                    top = midnight + timedelta(hours=hour)
                    if top > high:
                        break
                    if top + timedelta(hours=1) <= low:
                        continue
                    for minute in minutes:
                        reading = top + timedelta(minutes=minute)
                        if reading > high:
                            break
                        if reading >= low:
                            yield reading
            day += _DAY

    def trigger(self, zone: tzinfo) -> BaseTrigger:
        """APScheduler trigger firing at this crontab's times in ``zone``."""
        def join(values: tuple[int, ...] | None) -> str:
            return "*" if values is None else ",".join(map(str, values))

        weekdays = "*" if self.day_of_week is None else ",".join(_APS_WEEKDAYS[d] for d in self.day_of_week)
        common = {"minute": join(self.minute), "hour": join(self.hour), "month": join(self.month),
                  "second": "0", "timezone": zone}
        if self.day_or:
            return OrTrigger([CronTrigger(day=join(self.day), day_of_week="*", **common),
                              CronTrigger(day="*", day_of_week=weekdays, **common)])
        return CronTrigger(day=join(self.day), day_of_week=weekdays, **common)


def _field_values(name: str, low: int, high: int, text: str, expression: str) -> tuple[int, ...] | None:
    names = _NAMES.get(name, {})

    def fail(problem: str) -> ValueError:
        return ValueError(f"schedule: {name} field {text!r} in {expression!r}: {problem}")

    def number(token: str, *, range_end: bool = False) -> int:
        if token.isdigit():
            value = int(token)
        elif token.lower() in names:
            value = names[token.lower()]
            if range_end and name == "day_of_week" and value == 0:
                value = 7  # "fri-sun"
        else:
            valid = f"a number {low}-{high}" + (f" or a name ({', '.join(names)})" if names else "")
            raise fail(f"{token!r} is not {valid}")
        if not low <= value <= high:
            hint = " (0 and 7 = Sunday)" if name == "day_of_week" else ""
            raise fail(f"{value} is out of range {low}-{high}{hint}")
        return value

    if text == "*":
        return None
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise fail(f"cannot read {item!r} (expected *, N, N-M, a list, or a /step)")
        step = int(match["step"]) if match["step"] is not None else 1
        if step < 1:
            raise fail(f"step must be at least 1 in {item!r}")
        if match["star"]:
            first, last = low, high
        else:
            first = number(match["first"])
            if match["last"] is not None:
                last = number(match["last"], range_end=True)
                if last < first:
                    raise fail(f"range {item!r} runs backwards")
            elif match["step"] is not None:
                if name == "day_of_week":
                    raise fail(f"write a range such as '1-5/2', not {item!r}")
                last = high
            else:
                last = first
        values.update(range(first, last + 1, step))
    if name == "day_of_week":
        values = {v % 7 for v in values}
    return tuple(sorted(values))


def parse_schedule(expression: str) -> timedelta | Crontab:
    """Read a schedule: a ``Crontab`` for 5 fields or an ``@alias``, a ``timedelta`` for an interval.

    >>> parse_schedule("15m")
    datetime.timedelta(seconds=900)
    >>> parse_schedule("0 0 * * 7").day_of_week
    (0,)
    >>> parse_schedule("0 25 * * *")
    Traceback (most recent call last):
    ...
    ValueError: schedule: hour field '25' in '0 25 * * *': 25 is out of range 0-23
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"schedule: must be a crontab like '0 * * * *' or an interval like '15m', "
                         f"got {expression!r}")
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise ValueError(f"schedule: unknown alias {text!r} (valid: {', '.join(ALIASES)})")
        text = ALIASES[text.lower()]
    parts = text.split(" ")
    if len(parts) == 1:
        try:
            return parse_duration(text)
        except ValueError:
            raise ValueError(f"schedule: invalid interval {text!r} (expected e.g. 30s, 15m, 1h, 1d, 2w, "
                             f"or a 5-field crontab like '0 * * * *')") from None
    if len(parts) != 5:
        raise ValueError(f"schedule: a crontab has 5 fields (minute hour day month day_of_week), "
                         f"got {len(parts)} in {expression!r}")
    minute, hour, day, month, weekday = (
        _field_values(name, low, high, part, expression) for (name, low, high), part in zip(_FIELDS, parts))
    return Crontab(minute, hour, day, month, weekday,
                   day_or=not parts[2].startswith("*") and not parts[4].startswith("*"))


def load_zone(name: str) -> tzinfo:
    """The ``tzinfo`` of an IANA zone name; the error names the ``timezone`` key."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone: unknown time zone {name!r} (expected an IANA name like "
                         f"'Europe/Berlin' or 'UTC')") from None


def crontab_trigger(expression: str, timezone: str = "UTC") -> BaseTrigger:
    """APScheduler trigger for a crontab with crontab's day-of-week numbers (R25).

    A ``CronTrigger``, or an ``OrTrigger`` of two when both day fields are restricted (crontab
    fires when either matches; ``CronTrigger`` alone would require both). For APScheduler-native
    use only: ``CronTrigger`` keeps its own DST quirks (see the module docstring), so the daemon
    uses ``Schedule.trigger()``, whose instants match ``Schedule.fire_times`` exactly.

    >>> sunday = crontab_trigger("0 0 * * 0").get_next_fire_time(None, datetime(2026, 11, 25, tzinfo=UTC))
    >>> sunday.isoformat(), sunday.strftime("%A")
    ('2026-11-29T00:00:00+00:00', 'Sunday')
    """
    spec = parse_schedule(expression)
    if not isinstance(spec, Crontab):
        raise ValueError(f"schedule: {expression!r} is an interval, not a crontab")
    return spec.trigger(load_zone(timezone))
