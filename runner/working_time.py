"""Working time: when is a step due, given when it started and the SOP's time limit?

A limit like "7,5 jam" counts office hours only: evenings, weekends, national holidays and *cuti
bersama* do not count. Each SOP names its calendar (time zone, weekly hours with breaks, which
holiday categories apply); this module turns that into due times. Everything here is pure: the
caller passes the start time, and the answer is a timezone-aware UTC datetime to store.
"""

from __future__ import annotations

import datetime as dt
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
        """Working minutes from ``start`` to ``end`` (negative when end is earlier)."""
        if end < start:
            return -self.working_minutes_between(end, start)
        a, b = start.astimezone(self.zone), end.astimezone(self.zone)
        total = dt.timedelta(0)
        day = a.date()
        while day <= b.date():
            for iv in self.intervals_on(day):
                s = self._at(day, iv.start)
                e = self._at(day, iv.end)
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return int(total.total_seconds() // 60)

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
