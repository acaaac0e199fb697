"""Escalations recorded by ``sop tick``: one notice and one history entry per escalated step.

Whether a case *is* escalated needs no process at all: it is ``cases.escalate_at <= now`` (stored with
the due time, see ``runner.deadlines.escalate_at``), which the inbox reads through
``access.escalated_criteria``. ``tick`` only writes down that it happened, so the notifications
issue can deliver it and the history shows it: a ``notices`` row of kind "escalation" keyed by the
step and the history entry that entered it (a step entered again later escalates again), and an
``__escalated`` history entry. Both are written in one savepoint, and the unique (case, kind, key)
constraint makes a second tick — or two ticks at once — write nothing more.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..errors import StorageError
from ..logs import event
from ..registry import Registry
from ..store import Case, HistoryEntry, Notice, violates
from . import outbox
from .cases import ESCALATE_TO_KEY, ESCALATED, engine_of, utcnow

log = logging.getLogger(__name__)
KIND = "escalation"
SYSTEM = "sistem"  # the actor named in the history entry (as for a move between versions)


@dataclass(frozen=True)
class Escalated:
    case_id: int
    state: str
    key: str
    roles: tuple[str, ...]


def _entered_seq(session: Session, case_id: int) -> int:
    """The history entry that entered the open step: the last one that is not a pause, resumption,
    escalation or move between versions (those keep the same step going)."""
    seq = session.scalar(select(HistoryEntry.seq).where(
        HistoryEntry.case_id == case_id,
        or_(HistoryEntry.action.is_(None), HistoryEntry.action.not_like("\\_\\_%", escape="\\")))
        .order_by(HistoryEntry.seq.desc()).limit(1))
    return seq or 1


def escalation_key(state: str, entered_seq: int) -> str:
    return f"{state}#{entered_seq}"


def record_escalations(session: Session, registry: Registry, now: dt.datetime | None = None) -> list[Escalated]:
    """Queue a notice and append a history entry for every step escalated by ``now`` and not yet
    recorded; idempotent. Cases on hold, closed, or without an escalation are never touched."""
    backfill_escalate_at(session, registry)
    now = now or utcnow()
    due = list(session.scalars(select(Case).where(
        Case.escalate_at.is_not(None), Case.escalate_at <= now, Case.paused_at.is_(None),
        Case.closed_at.is_(None)).order_by(Case.id)))
    if not due:
        return []
    known = {(c, k) for c, k in session.execute(select(Notice.case_id, Notice.key).where(
        Notice.kind == KIND, Notice.case_id.in_([c.id for c in due])))}
    done = []
    for case in due:
        sop = engine_of(registry, case).sop
        activity = sop.activity(case.state)
        if activity is None or activity.escalation is None:
            continue  # a revision dropped the escalation; the stored moment is stale
        key = escalation_key(case.state, _entered_seq(session, case.id))
        if (case.id, key) in known:
            continue
        roles = activity.escalation.roles
        previous = session.scalar(select(HistoryEntry.at).where(HistoryEntry.case_id == case.id)
                                  .order_by(HistoryEntry.seq.desc()).limit(1))
        try:
            with session.begin_nested():
                session.add(Notice(
                    case_id=case.id, kind=KIND, key=key, created_at=now, sent_at=None,
                    payload={"state": case.state, "step": activity.no, "roles": list(roles),
                             "due_at": case.due_at.isoformat() if case.due_at else None,
                             "escalate_at": case.escalate_at.isoformat() if case.escalate_at else None}))
                session.add(HistoryEntry(
                    case_id=case.id, seq=case.version + 1, at=now, user_id=None, actor_name=SYSTEM, role="",
                    unit_id=None, activity=case.state, action=ESCALATED, from_state=case.state,
                    to_state=case.state, data={ESCALATE_TO_KEY: list(roles), "_notice_key": key},
                    due_at=case.due_at,
                    worked_minutes=max(sop.calendar_at(case.state, case.unit_id).working_minutes_between(previous, now), 0) if previous else None,
                ))
                flag_modified(case, "escalate_at")  # moves the case's version like any entry (from = to)
                session.flush()
        except StaleDataError:
            continue  # the case moved on meanwhile; the next tick looks again
        except IntegrityError as exc:
            if violates(exc, "uq_notices_case_kind_key") or violates(exc, "uq_history_case_seq"):
                continue  # another tick recorded it (or the case moved) at the same moment
            raise StorageError(f"the escalation of case {case.id} could not be saved") from exc
        outbox.step_escalated(session, sop, case, roles, now)  # emails, written with the escalation
        event(log, "case.escalated", case=case.id, sop=sop.id, state=case.state, roles=",".join(roles))
        done.append(Escalated(case.id, case.state, key, roles))
    return done


__all__ = ["Escalated", "KIND", "escalation_key", "record_escalations"]


def backfill_escalate_at(session: Session, registry: Registry) -> int:
    """Set ``escalate_at`` on open cases that lack it at a step that escalates: cases whose step was
    entered before the column existed (migration 0007). Steps entered since get it with their due
    time, and a revision's moves recompute it, so after one tick this finds nothing (one indexed
    query per stored version with escalating steps)."""
    from .. import deadlines
    from .publishing import stored_versions

    filled = 0
    for definition_id, sop in stored_versions(session, registry):
        states = [a.id for a in sop.activities if a.escalation is not None]
        if not states:
            continue
        rows = session.execute(select(Case.id, Case.state, Case.unit_id, Case.due_at).where(
            Case.definition_id == definition_id, Case.state.in_(states), Case.escalate_at.is_(None),
            Case.closed_at.is_(None), Case.paused_at.is_(None), Case.due_at.is_not(None),
            Case.due_advisory.is_(False))).all()
        for case_id, state, unit, due_at in rows:
            # A column of the table, not of the mapped Case: no step was taken, so the case's version
            # (its history length, which ``sop check-db`` compares) must not move.
            cases = cast(Table, Case.__table__)
            session.execute(update(cases).where(cases.c.id == case_id, cases.c.escalate_at.is_(None))
                            .values(escalate_at=deadlines.escalate_at(sop, state, due_at, False, unit)))
            filled += 1
    if filled:
        event(log, "escalation.backfilled", cases=filled)
    return filled
