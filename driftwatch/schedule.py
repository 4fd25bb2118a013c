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

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped, unused-ignore]

from .crontab import Crontab, crontab_trigger, load_zone, parse_schedule
from .model import Window, utc

__all__ = ["Crontab", "Schedule", "ScheduleTrigger", "crontab_trigger", "parse_schedule"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WALL_EPOCH = datetime(1970, 1, 1)
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_GIVE_UP = timedelta(days=146_097)  # 400 years: every calendar pattern has come round

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
        zone = load_zone(self.timezone)
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
