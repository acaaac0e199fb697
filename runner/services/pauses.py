"""Putting a step on hold (LAPOR!'s *Tunda*) and taking it off hold.

A step that waits on someone outside the office — the reporter completing a report, another agency's
data — must not run out its time limit meanwhile. Pausing stores the working minutes left on the
case (``cases.remaining_minutes``, negative when the step was already overdue) and the moment and
reason of the pause; resuming sets the due time from what was left, counted from the resumption.
So the due time moves by exactly the working time the step was on hold, and a step paused when late
stays late by the same amount: a pause hides no lateness.

Only a performer of the open step may pause or resume it (the access policy's ``acting_role``), only
with a reason the definition lists for that step (``pause_reasons``); the reason's label is what the
reporter reads on the tracking page, never a note typed by staff. Both moments are append-only
history entries (``__paused`` / ``__resumed``) and move the case's optimistic ``version`` like a
step, so a stale pause or resume form gets CaseMovedOn, as a stale step form does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import access, deadlines
from ..access import Actor
from ..definition import Activity, Sop
from ..definition.model import PauseReason
from ..durations import Duration
from ..errors import CaseMovedOn, InvalidInput, NotAllowed, StorageError
from ..logs import event
from ..registry import Registry
from ..store import Case, HistoryEntry, violates
from ..working_time import Calendar
from . import outbox
from .cases import (
    PAUSE_NOTE_KEY,
    PAUSE_REASON_KEY,
    PAUSED,
    REMAINING_KEY,
    RESUMED,
    _moved_on_message,
    _visible_case,
    utcnow,
)

log = logging.getLogger(__name__)
MAX_NOTE = 2000


# -- the clock ------------------------------------------------------------------------------------
def minutes_left(calendar: Calendar, due_at: dt.datetime | None, now: dt.datetime) -> int | None:
    """Working minutes from ``now`` to ``due_at`` (negative when already overdue); None: no limit."""
    return None if due_at is None else calendar.working_minutes_between(now, due_at)


def due_after_resume(calendar: Calendar, remaining: int, now: dt.datetime) -> dt.datetime:
    """The due time of a step resumed at ``now`` with ``remaining`` working minutes left.

    Left time counts forward from ``now``. A negative ``remaining`` (paused when late) gives the
    latest moment that many working minutes before ``now``, so the step is exactly as overdue as it
    was when paused. Working minutes are counted in constant time, so the backward search (a
    bisection over seconds) costs a few dozen counts however long the overdue time."""
    if remaining >= 0:
        return calendar.add(now, Duration(minutes=remaining))
    overdue = -remaining
    span = dt.timedelta(minutes=overdue)
    while calendar.working_minutes_between(now - span, now) < overdue:  # widen until far enough back
        span *= 2
        if span > dt.timedelta(days=366 * 50):  # a calendar with (almost) no working time
            return now - span
    lo, hi = int(-span.total_seconds()), 0  # seconds from now: lo is far enough back, hi is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if calendar.working_minutes_between(now + dt.timedelta(seconds=mid), now) >= overdue:
            lo = mid
        else:
            hi = mid
    return (now + dt.timedelta(seconds=lo)).astimezone(dt.timezone.utc)


# -- what the case page shows ---------------------------------------------------------------------
@dataclass(frozen=True)
class PauseState:
    """The on-hold panel of a case page: whether the step waits and why, and what this actor may do."""

    paused: bool
    reason: PauseReason | None  # the reason it waits (None when not paused, or its id left the definition)
    paused_at: dt.datetime | None
    remaining_minutes: int | None  # working minutes left when paused (negative: it was overdue)
    reasons: tuple[PauseReason, ...]  # the reasons this actor may pause with now (empty: no pause button)
    may_resume: bool


def pause_state(sop: Sop, case: Case, actor: Actor) -> PauseState:
    activity = sop.activity(case.state) if case.closed_at is None else None
    mine = activity is not None and access.acting_role(sop, activity, actor, case.unit_id) is not None
    paused = case.paused_at is not None
    return PauseState(
        paused=paused, reason=activity.pause_reason(case.pause_reason) if activity and paused else None,
        paused_at=case.paused_at, remaining_minutes=case.remaining_minutes if paused else None,
        reasons=activity.pause_reasons if activity is not None and mine and not paused else (),
        may_resume=paused and mine,
    )


# -- pausing and resuming -------------------------------------------------------------------------
def pause_case(session: Session, registry: Registry, case_id: int, actor: Actor, reason_id: str, note: str = "",
               *, expected_version: int | None, now: dt.datetime | None = None) -> Case:
    """Put the case's open step on hold with one of the step's ``pause_reasons``; ``note`` is for
    colleagues (kept in the history, never shown to the reporter)."""
    now = now or utcnow()
    case, sop, activity, role = _open_step(session, registry, case_id, actor, expected_version, "pause")
    if case.paused_at is not None:
        raise NotAllowed(f"step {activity.no} is already on hold; resume it first")
    reason = activity.pause_reason(reason_id)
    if reason is None:
        if not activity.pausable:
            raise NotAllowed(f"step {activity.no} cannot be put on hold (its definition lists no pause_reasons)")
        raise InvalidInput(f"'{reason_id}' is not a reason step {activity.no} may be put on hold for; its reasons: "
                           + ", ".join(r.id for r in activity.pause_reasons))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    remaining = minutes_left(sop.calendar_at(case.state, case.unit_id), case.due_at, now)
    data: dict[str, object] = {PAUSE_REASON_KEY: reason.id, REMAINING_KEY: remaining}
    if note:
        data[PAUSE_NOTE_KEY] = note
    worked = _worked_since_last(session, sop, case, now)
    _record(session, case, actor, role, PAUSED, data, now, worked=worked)
    case.paused_at, case.pause_reason, case.remaining_minutes = now, reason.id, remaining
    case.escalate_at = None  # a case on hold never escalates; resuming sets it again
    _flush(session, case, "pause")
    outbox.step_paused(session, sop, case, now)  # the reporter reads the reason's label, in this transaction
    event(log, "step.paused", case=case.id, sop=case.sop_id, activity=case.state, reason=reason.id,
          remaining=remaining if remaining is not None else "-")
    return case


def resume_case(session: Session, registry: Registry, case_id: int, actor: Actor, *,
                expected_version: int | None, now: dt.datetime | None = None) -> Case:
    """Take the case's open step off hold: it is due the working time that was left from ``now``."""
    now = now or utcnow()
    case, sop, activity, role = _open_step(session, registry, case_id, actor, expected_version, "resume")
    if case.paused_at is None:
        raise NotAllowed(f"step {activity.no} is not on hold")
    remaining = case.remaining_minutes
    calendar = sop.calendar_at(case.state, case.unit_id)
    due_at = due_after_resume(calendar, remaining, now) if remaining is not None else None
    paused_for = max(0, calendar.working_minutes_between(case.paused_at, now))
    _record(session, case, actor, role, RESUMED,
            {PAUSE_REASON_KEY: case.pause_reason, REMAINING_KEY: remaining, "_paused_minutes": paused_for}, now,
            worked=0, due_at=due_at)
    case.paused_at = case.pause_reason = case.remaining_minutes = None
    if remaining is not None:
        case.due_at = due_at
        case.escalate_at = deadlines.escalate_at(sop, case.state, due_at, case.due_advisory, case.unit_id)
    _flush(session, case, "resume")
    event(log, "step.resumed", case=case.id, sop=case.sop_id, activity=case.state, paused_minutes=paused_for)
    return case


