"""Working time each step of a case took, against its limit: the case page's "time vs limit" figures.

A step starts at the history entry before the one that performed it and ends at its own entry; the
entries in between (``__paused``, ``__resumed``, ``__escalated``, ``__migrated``: the same step goes
on) add their parts. The time it took is the entry's
stored ``worked_minutes`` when written (that one leaves out time on hold), else the working minutes
between the two moments on the SOP's calendar. Its limit is the step's ``time_limit`` measured from
its start on that calendar, so "4 hari" counts the working minutes of those four days. Constant time
per entry (``Calendar.working_minutes_between`` reads cumulative counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..definition.model import Sop
from ..store import HistoryEntry

_RESUMED = "__resumed"  # services.pauses: it ends the stretch on hold, which does not count


@dataclass(frozen=True)
class StepTime:
    worked_minutes: int
    limit_minutes: int | None  # None: the step has no time limit
    advisory: bool = False  # the limit is shown, never counted against the step

    @property
    def within(self) -> bool | None:
        """Whether the step kept its limit (None when there is none, or it is advisory)."""
        if self.limit_minutes is None or self.advisory:
            return None
        return self.worked_minutes <= self.limit_minutes


def limit_minutes(sop: Sop, activity_id: str, started: dt.datetime,
                  unit: str | None = None) -> tuple[int | None, bool]:
    """The working minutes ``activity_id``'s limit gives a step started at ``started``, and whether it
    is advisory."""
    activity = sop.activity(activity_id)
    if activity is None or activity.time_limit is None:
        return None, False
    limit = activity.time_limit
    cal = sop.calendar_at(activity_id, unit)
    minutes = limit.duration.minutes if not limit.duration.days else \
        cal.working_minutes_between(started, cal.add(started, limit.duration))
    return minutes, limit.advisory


def step_times(sop: Sop, entries: Sequence[HistoryEntry]) -> tuple[Mapping[int, StepTime], StepTime | None]:
    """Per history seq (steps only), and the case's total: all the time its steps took against the sum
    of their limits as the SOP states them (advisory ones included, and then the total is advisory too:
    the SOP's own total is such a sum)."""
    out: dict[int, StepTime] = {}
    started: dt.datetime | None = None  # when the open step began
    segment: dt.datetime | None = None  # when its clock last started running
    carried = 0  # working minutes of the step before a pause
    for e in entries:
        if segment is not None:
            part = 0 if e.action == _RESUMED else e.worked_minutes if e.worked_minutes is not None else \
                max(sop.calendar_at(e.activity or "", e.unit_id).working_minutes_between(segment, e.at), 0)
        else:
            part = 0
        segment = e.at
        if e.action is not None and e.action.startswith("__"):  # paused, resumed, escalated, migrated:
            carried += part
            continue
        if e.activity and started is not None:
            limit, advisory = limit_minutes(sop, e.activity, started, e.unit_id)
            out[e.seq] = StepTime(carried + part, limit, advisory)
        started, carried = e.at, 0
    if not out:
        return out, None
    limited = [t for t in out.values() if t.limit_minutes is not None]
    total = StepTime(sum(t.worked_minutes for t in out.values()),
                     sum(t.limit_minutes or 0 for t in limited) if limited else None,
                     advisory=any(t.advisory for t in limited))
    return out, total
