"""When a monitor runs and which window each run checks.

A schedule is a 5-field crontab (``"0 * * * *"``, crontab semantics, aliases ``@hourly``,
``@daily``, ``@midnight``, ``@weekly``, ``@monthly``, ``@yearly``) or an interval (``"15m"``,
``"1h"``, ``"1d"``). Its *instants* are the window ends: the run at 10:00 of an hourly schedule
checks ``[09:00, 10:00)``, and runs at ``end + delay`` so late rows have arrived. Everything
returned is tz-aware UTC; the time zone only decides where the instants fall.

Rules, written down because replicas, catch-up and backfill must all agree on them:

* **Crontab.** Instants are the moments the local clock of the schedule's zone reads a matching
  minute, with crontab's numbering of the day of week (0 and 7 = Sunday, 1 = Monday ... 6 =
  Saturday, where APScheduler 3 counts 0 = Monday: R25) and crontab's day rule: when *both* the
  day of month and the day of week are restricted (neither starts with ``*``), a day matches if
  *either* does (``"0 0 13 * 5"``: the 13th and every Friday). Step, range, list and name syntax
  as in crontab; ``N/step`` means ``N-max/step`` (refused for the day of week, where crontabs
  disagree on the maximum: write ``1-5/2``).
* **Intervals dividing a day** (``30s``, ``15m``, ``90m``, ``6h``, ``1d``) **or made of whole days**
  (``7d``, ``2w``) are aligned to the wall clock of the schedule's zone: instants are the moments
  whose local reading is a multiple of the interval counted from local midnight 1970-01-01. So
  ``"1d"`` in Europe/Berlin ends windows at Berlin midnight, ``"6h"`` at 00, 06, 12 and 18 local,
  and ``"7d"`` at midnight every seventh day counted from Thursday 1970-01-01 (use a crontab such
  as ``"0 0 * * 1"`` for Monday weeks). ``"15m"`` and ``"*/15 * * * *"`` have the same instants.
* **Other intervals** (``7m``, ``5h``, ``25h``) are aligned to the Unix epoch (multiples of the
  interval since 1970-01-01T00:00Z); the zone does not matter for them.
* **Clock changes** (crontabs and wall-clock intervals alike). A local reading that happens twice
  (clocks go back) is an instant both times; a reading that never happens (clocks jump forward)
  becomes the moment of the jump. So in Berlin ``"15m"`` goes 01:45, 03:00 on the spring day,
  ``"30 2 * * *"`` fires at 03:00 that day and twice on the autumn day, and ``"1d"`` in a zone
  whose midnight is skipped ends that day's window at 01:00. (The instants are computed here, not
  by APScheduler's ``CronTrigger``: 3.11 skips the day after a spring change, going from
  29 March 2026 00:00 to 31 March for ``"0 0 * * *"`` in Berlin.)
* **Windows.** With ``window`` set, a run checks exactly ``[end - window, end)``. Without it the
  window is ``[previous instant, end)``: consecutive windows tile time with no gap or overlap, so a
  Berlin ``"1d"`` (or ``"0 0 * * *"``) window is 23 hours long on the spring DST day and 25 on the
  autumn one, and ``"0 9 * * 1-5"`` checks Friday 09:00 to Monday 09:00 on Mondays.

>>> s = Schedule("0 * * * *", delay=timedelta(minutes=10))
>>> print(s.window_ending(s.latest_end(datetime(2026, 11, 27, 10, 5, tzinfo=UTC))))
[2026-11-27T08:00:00+00:00, 2026-11-27T09:00:00+00:00)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped, unused-ignore]
from apscheduler.triggers.combining import OrTrigger  # type: ignore[import-untyped, unused-ignore]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped, unused-ignore]

from .model import Window, utc
from .timeutil import parse_duration

__all__ = ["Crontab", "Schedule", "ScheduleTrigger", "crontab_trigger", "parse_schedule"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WALL_EPOCH = datetime(1970, 1, 1)
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_GIVE_UP = timedelta(days=146_097)  # 400 years: every calendar pattern has come round
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


def _load_zone(name: str) -> tzinfo:
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
    return spec.trigger(_load_zone(timezone))


def _moments(wall: datetime, zone: tzinfo) -> tuple[datetime, ...]:
    """The UTC instants at which the local clock of ``zone`` reads ``wall`` (naive).

    Two when clocks go back; when the reading is skipped, the moment of the jump."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return (first,)
    if first < second:  # repeated: fold=0 is the earlier pass
        return (first, second)
    # skipped: fold=1 (offset after the jump) lies before it, fold=0 after it; find the jump
    after = first.astimezone(zone).utcoffset()
    low, high = second, first
    while high - low > _SECOND:
        middle = low + (high - low) // 2 // _SECOND * _SECOND
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return (high,)