def _open_step(session: Session, registry: Registry, case_id: int, actor: Actor, expected_version: int | None,
               what: str) -> tuple[Case, Sop, Activity, str]:
    """The case, its SOP, its open step and the actor's role there — or why not: NotFound when the
    actor may not see it, CaseMovedOn for a stale form, NotAllowed for anyone but a performer."""
    case, engine = _visible_case(session, registry, case_id, actor, fresh=True)
    sop = engine.sop
    if expected_version is not None and case.version != expected_version:
        event(log, "step.conflict", logging.WARNING, case=case.id, sop=case.sop_id, activity=case.state,
              action=f"__{what}", reason="stale form")
        raise CaseMovedOn(_moved_on_message(session, sop, case))
    activity = sop.activity(case.state)
    if activity is None or case.closed_at is not None:
        raise NotAllowed("the case is closed: there is no step to put on hold or resume")
    role = access.acting_role(sop, activity, actor, case.unit_id)
    if role is None:
        event(log, "step.refused", logging.WARNING, case=case.id, sop=case.sop_id, activity=case.state,
              action=f"__{what}", roles=",".join(sorted(actor.roles)), unit=actor.unit or "-", reason="not a performer")
        raise access.refusal(sop, activity, case.unit_id)
    return case, sop, activity, role


def _worked_since_last(session: Session, sop: Sop, case: Case, now: dt.datetime) -> int:
    previous = session.scalar(select(func.max(HistoryEntry.at)).where(HistoryEntry.case_id == case.id))
    return max(0, sop.calendar_at(case.state, case.unit_id).working_minutes_between(previous or case.created_at, now))


def _record(session: Session, case: Case, actor: Actor, role: str, action: str, data: dict[str, object],
            now: dt.datetime, *, worked: int, due_at: dt.datetime | None = None) -> None:
    """The history entry of a pause or resumption: the step stays where it is (from = to)."""
    session.add(HistoryEntry(
        case_id=case.id, seq=case.version + 1, at=now, user_id=actor.user_id, actor_name=actor.name, role=role,
        unit_id=actor.unit_for(role), activity=case.state, action=action, from_state=case.state, to_state=case.state,
        data=data, due_at=due_at if action == RESUMED else case.due_at, worked_minutes=worked,
    ))  # updated_at stays: it marks when the step was entered (runner.deadlines measures from it)


def _flush(session: Session, case: Case, what: str) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise CaseMovedOn("someone else changed this case at the same moment; reload it") from None
    except IntegrityError as exc:
        if violates(exc, "uq_history_case_seq"):
            raise CaseMovedOn("someone else changed this case at the same moment; reload it") from None
        log.error("step.%s_failed case=%s: the database refused the write", what, case.id, exc_info=True)
        raise StorageError("the case could not be saved; nothing was written") from None
