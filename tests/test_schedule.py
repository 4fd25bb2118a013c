"""``driftwatch.schedule``: crontab and interval schedules, their windows, delay and catch-up.

R25: numeric crontab day-of-week follows crontab (0 and 7 = Sunday) although APScheduler 3 counts
0 = Monday. Interval rules are checked against a brute-force minute-by-minute reading of the
local clock, and crontab against interval schedules that must agree with them.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from driftwatch.model import Window
from driftwatch.schedule import Crontab, Schedule, crontab_trigger, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
       tz: ZoneInfo | None = None) -> datetime:
    """A UTC instant; with ``tz``, the arguments are that zone's wall clock."""
    return datetime(year, month, day, hour, minute, second, tzinfo=tz or UTC).astimezone(UTC)


def trigger_fires(trigger: BaseTrigger, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times, asked the way APScheduler's scheduler asks."""
    fires: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now if previous is None else previous)
        assert previous is not None
        fires.append(previous)
    return fires


# --- R25: crontab day-of-week numbers -------------------------------------------------------------

WEDNESDAY = at(2026, 11, 25, 12)


@pytest.mark.parametrize("expression", ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "@weekly"])
def test_r25_sunday_cron_next_fires_on_a_sunday(expression: str) -> None:
    for trigger in (crontab_trigger(expression, "UTC"), Schedule(expression).trigger()):
        fire = trigger.get_next_fire_time(None, WEDNESDAY)
        assert fire == at(2026, 11, 29)
        assert fire.strftime("%A") == "Sunday"


def test_r25_plain_apscheduler_would_have_picked_monday() -> None:
    """The trap R25 works around: APScheduler 3 reads day-of-week 0 as Monday."""
    fire = CronTrigger.from_crontab("0 0 * * 0", timezone="UTC").get_next_fire_time(None, WEDNESDAY)
    assert fire.strftime("%A") == "Monday"