@dataclass(frozen=True)
class Schedule:
    """When a monitor runs and which window each run checks (rules in the module docstring).

    ``period`` is the interval, or for a crontab the gap between its first two instants at or after
    2001-01-01 00:00 (a Monday) in the schedule's zone: ``"0 * * * *"`` gives one hour,
    ``"0 9 * * 1-5"`` one day. The daemon uses it as APScheduler's ``misfire_grace_time``.

    >>> daily = Schedule("1d", timezone="Europe/Berlin")
    >>> [str(w) for w in daily.windows_between(datetime(2026, 10, 24, 22, tzinfo=UTC),
    ...                                        datetime(2026, 10, 26, 23, tzinfo=UTC))]
    ['[2026-10-24T22:00:00+00:00, 2026-10-25T23:00:00+00:00)', '[2026-10-25T23:00:00+00:00, 2026-10-26T23:00:00+00:00)']
    """

    expression: str
    window: timedelta | None = None
    timezone: str = "UTC"
    delay: timedelta = timedelta(0)
    _spec: timedelta | Crontab = field(init=False, repr=False, compare=False)
    _zone: tzinfo = field(init=False, repr=False, compare=False)
    _wall: bool = field(init=False, repr=False, compare=False)  # False: aligned to the Unix epoch
    _period: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = parse_schedule(self.expression)
        zone = _load_zone(self.timezone)
        if self.window is not None and (not isinstance(self.window, timedelta) or self.window <= timedelta(0)):
            raise ValueError(f"window: must be a positive duration, got {self.window!r}")
        if not isinstance(self.delay, timedelta) or self.delay < timedelta(0):
            raise ValueError(f"delay: must be a duration of zero or more, got {self.delay!r}")
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_zone", zone)
        if isinstance(spec, Crontab):
            if spec.never_fires():
                raise ValueError(f"schedule: {self.expression!r} never fires (no month has such a day)")
            object.__setattr__(self, "_wall", True)
            object.__setattr__(self, "_period", timedelta(hours=1))  # search step until known
            first = self._next_after(datetime(2001, 1, 1, tzinfo=zone).astimezone(UTC) - _TICK)
            second = self._next_after(first) if first is not None else None
            if first is None or second is None:  # cannot happen: a crontab with a possible day repeats
                raise ValueError(f"schedule: {self.expression!r} does not repeat")
            object.__setattr__(self, "_period", second - first)
        else:
            seconds = int(spec.total_seconds())
            object.__setattr__(self, "_wall", 86400 % seconds == 0 or seconds % 86400 == 0)
            object.__setattr__(self, "_period", spec)

    # -- public API ------------------------------------------------------------------------------

    @property
    def period(self) -> timedelta:
        """The interval, or a crontab's gap between its first two instants after 2001-01-01 local.

        >>> Schedule("15m").period, Schedule("@daily").period
        (datetime.timedelta(seconds=900), datetime.timedelta(days=1))
        """
        return self._period

    def trigger(self) -> BaseTrigger:
        """APScheduler trigger firing at each instant plus ``delay`` (window end + delay)."""
        return ScheduleTrigger(self)

    def window_ending(self, end: datetime) -> Window:
        """The window a run for the instant ``end`` checks: ``[end - window, end)``, or
        ``[previous instant, end)`` when ``window`` is not set.

        >>> print(Schedule("0 * * * *").window_ending(datetime(2026, 11, 27, 10)))
        [2026-11-27T09:00:00+00:00, 2026-11-27T10:00:00+00:00)
        """
        return self._windows([utc(end)])[0]

    def fire_times(self, start: datetime, end: datetime) -> list[datetime]:
        """The schedule's instants (window ends, without delay) in ``(start, end]``, oldest first.

        >>> [t.strftime("%H:%M") for t in Schedule("15m").fire_times(datetime(2026, 1, 1, 9, 50),
        ...                                                           datetime(2026, 1, 1, 10, 30))]
        ['10:00', '10:15', '10:30']
        """
        start, end = utc(start), utc(end)
        if end <= start:
            return []
        return self._instants(start, end)

    def latest_end(self, now: datetime) -> datetime | None:
        """The newest instant ``e`` whose run is due: ``e + delay <= now``.

        >>> Schedule("1h", delay=timedelta(minutes=10)).latest_end(datetime(2026, 1, 1, 10, 9)).hour
        9
        """
        return self._last_at_or_before(utc(now) - self.delay)

    def due_windows(self, last_end: datetime | None, now: datetime,
                    max_catchup: int) -> tuple[list[Window], list[Window]]:
        """``(to_run, to_skip)``: the due windows after ``last_end`` (the end of the newest window
        already claimed), oldest first. At most ``max_catchup`` of the newest are run (the current
        window counts, so 1 means "only the latest"); older ones are returned to be recorded as
        skipped. With no ``last_end`` (a new monitor) only the latest due window runs.

        >>> run, skip = Schedule("1h").due_windows(datetime(2026, 1, 1, 0), datetime(2026, 1, 1, 5, 30), 3)
        >>> [w.end.hour for w in run], [w.end.hour for w in skip]
        ([3, 4, 5], [1, 2])
        """
        if isinstance(max_catchup, bool) or not isinstance(max_catchup, int) or max_catchup < 1:
            raise ValueError(f"max_catchup: must be a whole number of windows >= 1, got {max_catchup!r}")
        latest = self.latest_end(now)
        if latest is None:
            return [], []
        ends = [latest] if last_end is None else self.fire_times(last_end, latest)
        windows = self._windows(ends)
        cut = max(len(windows) - max_catchup, 0)
        return windows[cut:], windows[:cut]

    def windows_between(self, start: datetime, end: datetime) -> list[Window]:
        """Every window whose end lies in ``(start, end]``, oldest first (for backfill).

        >>> len(Schedule("1d").windows_between(datetime(2026, 10, 1), datetime(2026, 11, 1)))
        31
        """
        return self._windows(self.fire_times(start, end))

    # -- instants --------------------------------------------------------------------------------

    def _windows(self, ends: list[datetime]) -> list[Window]:
        if not ends:
            return []
        if self.window is not None:
            return [Window(e - self.window, e) for e in ends]
        first = self._last_at_or_before(ends[0] - _TICK) or ends[0] - self._period
        return [Window(s, e) for s, e in zip([first, *ends[:-1]], ends)]

    def _next_after(self, moment: datetime) -> datetime | None:
        """The first instant strictly after ``moment``, looking ever further ahead (a step or two
        for regular schedules; None after 400 years, the Gregorian cycle)."""
        horizon = self._period
        while horizon < _GIVE_UP:
            times = self.fire_times(moment, moment + horizon)
            if times:
                return times[0]
            horizon *= 2
        return None

    def _last_at_or_before(self, moment: datetime) -> datetime | None:
        """The newest instant at or before ``moment`` (searched like ``_next_after``)."""
        horizon = self._period
        while horizon < _GIVE_UP:
            times = self.fire_times(moment - horizon, moment)
            if times:
                return times[-1]
            horizon *= 2
        return None

    def _instants(self, start: datetime, end: datetime) -> list[datetime]:
        """The instants in ``(start, end]``, oldest first."""
        spec = self._spec
        if isinstance(spec, timedelta) and not self._wall:
            first, last = (start - _EPOCH) // spec + 1, (end - _EPOCH) // spec
            return [_EPOCH + k * spec for k in range(first, last + 1)]
        # Local readings that can land in (start, end] lie within [start + lowest offset, end +
        # highest offset]; offsets are probed every 12 h (no zone changes twice that fast).
        zone = self._zone
        offsets: set[timedelta] = set()
        probe, stop = start - 2 * _DAY, end + 2 * _DAY
        while True:
            offsets.add(probe.astimezone(zone).utcoffset() or timedelta(0))
            if probe >= stop:
                break
            probe = min(probe + _DAY / 2, stop)
        low = start.replace(tzinfo=None) + min(offsets)
        high = end.replace(tzinfo=None) + max(offsets)
        if isinstance(spec, timedelta):
            readings: Iterable[datetime] = (
                _WALL_EPOCH + k * spec for k in range((low - _WALL_EPOCH) // spec, (high - _WALL_EPOCH) // spec + 1))
        else:
            readings = spec.readings(low, high)
        found: set[datetime] = set()
        for reading in readings:
            found.update(t for t in _moments(reading, zone) if start < t <= end)
        return sorted(found)


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc, unused-ignore]
    """APScheduler trigger for a ``Schedule``: fires at every instant plus the schedule's delay.

    Like ``CronTrigger``, given the previous fire time it returns the first fire after it (even if
    that is already past: the scheduler coalesces), otherwise the first at or after ``now``.

    >>> trigger = Schedule("0 * * * *", delay=timedelta(minutes=10)).trigger()
    >>> trigger.get_next_fire_time(None, datetime(2026, 1, 1, 10, 5, tzinfo=UTC)).isoformat()
    '2026-01-01T10:10:00+00:00'
    """

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = utc(now)
        if previous_fire_time is not None:  # the fire after the previous one, even if already past
            start = utc(previous_fire_time) + _TICK
        end = self.schedule._next_after(start - self.schedule.delay - _TICK)
        return None if end is None else end + self.schedule.delay

    def __getstate__(self) -> dict[str, Schedule]:
        return {"schedule": self.schedule}

    def __setstate__(self, state: dict[str, Schedule]) -> None:
        self.schedule = state["schedule"]

    def __str__(self) -> str:
        s = self.schedule
        return f"schedule[{s.expression!r}, timezone={s.timezone!r}, delay={s.delay}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger {self}>"
