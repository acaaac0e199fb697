"""Working time: when is a step due, given when it started and the SOP's time limit?

A limit like "7,5 jam" counts office hours only: evenings, weekends, national holidays and *cuti
bersama* do not count. Each SOP names its calendar (time zone, weekly hours with breaks, which
holiday categories apply); this module turns that into due times. Everything here is pure: the
caller passes the start time, and the answer is a timezone-aware UTC datetime to store.
"""

from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .durations import Duration

if TYPE_CHECKING:  # at run time holidays stays a lazy import inside _holidays()
    from holidays import HolidayBase

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ONE = dt.datetime(1, 1, 1)  # ordinal 1
_MAX_SCAN_DAYS = 3660  # a calendar with no working day at all must not loop forever


@dataclass(frozen=True)
class Interval:
    start: dt.time
    end: dt.time


Week = tuple[tuple[Interval, ...], ...]  # the intervals of each weekday, Monday first


@dataclass(frozen=True)
class Period:
    """A reduced (or extended) schedule for a date range, such as Ramadan's 32,5-hour week under
    Perpres 21/2023: from ``start`` to ``end`` inclusive its week replaces the calendar's ``hours``
    (holidays still apply). Dates, not a rule, because the dates are set each year by decree."""

    name: str
    start: dt.date
    end: dt.date
    hours: Week


