"""Due times in working time on the LAPOR office's calendar (Asia/Pontianak, WIB = UTC+7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from dataclasses import replace
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runner.definition import load_file, load_text
from runner.durations import Duration, parse
from runner.working_time import Calendar, parse_interval

from conftest import LAPOR

WIB = ZoneInfo("Asia/Pontianak")
UTC = dt.timezone.utc

_MON_THU = (parse_interval("07:30-12:00"), parse_interval("13:00-16:00"))
_FRI = (parse_interval("07:30-11:30"), parse_interval("13:00-16:30"))  # Perpres 21/2023: 90-minute break


def lapor_calendar(categories=("public", "government")) -> Calendar:
    return Calendar(
        timezone="Asia/Pontianak",
        hours=(_MON_THU, _MON_THU, _MON_THU, _MON_THU, _FRI, (), ()),
        holiday_country="ID",
        holiday_categories=categories,
    )


CAL = lapor_calendar()


def wib(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)


def add(start: dt.datetime, limit: str) -> dt.datetime:
    return CAL.add(start, parse(limit))


def test_calendar_is_the_one_the_lapor_definition_builds():
    lapor = load_file(LAPOR).calendar
    assert replace(lapor, periods=()) == CAL  # the weekly hours and holidays; Ramadan's week below
    assert [p.name for p in lapor.periods] == ["Ramadan 1448 H"]


def test_the_holiday_dates_used_below_exist():
    gov = holidays.country_holidays("ID", categories=("public", "government"), years=2026)
    public = holidays.country_holidays("ID", categories=("public",), years=2026)
    assert dt.date(2026, 12, 25) in public  # Christmas
    assert dt.date(2026, 12, 24) in gov and dt.date(2026, 12, 24) not in public  # cuti bersama
    assert dt.date(2026, 12, 23) not in gov and dt.date(2026, 12, 28) not in gov
    for day in (dt.date(2026, 12, 22), dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2026, 12, 31)):
        assert day not in gov
    for day in range(1, 12):
        assert dt.date(2026, 12, day) not in gov
    # the Idul Fitri / Nyepi block of March 2026
    for day in (18, 19, 20, 23, 24):
        assert dt.date(2026, 3, day) in gov
    assert dt.date(2026, 3, 17) not in gov and dt.date(2026, 3, 25) not in gov


# 2026-11-30 is a Monday; 2026-12-04 a Friday.
@pytest.mark.parametrize("start, limit, due", [
    # inside hours
    (wib(2026, 11, 30, 8, 0), "30 menit", wib(2026, 11, 30, 8, 30)),
    (wib(2026, 11, 30, 7, 30), "7,5 jam", wib(2026, 11, 30, 16, 0)),  # one full working day
    (wib(2026, 11, 30, 10, 0), "7,5 jam", wib(2026, 12, 1, 10, 0)),
    (wib(2026, 11, 30, 14, 0), "10 menit", wib(2026, 11, 30, 14, 10)),
    (wib(2026, 11, 30, 15, 0), "1 jam", wib(2026, 11, 30, 16, 0)),  # exactly at closing
    # crossing the lunch break
    (wib(2026, 11, 30, 11, 30), "1 jam", wib(2026, 11, 30, 13, 30)),
    (wib(2026, 12, 1, 10, 0), "3,5 jam", wib(2026, 12, 1, 14, 30)),
    (wib(2026, 12, 4, 11, 0), "1 jam", wib(2026, 12, 4, 13, 30)),  # Friday's break is 11:30-13:00
    # starting in the break, at night, before opening, at the weekend
    (wib(2026, 11, 30, 12, 30), "10 menit", wib(2026, 11, 30, 13, 10)),
    (wib(2026, 11, 30, 20, 0), "30 menit", wib(2026, 12, 1, 8, 0)),
    (wib(2026, 11, 30, 6, 0), "30 menit", wib(2026, 11, 30, 8, 0)),
    (wib(2026, 12, 5, 10, 0), "1 jam", wib(2026, 12, 7, 8, 30)),  # Saturday
    (wib(2026, 12, 4, 16, 0), "1 jam", wib(2026, 12, 7, 8, 0)),  # Friday afternoon (to 16:30) into Monday
    # the seed's other limits
    (wib(2026, 11, 30, 9, 0), "4 Jam", wib(2026, 11, 30, 14, 0)),
    (wib(2026, 11, 30, 9, 0), "5 jam", wib(2026, 11, 30, 15, 0)),
])
def test_due_times(start, limit, due):
    assert add(start, limit) == due


def test_results_are_utc_aware():
    due = add(wib(2026, 11, 30, 8, 0), "30 menit")
    assert due.tzinfo is UTC
    assert due == dt.datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
    # a start given in another zone means the same instant
    assert CAL.add(dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC), parse("30 menit")) == due


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        CAL.add(dt.datetime(2026, 11, 30, 8, 0), parse("1 jam"))


def test_national_holiday_and_cuti_bersama_are_skipped():
    # Wed 23 Dec 15:00 + 2 jam: one hour on Wednesday, then Thu 24 (cuti bersama), Fri 25
    # (Christmas) and the weekend are off; the second hour is Monday 28 morning.
    start = wib(2026, 12, 23, 15, 0)
    assert add(start, "2 jam") == wib(2026, 12, 28, 8, 30)
    # Without the government category, 24 December is an ordinary Thursday.
    public_only = lapor_calendar(("public",))
    assert public_only.add(start, parse("2 jam")) == wib(2026, 12, 24, 8, 30)
    assert CAL.is_holiday(dt.date(2026, 12, 24)) and not public_only.is_holiday(dt.date(2026, 12, 24))
    assert CAL.is_holiday(dt.date(2026, 12, 25)) and public_only.is_holiday(dt.date(2026, 12, 25))


def test_long_holiday_block_is_skipped():
    # Tue 17 March 2026 15:00 + 7,5 jam: one hour on Tuesday; 18-24 March are Nyepi, Idul Fitri and
    # their cuti bersama; the remaining 6,5 hours are Wednesday 25 March 07:30-12:00 and 13:00-15:00.
    assert add(wib(2026, 3, 17, 15, 0), "7,5 jam") == wib(2026, 3, 25, 15, 0)


@pytest.mark.parametrize("start, limit, due", [
    (wib(2026, 11, 30, 10, 0), "4 hari", wib(2026, 12, 4, 10, 0)),  # Monday -> Friday
    (wib(2026, 12, 3, 14, 0), "4 hari", wib(2026, 12, 9, 14, 0)),  # over a weekend
    (wib(2026, 12, 22, 10, 0), "4 hari", wib(2026, 12, 30, 10, 0)),  # over Christmas
    (wib(2026, 12, 5, 10, 0), "1 hari", wib(2026, 12, 8, 7, 30)),  # Saturday counts from Monday's opening
    (wib(2026, 11, 30, 20, 0), "3 Hari", wib(2026, 12, 4, 7, 30)),  # evening counts from the next opening
    (wib(2026, 11, 30, 10, 0), "P1DT1H", wib(2026, 12, 1, 11, 0)),
])
def test_working_days(start, limit, due):
    assert add(start, limit) == due


def test_working_minutes_between():
    assert CAL.working_minutes_between(wib(2026, 11, 30, 7, 30), wib(2026, 12, 1, 7, 30)) == 450
    assert CAL.working_minutes_between(wib(2026, 12, 4, 7, 30), wib(2026, 12, 7, 7, 30)) == 450  # Friday: 7,5 hours too (Perpres 21/2023)
    assert CAL.working_minutes_between(wib(2026, 11, 30, 11, 0), wib(2026, 11, 30, 14, 0)) == 120
    assert CAL.working_minutes_between(wib(2026, 12, 24, 0, 0), wib(2026, 12, 28, 0, 0)) == 0
    assert CAL.working_minutes_between(wib(2026, 12, 1, 7, 30), wib(2026, 11, 30, 7, 30)) == -450


def test_extra_holidays_and_working_days():
    cal = Calendar(timezone="Asia/Pontianak", hours=CAL.hours, holiday_country="ID",
                   holiday_categories=("public", "government"),
                   extra_holidays=(dt.date(2026, 12, 1),), extra_working_days=(dt.date(2026, 12, 24),))
    assert cal.add(wib(2026, 11, 30, 15, 0), parse("2 jam")) == wib(2026, 12, 2, 8, 30)
    assert cal.add(wib(2026, 12, 23, 15, 0), parse("2 jam")) == wib(2026, 12, 24, 8, 30)


def test_a_calendar_without_hours_does_not_loop_forever():
    with pytest.raises(ValueError):
        Calendar().add(wib(2026, 11, 30, 8, 0), parse("1 jam"))


@pytest.mark.parametrize("text", ["07:30", "7.30-12", "12:00-07:30", "12:00-12:00"])
def test_bad_interval(text):
    with pytest.raises(ValueError):
        parse_interval(text)


# -- properties ------------------------------------------------------------------------------------
starts = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31),
                      timezones=st.sampled_from([WIB, UTC, ZoneInfo("Europe/Berlin")]))
durations = st.builds(Duration, days=st.integers(0, 30), minutes=st.integers(0, 5000))


@st.composite
def starts_in_working_hours(draw):
    day = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31)))
    intervals = CAL.intervals_on(day)
    assume(intervals)
    iv = draw(st.sampled_from(intervals))
    begin = dt.datetime.combine(day, iv.start, tzinfo=WIB)
    length = int((dt.datetime.combine(day, iv.end) - dt.datetime.combine(day, iv.start)).total_seconds())
    return begin + dt.timedelta(seconds=draw(st.integers(0, length - 1)))


@settings(max_examples=150, deadline=None)
@given(starts, durations)
def test_due_is_never_before_start(start, duration):
    assert CAL.add(start, duration) >= start


@settings(max_examples=150, deadline=None)
@given(starts_in_working_hours(), st.integers(0, 5000))
def test_working_minutes_between_inverts_add(start, minutes):
    due = CAL.add(start, Duration(minutes=minutes))
    assert CAL.working_minutes_between(start, due) == minutes


@settings(max_examples=150, deadline=None)
@given(starts, st.integers(0, 3000), st.integers(0, 3000))
def test_add_is_monotonic_in_minutes(start, a, b):
    lo, hi = sorted((a, b))
    assert CAL.add(start, Duration(minutes=lo)) <= CAL.add(start, Duration(minutes=hi))


@settings(max_examples=100, deadline=None)
@given(starts, st.integers(1, 3000))
def test_due_falls_inside_working_hours(start, minutes):
    due = CAL.add(start, Duration(minutes=minutes)).astimezone(WIB)
    assert any(
        dt.datetime.combine(due.date(), iv.start, tzinfo=WIB) < due <= dt.datetime.combine(due.date(), iv.end, tzinfo=WIB)
        for iv in CAL.intervals_on(due.date())
    )


# -- the constant-time working_minutes_between against the old day-by-day walk --------------------
def _walk_minutes_between(cal: Calendar, start: dt.datetime, end: dt.datetime) -> int:
    """The implementation before the cumulative index: walks every day from start to end."""
    if end < start:
        return -_walk_minutes_between(cal, end, start)
    a, b = start.astimezone(cal.zone), end.astimezone(cal.zone)
    total = dt.timedelta(0)
    day = a.date()
    while day <= b.date():
        for iv in cal.intervals_on(day):
            s = dt.datetime.combine(day, iv.start, tzinfo=cal.zone)
            e = dt.datetime.combine(day, iv.end, tzinfo=cal.zone)
            lo, hi = max(s, a), min(e, b)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return int(total.total_seconds() // 60)


_EXTRA = Calendar(timezone="Asia/Pontianak", hours=CAL.hours, holiday_country="ID",
                  holiday_categories=("public", "government"),
                  extra_holidays=(dt.date(2026, 12, 1), dt.date(2025, 6, 3), dt.date(2027, 2, 10)),
                  extra_working_days=(dt.date(2026, 12, 24), dt.date(2026, 12, 26), dt.date(2025, 12, 25)))
_BERLIN = Calendar(timezone="Europe/Berlin", hours=CAL.hours, holiday_country="DE")  # DST days too
_CALENDARS = {"lapor": load_file(LAPOR).calendar, "extra": _EXTRA, "berlin": _BERLIN}
_ZONES = [WIB, UTC, ZoneInfo("Europe/Berlin")]


@st.composite
def _moment_on(draw, cal: Calendar, day: dt.date) -> dt.datetime:
    intervals = cal.intervals_on(day)
    how = draw(st.sampled_from(["any", "inside", "edge"] if intervals else ["any"]))
    if how == "any":
        clock = draw(st.times())
    else:
        iv = draw(st.sampled_from(intervals))
        if how == "edge":
            clock = draw(st.sampled_from([iv.start, iv.end]))
        else:
            span = int((dt.datetime.combine(day, iv.end) - dt.datetime.combine(day, iv.start)).total_seconds())
            clock = (dt.datetime.combine(day, iv.start) + dt.timedelta(seconds=draw(st.integers(0, span)))).time()
    local = dt.datetime.combine(day, clock, tzinfo=cal.zone)
    return local.astimezone(draw(st.sampled_from(_ZONES)))  # the same instant, given in some zone


@st.composite
def _pairs(draw):
    name = draw(st.sampled_from(sorted(_CALENDARS)))
    cal = _CALENDARS[name]
    day = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)))
    other = day + dt.timedelta(days=draw(st.integers(-3 * 366, 3 * 366)))
    return name, draw(_moment_on(cal, day)), draw(_moment_on(cal, other))


@settings(max_examples=300, deadline=None)
@given(_pairs())
def test_working_minutes_between_matches_the_day_by_day_walk(pair):
    name, a, b = pair
    cal = _CALENDARS[name]
    assert cal.working_minutes_between(a, b) == _walk_minutes_between(cal, a, b)
    assert cal.working_minutes_between(b, a) == _walk_minutes_between(cal, b, a)


def test_working_minutes_between_matches_the_walk_across_holidays():
    for cal in _CALENDARS.values():
        for a, b in [(wib(2026, 12, 23, 15, 0), wib(2026, 12, 28, 8, 30)),
                     (wib(2026, 3, 17, 15, 0), wib(2026, 3, 25, 15, 0)),
                     (wib(2025, 12, 31, 23, 59, 59, 999999), wib(2026, 1, 1, 0, 0)),
                     (wib(2023, 12, 30, 9, 0), wib(2026, 12, 31, 15, 59, 59)),
                     (dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC))]:
            assert cal.working_minutes_between(a, b) == _walk_minutes_between(cal, a, b)
            assert cal.working_minutes_between(b, a) == _walk_minutes_between(cal, b, a)


# -- the indexed Calendar.add against the interval-by-interval walk it replaced --------------------
def _walk_add(cal: Calendar, start: dt.datetime, duration: Duration) -> dt.datetime:
    """The implementation before the cumulative index: steps day by day and interval by interval
    (with the rule, added since, that a day never ends in a break)."""
    zone = cal.zone

    def at(day, t):
        return dt.datetime.combine(day, t, tzinfo=zone)

    def next_open(moment):
        day = moment.date()
        for _ in range(3660):
            for iv in cal.intervals_on(day):
                if moment < at(day, iv.end):
                    return max(moment, at(day, iv.start))
            day += dt.timedelta(days=1)
            moment = max(moment, at(day, dt.time(0)))
        raise ValueError("no working hours")

    local = next_open(start.astimezone(zone))
    if duration.days:
        day = local.date()
        for _ in range(duration.days):
            day += dt.timedelta(days=1)
            while not cal.is_working_day(day):
                day += dt.timedelta(days=1)
        ivs = cal.intervals_on(day)
        local = min(max(at(day, local.time()), at(day, ivs[0].start)), at(day, ivs[-1].end))
        for before, after in zip(ivs, ivs[1:]):  # in a break: back to where the break began
            if at(day, before.end) < local < at(day, after.start):
                local = at(day, before.end)
    remaining = dt.timedelta(minutes=duration.minutes)
    while remaining > dt.timedelta(0):
        local = next_open(local)
        end = next(at(local.date(), iv.end) for iv in cal.intervals_on(local.date())
                   if at(local.date(), iv.start) <= local < at(local.date(), iv.end))
        if end - local >= remaining:
            local, remaining = local + remaining, dt.timedelta(0)
        else:
            remaining -= end - local
            local = end
    return local.astimezone(dt.timezone.utc)


@st.composite
def _adds(draw):
    name = draw(st.sampled_from(sorted(_CALENDARS)))
    cal = _CALENDARS[name]
    day = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)))
    duration = Duration(days=draw(st.integers(0, 40)), minutes=draw(st.sampled_from([0, 1, 30, 60, 450, 451])
                                                                    | st.integers(0, 40 * 450)))
    return name, draw(_moment_on(cal, day)), duration


@settings(max_examples=300, deadline=None)
@given(_adds())
def test_add_matches_the_interval_by_interval_walk(case):
    name, start, duration = case
    cal = _CALENDARS[name]
    assert cal.add(start, duration) == _walk_add(cal, start, duration)


def test_add_matches_the_walk_across_year_ends_and_holidays():
    for cal in _CALENDARS.values():
        for start in (wib(2026, 12, 31, 15, 0), wib(2025, 12, 23, 15, 59, 59), wib(2026, 3, 17, 15, 0),
                      dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC)):
            for duration in (Duration(minutes=450), Duration(days=10), Duration(days=30, minutes=90),
                             Duration(minutes=450 * 300)):
                assert cal.add(start, duration) == _walk_add(cal, start, duration)


# -- schedules for date ranges (Ramadan) and calendars of units --------------------------------------
RAMADAN = load_file(LAPOR).calendar  # Ramadan 1448 H: 2027-02-08 to 2027-03-09, 32,5 hours a week


def test_ramadan_week_is_32_and_a_half_hours_from_eight():
    monday = dt.date(2027, 2, 15)
    week = [RAMADAN.intervals_on(monday + dt.timedelta(days=k)) for k in range(7)]
    assert week[0][0].start == dt.time(8, 0)
    minutes = sum((dt.datetime.combine(monday, iv.end) - dt.datetime.combine(monday, iv.start)).seconds // 60
                  for day in week for iv in day)
    assert minutes == 32 * 60 + 30
    # weeks outside the period keep the ordinary 37,5 hours
    before = RAMADAN.working_minutes_between(wib(2027, 1, 25, 0), wib(2027, 2, 1, 0))  # no holiday that week
    assert before == 37 * 60 + 30


def test_a_limit_counts_ramadan_hours_inside_the_period_and_ordinary_hours_after():
    # Monday in Ramadan: 08:00-12:00 and 12:30-15:00 is 6,5 hours; the eighth hour is Tuesday 09:00
    assert RAMADAN.add(wib(2027, 2, 15, 8, 0), parse("7,5 jam")) == wib(2027, 2, 16, 9, 0)
    # a step started at 15:30 in Ramadan (after closing) counts from Tuesday 08:00
    assert RAMADAN.add(wib(2027, 2, 15, 15, 30), parse("1 jam")) == wib(2027, 2, 16, 9, 0)
    # ordinary hours again after the period (and after the Idul Fitri holidays of 9-15 March)
    assert RAMADAN.add(wib(2027, 3, 16, 7, 30), parse("1 jam")) == wib(2027, 3, 16, 8, 30)


def test_a_unit_calendar_counts_only_while_the_unit_holds_the_step(tmp_path):
    text = Path(LAPOR).read_text(encoding="utf-8").replace(
        "  periods:", "  units:\n    dinkes:\n      hours:\n        sat: [\"08:00-12:00\"]\n"
        "      holidays:\n        extra: [2026-12-07]\n  periods:", 1)
    sop = load_text(text, "lapor-units.yaml")
    opd = sop.calendar.for_unit("dinkes")
    assert opd is not sop.calendar and sop.calendar.for_unit("disdik") is sop.calendar
    assert opd.intervals_on(dt.date(2026, 12, 5)) == (parse_interval("08:00-12:00"),)  # its Saturday desk
    assert opd.is_holiday(dt.date(2026, 12, 7)) and not sop.calendar.is_holiday(dt.date(2026, 12, 7))
    assert opd.is_holiday(dt.date(2026, 12, 25))  # the SOP's national holidays still apply to the unit
    assert opd.periods == sop.calendar.periods  # not given: inherited
    unit_step = next(a for a in sop.activities if sop.performed_by_unit(a))
    agency_step = next(a for a in sop.activities if not sop.performed_by_unit(a))
    assert sop.calendar_at(unit_step.id, "dinkes") is opd
    assert sop.calendar_at(agency_step.id, "dinkes") is sop.calendar  # the agency's desk keeps its hours
    assert sop.calendar_at(unit_step.id, None) is sop.calendar


def test_a_unit_step_is_due_on_the_unit_calendar(tmp_path):
    from runner.engine import Engine

    text = Path(LAPOR).read_text(encoding="utf-8").replace(
        "  periods:", "  units:\n    dinkes:\n      hours:\n        sat: [\"08:00-12:00\"]\n  periods:", 1)
    sop = load_text(text, "lapor-units.yaml")
    engine = Engine(sop)
    unit_step = next(a for a in sop.activities if sop.performed_by_unit(a) and a.time_limit is not None)
    friday_close = wib(2026, 12, 4, 16, 30)
    mine, _ = engine.due(unit_step.id, friday_close, "dinkes")
    theirs, _ = engine.due(unit_step.id, friday_close, "disdik")
    assert mine < theirs  # Dinkes works Saturday morning, so its step is due sooner
    assert mine == sop.calendar.for_unit("dinkes").add(friday_close, unit_step.time_limit.duration)


_ANY_START = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31),
                          timezones=st.sampled_from([WIB, UTC]))



def _uniform_week_calendar() -> Calendar:
    """Every working day the same hours, so whole days add up exactly (see the days property)."""
    day = (parse_interval("08:00-12:00"), parse_interval("13:00-16:00"))
    return Calendar(timezone="Asia/Pontianak", hours=(day,) * 5 + ((), ()), holiday_country="ID",
                    holiday_categories=("public", "government"), extra_holidays=(dt.date(2026, 12, 1),),
                    extra_working_days=(dt.date(2026, 12, 26),))


_UNIFORM = _uniform_week_calendar()


@settings(max_examples=200, deadline=None)
@given(_ANY_START, st.integers(0, 4000), st.integers(1, 4000), st.sampled_from(["ramadan", "uniform"]))
def test_adding_a_then_b_minutes_is_adding_a_plus_b(start, a, b, which):
    """B is at least a minute: adding nothing to a closing moment (12:00) answers the next opening
    (13:00), the moment a zero-length step would begin, which A+0 does not move to."""
    cal = RAMADAN if which == "ramadan" else _UNIFORM
    assert cal.add(cal.add(start, Duration(minutes=a)), Duration(minutes=b)) == \
        cal.add(start, Duration(minutes=a + b))


@settings(max_examples=200, deadline=None)
@given(_ANY_START, st.integers(0, 40), st.integers(1, 40))
def test_adding_a_then_b_days_is_adding_a_plus_b_when_days_are_alike(start, a, b):
    """Whole days keep the clock; a shorter day (Ramadan, the LAPOR Friday) clamps it at closing,
    so there Fri 16:15 + 1 day + 1 day is Tue 16:00 while + 2 days is Tue 16:15: the property
    holds where every working day has the same hours."""
    cal = _UNIFORM
    assert cal.add(cal.add(start, Duration(days=a)), Duration(days=b)) == cal.add(start, Duration(days=a + b))


@settings(max_examples=200, deadline=None)
@given(_ANY_START, st.builds(Duration, days=st.integers(0, 30), minutes=st.integers(0, 5000)),
       st.sampled_from(["ramadan", "uniform"]))
def test_a_due_time_never_falls_in_a_break_or_a_holiday(start, duration, which):
    cal = RAMADAN if which == "ramadan" else _UNIFORM
    due = cal.add(start, duration).astimezone(WIB)
    day = due.date()
    assert cal.intervals_on(day), f"{due} is on a day off"
    assert any(dt.datetime.combine(day, iv.start, tzinfo=WIB) <= due <= dt.datetime.combine(day, iv.end, tzinfo=WIB)
               for iv in cal.intervals_on(day)), f"{due} is outside the day's hours"


@settings(max_examples=200, deadline=None)
@given(_ANY_START, st.integers(0, 6000), st.sampled_from(["ramadan", "uniform"]))
def test_working_minutes_between_a_start_and_its_due_time_is_the_duration(start, minutes, which):
    cal = RAMADAN if which == "ramadan" else _UNIFORM
    assert cal.working_minutes_between(start, cal.add(start, Duration(minutes=minutes))) == minutes


def test_a_day_that_ends_in_a_break_is_due_when_the_break_begins():
    # LAPOR: Thursday 11:45 + 1 day lands in Friday's 11:30-13:00 break: due at 11:30, not in the break
    assert CAL.add(wib(2026, 12, 3, 11, 45), parse("1 hari")) == wib(2026, 12, 4, 11, 30)