@pytest.mark.parametrize(("field", "days"), [
    ("1-5", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
    ("mon-fri", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
    ("5-7", {"Friday", "Saturday", "Sunday"}),
    ("fri-sun", {"Friday", "Saturday", "Sunday"}),
    ("0,6", {"Saturday", "Sunday"}),
    ("6,7", {"Saturday", "Sunday"}),
    ("*/2", {"Sunday", "Tuesday", "Thursday", "Saturday"}),
    ("1-5/2", {"Monday", "Wednesday", "Friday"}),
    ("0-7/3", {"Sunday", "Wednesday", "Saturday"}),  # 0, 3, 6 (7 is not reached)
    ("1", {"Monday"}),
    ("SAT", {"Saturday"}),
    ("*", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}),
])
def test_day_of_week_numbers_follow_crontab(field: str, days: set[str]) -> None:
    expression = f"0 9 * * {field}"
    by_trigger = trigger_fires(crontab_trigger(expression, "UTC"), WEDNESDAY, 30)
    by_schedule = Schedule(expression).fire_times(WEDNESDAY, WEDNESDAY + 28 * D)
    assert {f.strftime("%A") for f in by_trigger} == days
    assert {f.strftime("%A") for f in by_schedule} == days
    assert all(f.hour == 9 and f.minute == 0 for f in by_schedule)


def test_weekday_cron_in_berlin_fires_at_local_nine_monday_to_friday() -> None:
    fires = Schedule("0 9 * * 1-5", timezone="Europe/Berlin").fire_times(at(2026, 11, 22), at(2026, 12, 6))
    assert len(fires) == 10
    assert {f.astimezone(BERLIN).strftime("%a %H:%M") for f in fires} == {
        "Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00"}


def test_both_day_fields_restricted_match_either_as_in_crontab() -> None:
    """``0 0 13 * 5``: the 13th of any month and every Friday (not only Friday the 13th)."""
    fires = Schedule("0 0 13 * 5").fire_times(at(2026, 1, 1), at(2027, 1, 1))
    expected = [d for d in (at(2026, 1, 2) + i * D for i in range(365)) if d.day == 13 or d.weekday() == 4]
    assert fires == expected
    assert parse_schedule("0 0 13 * 5") == Crontab((0,), (0,), (13,), None, (5,), day_or=True)


def test_a_star_day_field_keeps_both_fields_required() -> None:
    """Crontab: a field starting with ``*`` (even ``*/2``) does not trigger the either-rule."""
    fires = Schedule("0 0 */2 * 1").fire_times(at(2026, 1, 1), at(2026, 4, 1))
    assert fires and all(f.weekday() == 0 and f.day % 2 == 1 for f in fires)


# --- parsing and validation -----------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "message"), [
    ("61 * * * *", r"^schedule: minute field '61' .*61 is out of range 0-59"),
    ("0 24 * * *", r"^schedule: hour field '24' .*out of range 0-23"),
    ("0 0 0 * *", r"^schedule: day field '0' .*out of range 1-31"),
    ("0 0 * 13 *", r"^schedule: month field '13' .*out of range 1-12"),
    ("0 0 * foo *", r"^schedule: month field 'foo' .*'foo' is not a number 1-12 or a name"),
    ("0 0 * * 8", r"^schedule: day_of_week field '8' .*out of range 0-7 \(0 and 7 = Sunday\)"),
    ("0 0 * * 1/2", r"^schedule: day_of_week field '1/2' .*write a range"),
    ("5-1 * * * *", r"^schedule: minute field '5-1' .*runs backwards"),
    ("*/0 * * * *", r"^schedule: minute field '\*/0' .*step must be at least 1"),
    ("0 0 L * *", r"^schedule: day field 'L' .*'L' is not a number"),
    ("0 0 1,,2 * *", r"^schedule: day field '1,,2' .*cannot read ''"),
    ("0 0 * *", r"^schedule: a crontab has 5 fields .*got 4"),
    ("0 0 0 * * *", r"^schedule: a crontab has 5 fields .*got 6"),
    ("1.5h", r"^schedule: invalid interval '1\.5h'"),
    ("0m", r"^schedule: invalid interval '0m'"),
    ("hourly", r"^schedule: invalid interval 'hourly'"),
    ("@reboot", r"^schedule: unknown alias '@reboot'"),
    ("", r"^schedule: must be a crontab"),
    ("0 0 30 2 *", r"^schedule: '0 0 30 2 \*' never fires"),
])
def test_bad_expressions_are_rejected_naming_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(expression)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"timezone": "Mars/Olympus_Mons"}, r"^timezone: unknown time zone 'Mars/Olympus_Mons'"),
    ({"window": timedelta(0)}, r"^window: must be a positive duration"),
    ({"delay": -M}, r"^delay: must be a duration of zero or more"),
])
def test_bad_settings_are_rejected_naming_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule("1h", **kwargs)  # type: ignore[arg-type]


def test_parse_schedule_results() -> None:
    assert parse_schedule(" 15m ") == timedelta(minutes=15)
    assert parse_schedule("@hourly") == parse_schedule("0 * * * *")
    assert parse_schedule("*/20 9-17/4 1,15 jan-mar *") == Crontab(
        (0, 20, 40), (9, 13, 17), (1, 15), (1, 2, 3), None, day_or=False)
    assert parse_schedule("0 0 * * 0-7") == Crontab((0,), (0,), None, None, (0, 1, 2, 3, 4, 5, 6), day_or=False)
    assert parse_schedule("5/20 * * * *") == Crontab((5, 25, 45), None, None, None, None, day_or=False)
    spec = parse_schedule("*/20 9-17/4 1,15 jan-mar mon,7")
    assert spec == Crontab((0, 20, 40), (9, 13, 17), (1, 15), (1, 2, 3), (0, 1), day_or=True)