@dataclass(frozen=True)
class Calendar:
    """An office's working week in its own time zone.

    ``units`` holds the calendars of units (OPDs) that keep other hours than the SOP's, as
    (unit id, calendar) pairs; ``for_unit`` picks one. A unit shares the SOP's time zone, so every
    time a case shows reads the same way whichever unit holds it.
    """

    timezone: str = "UTC"
    hours: tuple[tuple[Interval, ...], ...] = field(default_factory=lambda: tuple(() for _ in WEEKDAYS))
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    extra_holidays: tuple[dt.date, ...] = ()
    extra_working_days: tuple[dt.date, ...] = ()
    periods: tuple[Period, ...] = ()
    units: tuple[tuple[str, Calendar], ...] = ()
    # Lazily filled cumulative working time per day (see _WorkIndex); not part of equality or hash.
    _index: _WorkIndex = field(default_factory=lambda: _WorkIndex(), init=False, repr=False, compare=False,
                               hash=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return False
        if day in self.extra_holidays:
            return True
        if not self.holiday_country:
            return False
        return day in _holidays(self.holiday_country, self.holiday_subdivision, self.holiday_categories, day.year)

    def intervals_on(self, day: dt.date) -> tuple[Interval, ...]:
        if self.is_holiday(day):
            return ()
        for period in self.periods:  # the loader refuses overlapping periods, so at most one matches
            if period.start <= day <= period.end:
                return period.hours[day.weekday()]
        return self.hours[day.weekday()]

    def for_unit(self, unit_id: str | None) -> Calendar:
        """The calendar a case held by ``unit_id`` counts its working time on: the unit's own when
        the SOP gives it one, else this one."""
        if unit_id is not None:
            for unit, calendar in self.units:
                if unit == unit_id:
                    return calendar
        return self

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self.intervals_on(day))

    def add(self, start: dt.datetime, duration: Duration) -> dt.datetime:
        """The moment ``duration`` of working time after ``start`` (aware), returned in UTC.

        Days are whole working days: "4 hari" from Monday 10:00 is Friday 10:00 (skipping holidays),
        or the end of that day's hours if the office closes earlier. Minutes then run only while
        the office is open. A start outside office hours counts from the next opening.

        Everything runs on the local wall clock, as (day ordinal, microseconds since midnight)
        integers over the per-day working spans of ``_index`` (holidays applied once per year, not
        once per call); working days and minutes are found by binary search, so the cost does not
        grow with the limit's length. This runs on every step, so it avoids datetime arithmetic.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        index, zone = self._index, self._index.zone(self)
        local = start.astimezone(zone)
        day, clock = index.next_open(self, local.toordinal(), _micros(local))
        if duration.days:
            day = index.working_day_after(self, day, duration.days)
            clock = _within(index.year_of(self, day).spans_of(day), clock)
        if duration.minutes:
            day, clock = index.moment_at(self, index.worked(self, day, clock) + duration.minutes * 60_000_000, day)
        naive = _DAY_ONE + dt.timedelta(days=day - 1, microseconds=clock)
        offset = zone.utcoffset(naive)  # fold 0, as replace(tzinfo=zone) would read it
        return (naive - offset if offset else naive).replace(tzinfo=dt.timezone.utc)

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working minutes from ``start`` to ``end`` (negative when end is earlier).

        Constant time however far apart: the difference of two cumulative counts (working
        microseconds since a base day, kept per year in ``_index``), measured on the local wall
        clock as a walk over the days in between would measure it.
        """
        if end < start:
            return -self.working_minutes_between(end, start)
        zone = self.zone
        a = start.astimezone(zone).replace(tzinfo=None)
        b = end.astimezone(zone).replace(tzinfo=None)
        if b <= a:  # only around a DST fall-back, where the wall clock runs backwards
            return 0
        micros = self._index.worked_until(self, b) - self._index.worked_until(self, a)
        return int(dt.timedelta(microseconds=micros).total_seconds() // 60)


def _within(spans: tuple[tuple[int, int], ...], clock: int) -> int:
    """``clock`` moved into the day's working hours: to the opening if earlier, to the closing if
    later, and out of a break back to the moment the break began (the same working time as the
    reopening, and the earlier, stricter reading of "due by"): a due time never falls in a break."""
    clock = min(max(clock, spans[0][0]), spans[-1][1])
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if end < clock < start:
            return end
    return clock


def _micros(t: dt.time | dt.datetime) -> int:
    """Microseconds since midnight of a wall-clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class _WorkIndex:
    """Working microseconds per day of a calendar, cumulated, built a year at a time on demand.

    ``_years[y] = _Year(offset, prefix, spans, first_ordinal, open_days)``: ``offset`` is the working
    time from the base year's 1 January to y's 1 January (negative before the base year),
    ``prefix[i]`` the working time from 1 January to the start of day i of the year (``prefix[-1]``
    the whole year), ``spans[i]`` that day's working intervals in microseconds since midnight
    (holidays already applied), ``open_days`` the indexes of the days that have any. Due times
    (``Calendar.add``) and elapsed working time both read these, so neither walks the calendar.
    Years are added contiguously outward from the first one asked for, under a lock; reads need
    none.
    """

    def __init__(self) -> None:
        self._years: dict[int, _Year] = {}
        self._lo = self._hi = 0
        self._lock = threading.Lock()
        self._last: _Year | None = None  # the year read last: most calls stay within one
        self._zone: ZoneInfo | None = None

    def __reduce__(self) -> tuple[type[_WorkIndex], tuple[()]]:  # copies and pickles start empty
        return (type(self), ())

    def zone(self, cal: Calendar) -> ZoneInfo:
        if self._zone is None:
            self._zone = ZoneInfo(cal.timezone)
        return self._zone

    def year_of(self, cal: Calendar, ordinal: int) -> _Year:
        """The year holding day ``ordinal`` (built on first use)."""
        last = self._last
        if last is not None and 0 <= ordinal - last.first_ordinal < len(last.spans):
            return last
        number = dt.date.fromordinal(ordinal).year
        year = self._years.get(number) or self._extend(cal, number)
        self._last = year
        return year

    def worked(self, cal: Calendar, ordinal: int, clock: int) -> int:
        """Working microseconds from the base up to ``clock`` microseconds into day ``ordinal``."""
        year = self.year_of(cal, ordinal)
        i = ordinal - year.first_ordinal
        total = year.offset + year.prefix[i]
        for s, e in year.spans[i]:
            if clock > s:
                total += min(clock, e) - s
        return total

    def worked_until(self, cal: Calendar, moment: dt.datetime) -> int:
        """Working microseconds from the base up to the naive local ``moment``."""
        return self.worked(cal, moment.toordinal(), _micros(moment))

    def next_open(self, cal: Calendar, ordinal: int, clock: int) -> tuple[int, int]:
        """(day, clock) itself if the office is open then, else the next opening."""
        for _ in range(_MAX_SCAN_DAYS):
            for s, e in self.year_of(cal, ordinal).spans_of(ordinal):
                if clock < e:
                    return ordinal, max(clock, s)
            ordinal, clock = ordinal + 1, 0
        raise ValueError("calendar has no working hours within ten years")

    def working_day_after(self, cal: Calendar, ordinal: int, count: int) -> int:
        """The ``count``-th working day after day ``ordinal`` (binary search in each year's open days)."""
        year = self.year_of(cal, ordinal)
        position = bisect_right(year.open_days, ordinal - year.first_ordinal)
        barren = 0  # consecutive years without a single working day
        while position + count > len(year.open_days):
            count -= len(year.open_days) - position
            barren = 0 if year.open_days else barren + 1
            if barren > _MAX_SCAN_DAYS // 366:
                raise ValueError("calendar has no working day within ten years")
            year = self.year_of(cal, year.first_ordinal + len(year.spans))
            position = 0
        return year.first_ordinal + year.open_days[position + count - 1]

    def moment_at(self, cal: Calendar, target: int, hint: int) -> tuple[int, int]:
        """The earliest (day, clock) at which ``target`` working microseconds are reached.

        ``hint`` is a day at or before the answer (the step's start)."""
        year = self.year_of(cal, hint)
        barren = 0
        while year.offset + year.prefix[-1] < target:  # later years, but never forever
            barren = 0 if year.open_days else barren + 1
            if barren > _MAX_SCAN_DAYS // 366:
                raise ValueError("calendar has no working hours within ten years")
            year = self.year_of(cal, year.first_ordinal + len(year.spans))
        within = target - year.offset
        i = bisect_left(year.prefix, within) - 1  # the day whose working time reaches ``within``
        left = within - year.prefix[i]
        clock = 0
        for s, e in year.spans[i]:
            clock = s + left
            if left <= e - s:
                break
            left -= e - s
        return year.first_ordinal + i, clock

    def _extend(self, cal: Calendar, year: int) -> _Year:
        with self._lock:
            if not self._years:
                self._years[year] = _Year.build(cal, year, 0)
                self._lo = self._hi = year
            while self._hi < year:
                last = self._years[self._hi]
                self._years[self._hi + 1] = _Year.build(cal, self._hi + 1, last.offset + last.prefix[-1])
                self._hi += 1
            while self._lo > year:
                built = _Year.build(cal, self._lo - 1, 0)
                offset = self._years[self._lo].offset - built.prefix[-1]
                self._years[self._lo - 1] = _Year(offset, built.prefix, built.spans, built.first_ordinal,
                                                  built.open_days)
                self._lo -= 1
            return self._years[year]


@dataclass(frozen=True)
class _Year:
    offset: int
    prefix: list[int]
    spans: list[tuple[tuple[int, int], ...]]
    first_ordinal: int
    open_days: list[int]  # indexes (in the year) of the days with working hours, ascending

    def spans_of(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        return self.spans[ordinal - self.first_ordinal]

    @staticmethod
    def build(cal: Calendar, year: int, offset: int) -> _Year:
        prefix: list[int] = [0]
        spans: list[tuple[tuple[int, int], ...]] = []
        day, one = dt.date(year, 1, 1), dt.timedelta(days=1)
        while day.year == year:
            today = tuple((_micros(iv.start), _micros(iv.end)) for iv in cal.intervals_on(day))
            spans.append(today)
            prefix.append(prefix[-1] + sum(e - s for s, e in today))
            if day == dt.date.max:
                break
            day += one
        open_days = [i for i, today in enumerate(spans) if today]
        return _Year(offset, prefix, spans, dt.date(year, 1, 1).toordinal(), open_days)


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, categories: tuple[str, ...], year: int) -> HolidayBase:
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision, years=year, categories=categories)


def parse_interval(text: str) -> Interval:
    """'07:30-12:00' -> Interval. Raises ValueError with a readable message."""
    try:
        a, b = (part.strip() for part in text.split("-"))
        start, end = dt.time.fromisoformat(a), dt.time.fromisoformat(b)
    except ValueError:
        raise ValueError(f"working hours '{text}' must look like '07:30-12:00'") from None
    if end <= start:
        raise ValueError(f"working hours '{text}' end before they start")
    return Interval(start, end)
