"""Working time: when is a step due, given when it started and the SOP's time limit?

A limit like "7,5 jam" counts office hours only: evenings, weekends, national holidays and *cuti
bersama* do not count. Each SOP names its calendar (time zone, weekly hours with breaks, which
holiday categories apply); this module turns that into due times. Everything here is pure: the
caller passes the start time, and the answer is a timezone-aware UTC datetime to store.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .durations import Duration

if TYPE_CHECKING:  # at run time holidays stays a lazy import inside _holidays()
    from holidays import HolidayBase

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_SCAN_DAYS = 3660  # a calendar with no working day at all must not loop forever


@dataclass(frozen=True)
class Interval:
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Calendar:
    """An office's working week in its own time zone."""

    timezone: str = "UTC"
    hours: tuple[tuple[Interval, ...], ...] = field(default_factory=lambda: tuple(() for _ in WEEKDAYS))
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    extra_holidays: tuple[dt.date, ...] = ()
    extra_working_days: tuple[dt.date, ...] = ()
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
        return self.hours[day.weekday()]

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self.intervals_on(day))

    def add(self, start: dt.datetime, duration: Duration) -> dt.datetime:
        """The moment ``duration`` of working time after ``start`` (aware), returned in UTC.

        Days are whole working days: "4 hari" from Monday 10:00 is Friday 10:00 (skipping holidays),
        or the end of that day's hours if the office closes earlier. Minutes then run only while
        the office is open. A start outside office hours counts from the next opening.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        local = self._next_open(start.astimezone(self.zone))
        if duration.days:
            day = local.date()
            for _ in range(duration.days):
                day = self._next_working_day(day + dt.timedelta(days=1))
            local = self._clamp_into_day(day, local.timetz().replace(tzinfo=None))
        remaining = dt.timedelta(minutes=duration.minutes)
        while remaining > dt.timedelta(0):
            local = self._next_open(local)
            end = self._interval_end(local)
            available = end - local
            if available >= remaining:
                local = local + remaining
                remaining = dt.timedelta(0)
            else:
                remaining -= available
                local = end
        return local.astimezone(dt.timezone.utc)

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

    # -- helpers -------------------------------------------------------------------------------
    def _at(self, day: dt.date, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, t, tzinfo=self.zone)

    def _next_working_day(self, day: dt.date) -> dt.date:
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("calendar has no working day within ten years")

    def _next_open(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself if the office is open then, else the next opening time."""
        day = moment.date()
        for _ in range(_MAX_SCAN_DAYS):
            for iv in self.intervals_on(day):
                s, e = self._at(day, iv.start), self._at(day, iv.end)
                if moment < e:
                    return max(moment, s)
            day += dt.timedelta(days=1)
            moment = max(moment, self._at(day, dt.time(0)))
        raise ValueError("calendar has no working hours within ten years")

    def _interval_end(self, moment: dt.datetime) -> dt.datetime:
        for iv in self.intervals_on(moment.date()):
            s, e = self._at(moment.date(), iv.start), self._at(moment.date(), iv.end)
            if s <= moment < e:
                return e
        raise AssertionError("moment is not inside working hours")  # pragma: no cover

    def _clamp_into_day(self, day: dt.date, clock: dt.time) -> dt.datetime:
        intervals = self.intervals_on(day)
        moment = self._at(day, clock)
        first, last = self._at(day, intervals[0].start), self._at(day, intervals[-1].end)
        return min(max(moment, first), last)


def _micros(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class _WorkIndex:
    """Working microseconds per day of a calendar, cumulated, built a year at a time on demand.

    ``_years[y] = _Year(offset, prefix, spans)``: ``offset`` is the working time from the base
    year's 1 January to y's 1 January (negative before the base year), ``prefix[i]`` the working
    time from 1 January to the start of day i of the year (``prefix[-1]`` the whole year),
    ``spans[i]`` that day's working intervals in microseconds since midnight (holidays already
    applied). Years are added contiguously outward from the first one asked for, under a lock;
    reads need none.
    """

    def __init__(self) -> None:
        self._years: dict[int, _Year] = {}
        self._lo = self._hi = 0
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[_WorkIndex], tuple[()]]:  # copies and pickles start empty
        return (type(self), ())

    def worked_until(self, cal: Calendar, moment: dt.datetime) -> int:
        """Working microseconds from the base up to the naive local ``moment``."""
        day = moment.date()
        year = self._years.get(day.year) or self._extend(cal, day.year)
        i = day.toordinal() - year.first_ordinal
        total = year.offset + year.prefix[i]
        clock = ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond
        for s, e in year.spans[i]:
            if clock > s:
                total += min(clock, e) - s
        return total

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
                self._years[self._lo - 1] = _Year(offset, built.prefix, built.spans, built.first_ordinal)
                self._lo -= 1
            return self._years[year]


@dataclass(frozen=True)
class _Year:
    offset: int
    prefix: list[int]
    spans: list[tuple[tuple[int, int], ...]]
    first_ordinal: int

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
        return _Year(offset, prefix, spans, dt.date(year, 1, 1).toordinal())


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