def test_crontab_trigger_refuses_an_interval() -> None:
    with pytest.raises(ValueError, match="is an interval, not a crontab"):
        crontab_trigger("15m", "UTC")


@pytest.mark.parametrize(("alias", "expression"), [
    ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
    ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *")])
def test_aliases_fire_like_their_crontab(alias: str, expression: str) -> None:
    start, end = at(2026, 1, 1, 0, 30), at(2028, 1, 1, 0, 30)
    fires = Schedule(alias).fire_times(start, end)
    assert fires and fires == Schedule(expression).fire_times(start, end)


@pytest.mark.parametrize(("expression", "period"), [
    ("15m", 15 * M), ("1d", D), ("7m", 7 * M), ("0 * * * *", H), ("*/5 * * * *", 5 * M),
    ("@daily", D), ("0 9 * * 1-5", D), ("0 0 * * 0", 7 * D), ("0 0 1 * *", 31 * D)])
def test_period(expression: str, period: timedelta) -> None:
    assert Schedule(expression).period == period


# --- windows and alignment --------------------------------------------------------------------------

def test_cron_window_is_the_hour_before_the_run() -> None:
    schedule = Schedule("0 * * * *")
    assert schedule.latest_end(at(2026, 11, 27, 10, 0, 30)) == at(2026, 11, 27, 10)
    assert schedule.window_ending(at(2026, 11, 27, 10)) == Window(at(2026, 11, 27, 9), at(2026, 11, 27, 10))


def test_interval_windows_align_to_multiples_of_the_interval() -> None:
    schedule = Schedule("15m")
    end = schedule.latest_end(at(2026, 11, 27, 10, 7, 59))
    assert end == at(2026, 11, 27, 10)
    assert schedule.window_ending(end) == Window(at(2026, 11, 27, 9, 45), end)
    assert schedule.latest_end(at(2026, 11, 27, 10, 15)) == at(2026, 11, 27, 10, 15)  # half-open: due at its end


def test_windows_not_dividing_a_day_align_to_the_unix_epoch_whatever_the_zone() -> None:
    fires = Schedule("7m", timezone="Europe/Berlin").fire_times(at(2026, 3, 29), at(2026, 3, 30))
    assert timedelta(0) < fires[0] - at(2026, 3, 29) <= 7 * M and at(2026, 3, 30) - fires[-1] < 7 * M
    assert all(int(f.timestamp()) % 420 == 0 for f in fires)
    assert all(b - a == 7 * M for a, b in zip(fires, fires[1:]))


def test_six_hour_interval_follows_the_local_clock_in_winter_and_summer() -> None:
    schedule = Schedule("6h", timezone="Europe/Berlin")
    for day in (at(2026, 1, 15), at(2026, 7, 15)):
        fires = schedule.fire_times(day, day + D)
        assert [f.astimezone(BERLIN).hour for f in fires] == [6, 12, 18, 0]


def test_weekly_interval_ends_at_local_midnight_every_seventh_day_from_1970() -> None:
    fires = Schedule("7d", timezone="Europe/Berlin").fire_times(at(2026, 6, 1), at(2026, 8, 1))
    assert {f.astimezone(BERLIN).strftime("%A %H:%M") for f in fires} == {"Thursday 00:00"}
    assert len(fires) == 9


def test_window_setting_gives_sliding_windows_of_exactly_that_length() -> None:
    schedule = Schedule("1h", window=D)
    assert schedule.window_ending(at(2026, 11, 27, 10)) == Window(at(2026, 11, 26, 10), at(2026, 11, 27, 10))
    assert Schedule("0 9 * * 1-5", window=D).window_ending(at(2026, 11, 30, 9)).start == at(2026, 11, 29, 9)


def test_weekday_cron_without_window_covers_the_weekend_on_monday() -> None:
    monday = Schedule("0 9 * * 1-5").window_ending(at(2026, 11, 30, 9))
    assert monday == Window(at(2026, 11, 27, 9), at(2026, 11, 30, 9))


def test_naive_datetimes_are_utc_and_results_are_aware_utc() -> None:
    schedule = Schedule("1h", timezone="Asia/Kathmandu")  # +05:45: local hours end at :15 UTC
    end = schedule.latest_end(datetime(2026, 11, 27, 10, 20))
    assert end == at(2026, 11, 27, 10, 15) and end.tzinfo is UTC
    assert all(f.tzinfo is UTC for f in schedule.fire_times(datetime(2026, 1, 1), datetime(2026, 1, 2)))


# --- time zones and DST (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00) --------

@pytest.mark.parametrize("expression", ["1d", "0 0 * * *", "@daily"])
def test_daily_windows_run_from_berlin_midnight_and_stretch_over_dst(expression: str) -> None:
    schedule = Schedule(expression, timezone="Europe/Berlin")
    windows = schedule.windows_between(at(2026, 3, 27, tz=BERLIN), at(2026, 3, 31, tz=BERLIN))
    assert [w.start.astimezone(BERLIN).strftime("%d %H:%M") for w in windows] == [
        "27 00:00", "28 00:00", "29 00:00", "30 00:00"]
    assert [w.end - w.start for w in windows] == [D, D, 23 * H, D]
    autumn = schedule.window_ending(at(2026, 10, 26, tz=BERLIN))
    assert autumn == Window(at(2026, 10, 24, 22), at(2026, 10, 25, 23))  # 25 hours
    assert schedule.latest_end(at(2026, 7, 1, 21, 59)) == at(2026, 6, 30, 22)  # summer: midnight is 22:00Z
    assert schedule.latest_end(at(2026, 12, 1, 23, 0)) == at(2026, 12, 1, 23)  # winter: 23:00Z


def test_daily_window_setting_is_exactly_24_hours_even_over_dst() -> None:
    schedule = Schedule("0 0 * * *", window=D, timezone="Europe/Berlin")
    window = schedule.window_ending(at(2026, 3, 30, tz=BERLIN))
    assert window == Window(at(2026, 3, 28, 22), at(2026, 3, 29, 22))
    assert window.end - window.start == D


@pytest.mark.parametrize(("interval", "cron"), [("15m", "*/15 * * * *"), ("1h", "0 * * * *"),
                                                  ("1d", "0 0 * * *"), ("6h", "0 */6 * * *")])
@pytest.mark.parametrize("day", [(2026, 3, 29), (2026, 10, 25)])
def test_berlin_intervals_and_crontabs_agree_across_dst(interval: str, cron: str, day: tuple[int, int, int]) -> None:
    start = at(*day, tz=BERLIN) - D
    a = Schedule(interval, timezone="Europe/Berlin").fire_times(start, start + 3 * D)
    b = Schedule(cron, timezone="Europe/Berlin").fire_times(start, start + 3 * D)
    assert a == b and a


@pytest.mark.parametrize(("day", "count"), [((2026, 3, 29), 92), ((2026, 10, 25), 100)])
def test_quarter_hours_tile_the_dst_days_in_berlin(day: tuple[int, int, int], count: int) -> None:
    schedule = Schedule("15m", timezone="Europe/Berlin")
    start = at(*day, tz=BERLIN)
    windows = schedule.windows_between(start, start + (count // 4) * H)
    assert len(windows) == count
    assert all(w.end - w.start == 15 * M for w in windows)
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))
    local = [w.end.astimezone(BERLIN).strftime("%H:%M") for w in windows]
    if count == 92:
        assert "02:15" not in local and local[local.index("01:45") + 1] == "03:00"
    else:
        assert local.count("02:15") == 2


def _brute_force(zone: ZoneInfo, aligned: Callable[[datetime], bool], start: datetime, end: datetime) -> list[datetime]:
    """Minute-by-minute reading of the local clock: an instant fires when the reading is aligned,
    or when the clock jumps forward over an aligned reading."""
    fires = []
    t = start
    previous = t.astimezone(zone).replace(tzinfo=None)
    while t < end:
        t += M
        reading = t.astimezone(zone).replace(tzinfo=None)
        skipped = (previous + k * M for k in range(1, (reading - previous) // M))
        if aligned(reading) or any(aligned(w) for w in skipped):
            fires.append(t)
        previous = reading
    return fires


def _every(step: timedelta) -> Callable[[datetime], bool]:
    return lambda w: (w - datetime(1970, 1, 1)) % step == timedelta(0)


ZONE_CHANGES = [
    ("Europe/Berlin", at(2026, 3, 28)),
    ("Europe/Berlin", at(2026, 10, 24)),
    ("Australia/Lord_Howe", at(2026, 4, 4)),    # clocks go back 30 minutes
    ("Australia/Lord_Howe", at(2026, 10, 3)),   # and forward 30 minutes
    ("America/Santiago", at(2026, 9, 5)),       # midnight is skipped
    ("America/Havana", at(2026, 11, 1)),        # midnight happens twice
    ("Pacific/Apia", at(2011, 12, 28)),         # 30 December 2011 never happened
    ("Asia/Kathmandu", at(2026, 1, 1)),         # +05:45
]
CASES: list[tuple[str, Callable[[datetime], bool]]] = [
    ("15m", _every(15 * M)),
    ("1h", _every(H)),
    ("90m", _every(90 * M)),
    ("1d", _every(D)),
    ("*/15 * * * *", lambda w: w.minute % 15 == 0),
    ("30 2 * * *", lambda w: (w.hour, w.minute) == (2, 30)),
    ("0 0 * * *", lambda w: (w.hour, w.minute) == (0, 0)),
    ("10 */3 * * 0,6", lambda w: w.minute == 10 and w.hour % 3 == 0 and w.weekday() >= 5),
]


@pytest.mark.parametrize(("zone", "start"), ZONE_CHANGES)
@pytest.mark.parametrize(("expression", "aligned"), CASES, ids=[c[0] for c in CASES])
def test_instants_match_a_brute_force_reading_of_the_clock(zone: str, start: datetime, expression: str,
                                                           aligned: Callable[[datetime], bool]) -> None:
    schedule = Schedule(expression, timezone=zone)
    end = start + 3 * D
    expected = _brute_force(ZoneInfo(zone), aligned, start, end)
    assert schedule.fire_times(start, end) == expected
    assert schedule.latest_end(end) == expected[-1]
    windows = schedule.windows_between(start, end)
    assert [w.end for w in windows] == expected
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))


def test_crontab_in_a_skipped_hour_fires_at_the_jump_and_twice_when_clocks_go_back() -> None:
    schedule = Schedule("30 2 * * *", timezone="Europe/Berlin")
    assert schedule.fire_times(at(2026, 3, 28, 12), at(2026, 3, 29, 12)) == [at(2026, 3, 29, 1)]  # 03:00 CEST
    assert schedule.fire_times(at(2026, 10, 24, 12), at(2026, 10, 25, 12)) == [
        at(2026, 10, 25, 0, 30), at(2026, 10, 25, 1, 30)]  # 02:30 CEST, 02:30 CET


def test_apscheduler_crontrigger_skips_the_day_after_spring_forward_but_schedule_does_not() -> None:
    """Why instants are computed here: APScheduler 3.11's CronTrigger jumps from 29 to 31 March."""
    sunday_midnight = datetime(2026, 3, 29, tzinfo=BERLIN)
    fire = CronTrigger.from_crontab("0 0 * * *", timezone="Europe/Berlin").get_next_fire_time(
        sunday_midnight, sunday_midnight)
    assert fire.day == 31, "APScheduler fixed its DST skip; crontab_trigger's docstring can say so"
    trigger = Schedule("0 0 * * *", timezone="Europe/Berlin").trigger()
    assert trigger.get_next_fire_time(sunday_midnight, sunday_midnight) == at(2026, 3, 30, tz=BERLIN)


def test_rare_crontabs_are_found_far_away() -> None:
    leap = Schedule("0 0 29 2 *")
    assert leap.fire_times(at(2026, 1, 1), at(2031, 1, 1)) == [at(2028, 2, 29)]
    assert leap.latest_end(at(2031, 1, 1)) == at(2028, 2, 29)
    assert leap.trigger().get_next_fire_time(None, at(2028, 3, 1)) == at(2032, 2, 29)
    assert leap.period == at(2008, 2, 29) - at(2004, 2, 29)


def test_schedules_compare_by_their_settings() -> None:
    assert Schedule("1h", timezone="Europe/Berlin") == Schedule("1h", timezone="Europe/Berlin")
    assert Schedule("1h") != Schedule("60m")
    assert len({Schedule("1h"), Schedule("1h")}) == 1
    assert repr(Schedule("1h")) == "Schedule(expression='1h', window=None, timezone='UTC', delay=datetime.timedelta(0))"


# --- delay and the trigger ----------------------------------------------------------------------

def test_delay_postpones_the_run_not_the_window() -> None:
    schedule = Schedule("1h", delay=10 * M)
    assert schedule.latest_end(at(2026, 1, 1, 10, 9, 59)) == at(2026, 1, 1, 9)
    assert schedule.latest_end(at(2026, 1, 1, 10, 10)) == at(2026, 1, 1, 10)
    assert schedule.window_ending(at(2026, 1, 1, 10)) == Window(at(2026, 1, 1, 9), at(2026, 1, 1, 10))


@pytest.mark.parametrize("expression", ["0 * * * *", "1h"])
def test_trigger_fires_at_window_end_plus_delay(expression: str) -> None:
    trigger = Schedule(expression, delay=10 * M).trigger()
    assert trigger.get_next_fire_time(None, at(2026, 1, 1, 10, 5)) == at(2026, 1, 1, 10, 10)
    assert trigger.get_next_fire_time(None, at(2026, 1, 1, 10, 10)) == at(2026, 1, 1, 10, 10)
    assert trigger.get_next_fire_time(None, at(2026, 1, 1, 10, 10, 1)) == at(2026, 1, 1, 11, 10)
    assert trigger.get_next_fire_time(at(2026, 1, 1, 10, 10), at(2026, 1, 1, 10, 10)) == at(2026, 1, 1, 11, 10)
    # after downtime, like CronTrigger: the fire after the previous one, past or not (coalesced)
    assert trigger.get_next_fire_time(at(2026, 1, 1, 10, 10), at(2026, 1, 1, 15)) == at(2026, 1, 1, 11, 10)


def test_trigger_and_latest_end_agree_on_every_fire() -> None:
    schedule = Schedule("*/5 9-17 * * 1-5", timezone="Europe/Berlin", delay=2 * M)
    for fire in trigger_fires(schedule.trigger(), at(2026, 3, 27, 15), 200):
        assert schedule.latest_end(fire) == fire - 2 * M
        before = schedule.latest_end(fire - timedelta(microseconds=1))
        assert before is not None and before < fire - 2 * M
        assert fire.astimezone(BERLIN).weekday() < 5


def test_interval_trigger_next_fire() -> None:
    trigger = Schedule("15m").trigger()
    assert trigger.get_next_fire_time(None, at(2026, 1, 1, 10, 7)) == at(2026, 1, 1, 10, 15)
    assert trigger_fires(trigger, at(2026, 1, 1, 10, 7), 3)[-1] == at(2026, 1, 1, 10, 45)


def test_trigger_survives_pickling() -> None:
    trigger = Schedule("0 9 * * 1-5", timezone="Europe/Berlin", delay=5 * M).trigger()
    copy = pickle.loads(pickle.dumps(trigger))
    assert copy.get_next_fire_time(None, WEDNESDAY) == trigger.get_next_fire_time(None, WEDNESDAY)
    assert "0 9 * * 1-5" in str(copy)


def test_trigger_runs_a_job_in_a_real_apscheduler_at_whole_seconds() -> None:
    scheduled: list[datetime] = []
    done = threading.Event()

    def executed(event: JobExecutionEvent) -> None:
        scheduled.append(event.scheduled_run_time)
        if len(scheduled) >= 2:
            done.set()

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.add_job(lambda: None, Schedule("1s").trigger(), id="tick", misfire_grace_time=None, coalesce=False)
    scheduler.start()
    try:
        assert done.wait(5), "the job did not run twice within 5 s"
    finally:
        scheduler.shutdown(wait=True)
    assert all(t.microsecond == 0 for t in scheduled[:2])
    assert scheduled[1] - scheduled[0] == timedelta(seconds=1)


# --- catch-up and backfill ----------------------------------------------------------------------

def test_catch_up_runs_the_newest_max_catchup_windows_oldest_first_and_skips_the_rest() -> None:
    schedule = Schedule("1h")
    now = at(2026, 11, 27, 12, 30)
    last_end = at(2026, 11, 27, 12) - 30 * H
    run, skipped = schedule.due_windows(last_end, now, max_catchup=24)
    assert len(run) == 24 and len(skipped) == 6
    assert skipped[0] == Window(last_end, last_end + H)
    assert skipped[-1].end == run[0].start
    assert run[-1] == Window(at(2026, 11, 27, 11), at(2026, 11, 27, 12))
    every = skipped + run
    assert all(a.end == b.start and a.start < b.start for a, b in zip(every, every[1:]))


def test_catch_up_without_a_backlog() -> None:
    schedule = Schedule("1h", delay=10 * M)
    now = at(2026, 11, 27, 12, 30)
    assert schedule.due_windows(None, now, 24) == ([Window(at(2026, 11, 27, 11), at(2026, 11, 27, 12))], [])
    assert schedule.due_windows(at(2026, 11, 27, 12), now, 24) == ([], [])
    assert schedule.due_windows(at(2026, 11, 27, 11), now, 24) == ([Window(at(2026, 11, 27, 11), at(2026, 11, 27, 12))], [])
    assert schedule.due_windows(at(2026, 11, 27, 11), at(2026, 11, 27, 12, 5), 24) == ([], [])  # delay not over
    run, skipped = schedule.due_windows(at(2026, 11, 27, 9), now, 1)
    assert [w.end for w in run] == [at(2026, 11, 27, 12)] and [w.end for w in skipped] == [at(2026, 11, 27, 10), at(2026, 11, 27, 11)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_catchup_must_be_a_positive_count(bad: object) -> None:
    with pytest.raises(ValueError, match="^max_catchup: "):
        Schedule("1h").due_windows(None, at(2026, 1, 1), bad)  # type: ignore[arg-type]


def test_backfill_windows_cover_the_range_exactly() -> None:
    windows = Schedule("1d").windows_between(at(2026, 10, 1), at(2026, 11, 1))
    assert len(windows) == 31
    assert windows[0] == Window(at(2026, 10, 1), at(2026, 10, 2))
    assert windows[-1] == Window(at(2026, 10, 31), at(2026, 11, 1))
    assert Schedule("1d").windows_between(at(2026, 10, 1), at(2026, 10, 1, 23)) == []
    berlin = Schedule("0 0 * * *", timezone="Europe/Berlin").windows_between(
        at(2026, 10, 1, tz=BERLIN), at(2026, 11, 1, tz=BERLIN))
    assert len(berlin) == 31 and sum((w.end - w.start for w in berlin), timedelta(0)) == 31 * D + H
