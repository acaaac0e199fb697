"""Deadline states: is an open step on time, due soon, overdue, advisory or paused — and when does it
escalate?

One pure function (``state_of``) answers it for the inbox, the case page and the tests from what a
case stores (``due_at``, ``due_advisory``, ``paused_at``, ``closed_at``) and the SOP's calendar. It
costs a constant number of calendar look-ups however old the case, because
``Calendar.working_minutes_between`` and ``Calendar.add`` read cumulative per-day working time instead
of walking the days.

"Due soon" is the definition's choice: ``due_soon`` on the step, else on the SOP, else
``DEFAULT_DUE_SOON`` (a quarter of the step's time limit). A span ("2 jam", "1 hari") means "due soon
once the due time is within that much working time"; a share ("25%") means "once the working time left
is at most that share of the working time the step was given".

Escalation is derived the same way: ``escalate_at`` is the due time plus the step's ``escalate_after``
in working time, computed when the due time is computed and stored on the case, so "which cases are
escalated to me" is an indexed comparison in SQL (``access.escalated_criteria``), with nothing running
in the background.
"""

from __future__ import annotations

import datetime as dt
import enum
import math

from typing import TYPE_CHECKING

from .definition.model import Activity, DueSoon, Sop
from .durations import Duration
from .working_time import Calendar

if TYPE_CHECKING:
    from .store.models import Case

DEFAULT_DUE_SOON = DueSoon("25%", fraction=0.25)


class DeadlineState(str, enum.Enum):
    """The state of an open step's deadline; the value is the inbox's ``?tenggat=`` filter word."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ADVISORY = "advisory"  # the limit is shown, never counted as overdue
    PAUSED = "paused"  # on hold (Tunda): the clock stops, so never overdue
    NONE = "none"  # closed, or the step has no time limit


# The states a person can filter the inbox by, in the order the page shows them.
FILTERABLE = (DeadlineState.OVERDUE, DeadlineState.DUE_SOON, DeadlineState.ON_TIME, DeadlineState.ADVISORY,
              DeadlineState.PAUSED)


def due_soon_rule(sop: Sop, activity: Activity | None) -> DueSoon:
    """The threshold that applies at ``activity``: its own, else the SOP's, else the default."""
    return (activity.due_soon if activity is not None else None) or sop.due_soon or DEFAULT_DUE_SOON


def state_of(*, now: dt.datetime, due_at: dt.datetime | None, advisory: bool, calendar: Calendar,
             soon: DueSoon = DEFAULT_DUE_SOON, started: dt.datetime | None = None, paused: bool = False,
             closed: bool = False) -> DeadlineState:
    """The deadline state of one open step at ``now``.

    ``started`` is when the step began, needed only for a share-of-the-limit threshold (without it a
    share counts as 0: due soon only once no working time is left). Overdue means strictly past the
    due time, as ``cases.is_overdue`` says.
    """
    if closed:
        return DeadlineState.NONE
    if paused:
        return DeadlineState.PAUSED
    if due_at is None:
        return DeadlineState.NONE
    if advisory:
        return DeadlineState.ADVISORY
    if due_at < now:
        return DeadlineState.OVERDUE
    left = calendar.working_minutes_between(now, due_at)
    return DeadlineState.DUE_SOON if left <= threshold_minutes(soon, calendar, now, due_at, started) \
        else DeadlineState.ON_TIME


def threshold_minutes(soon: DueSoon, calendar: Calendar, now: dt.datetime, due_at: dt.datetime,
                      started: dt.datetime | None) -> int:
    """The "due soon" threshold in working minutes for a step due at ``due_at``.

    A span with whole days is measured from ``now`` on the calendar (a working day is as long as the
    office is open that day); a share is of the working minutes from ``started`` to ``due_at``."""
    if soon.fraction is not None:
        if started is None:
            return 0
        return math.ceil(soon.fraction * max(calendar.working_minutes_between(started, due_at), 0))
    assert soon.duration is not None
    if not soon.duration.days:
        return soon.duration.minutes
    return calendar.working_minutes_between(now, calendar.add(now, soon.duration))


def escalate_at(sop: Sop, state: str, due_at: dt.datetime | None, advisory: bool,
                unit: str | None = None) -> dt.datetime | None:
    """When a step entered at ``state`` and due at ``due_at`` escalates, or None when it never does.

    Store it with the due time (``cases.escalate_at``) every time the due time is set or moved."""
    activity = sop.activity(state)
    if activity is None or activity.escalation is None or due_at is None or advisory:
        return None
    after = activity.escalation.after
    return sop.calendar_at(state, unit).add(due_at, after) if after else due_at


def of_case(sop: Sop, case: Case, now: dt.datetime) -> DeadlineState:
    """``state_of`` for a stored case: the step's clock started when the case last moved
    (``updated_at``), a paused case is "paused", a closed one has no deadline."""
    return state_of(now=now, due_at=case.due_at, advisory=case.due_advisory,
                    calendar=sop.calendar_at(case.state, case.unit_id),
                    soon=due_soon_rule(sop, sop.activity(case.state)), started=case.updated_at,
                    paused=case.paused_at is not None, closed=case.closed_at is not None)


def soon_horizon(sop: Sop, now: dt.datetime) -> dt.datetime:
    """A moment no step of ``sop`` that is due soon at ``now`` can be due after: lists classify only
    the cases due before it one by one (every later one is on time), so counting stays cheap."""
    days = minutes = 0
    for activity in sop.activities:
        rule = due_soon_rule(sop, activity)
        span = rule.duration if rule.duration is not None else \
            (activity.time_limit.duration if activity.time_limit else Duration())
        days, minutes = max(days, span.days), max(minutes, span.minutes)
    span = Duration(days + 1, minutes + 1)  # the latest over the SOP's calendar and its units'
    return max(c.add(now, span) for c in (sop.calendar, *(u for _, u in sop.calendar.units)))


def late_minutes(calendar: Calendar, now: dt.datetime, due_at: dt.datetime | None) -> int:
    """Working minutes past the due time (0 when not late)."""
    if due_at is None or due_at >= now:
        return 0
    return max(calendar.working_minutes_between(due_at, now), 0)


__all__ = ["DEFAULT_DUE_SOON", "FILTERABLE", "DeadlineState", "due_soon_rule", "escalate_at", "late_minutes",
           "of_case", "soon_horizon", "state_of", "threshold_minutes"]
