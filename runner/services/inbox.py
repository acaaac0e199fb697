"""What each person sees: the cases waiting for their role and unit, and the cases they may browse.

The inbox is a query, not a per-case loop: the access policy turns "which states of which stored
version may this actor act in, see, or be told about" into one SQL filter, so the page costs the
same at a million cases as at a thousand (given the state/unit index), and lists can never show a
case the case page would refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Select, not_, select
from sqlalchemy.orm import Session

from .. import access, deadlines
from ..access import Actor
from ..definition import Sop, Text
from ..errors import NotFound
from ..deadlines import DeadlineState
from ..privacy import MASK, Privacy
from ..registry import Registry
from ..store import Case
from .accounts import units as unit_names
from .cases import case_title, engine_of, is_overdue, utcnow
from .inbox_deadlines import deadline_counts, deadline_filter
from .publishing import stored_versions


_MAX_PAGE = 1_000_000  # beyond any real list; keeps OFFSET inside a 64-bit integer
_PAGE_RE = re.compile(r"[0-9]{1,7}")


def page_number(text: str | None) -> int:
    """The page of a list a query parameter names: absent or empty is page 1; otherwise plain ASCII
    digits naming 1 to 1,000,000, else NotFound — like a case id that names nothing. A page past the
    end of the list is a page without rows (the list shrinks as cases close; a link must not break)."""
    if text is None or text == "":
        return 1
    page = int(text) if _PAGE_RE.fullmatch(text) else 0
    if not 1 <= page <= _MAX_PAGE:
        raise NotFound(f"no page {text[:20]!r}")
    return page


@dataclass(frozen=True)
class CaseRow:
    id: int
    title: Text | str  # display text (see cases.case_title), or the mask
    sop_title: Text
    step: Text
    step_no: int | None
    unit_name: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    due_advisory: bool
    overdue: bool
    closed: bool
    tracking_code: str | None
    timezone: str
    remaining_minutes: int | None  # working minutes until due (negative when late)
    deadline: DeadlineState = DeadlineState.NONE  # see runner.deadlines.state_of
    escalated: bool = False  # escalated to this actor (access.is_escalated)


def _title(sop: Sop, case: Case, actor: Actor) -> Text | str:
    """The case's title, masked when it is an anonymous reporter's identity and not for this actor."""
    flow = sop.flow(case.flow)
    if flow is not None and flow.title_field in sop.identity_fields() and \
            not access.sees_identity(sop, actor, Privacy.of(case.data).anonymous):
        return MASK
    return case_title(sop, case)


def _rows(session: Session, registry: Registry, stmt: Select[Case], now: dt.datetime, actor: Actor) -> list[CaseRow]:
    units = unit_names(session)
    rows = []
    for case in session.scalars(stmt):
        sop = engine_of(registry, case).sop
        activity = sop.activity(case.state)
        rows.append(CaseRow(
            id=case.id, title=_title(sop, case, actor), sop_title=sop.title, step=sop.state_name(case.state),
            step_no=activity.no if activity else None, unit_name=units.get(case.unit_id) if case.unit_id else None,
            created_at=case.created_at, due_at=case.due_at, due_advisory=case.due_advisory,
            overdue=is_overdue(case, now), closed=case.closed_at is not None, tracking_code=case.tracking_code,
            timezone=sop.calendar.timezone,
            remaining_minutes=case.remaining_minutes if case.paused_at is not None else  # clock stopped
            (sop.calendar_at(case.state, case.unit_id).working_minutes_between(now, case.due_at)
             if case.due_at is not None and case.closed_at is None else None),
            deadline=deadlines.of_case(sop, case, now),
            escalated=case.closed_at is None and access.is_escalated(
                sop, case.state, actor, case.unit_id, case.escalate_at, case.paused_at is not None, now),
        ))
    return rows


def waiting(session: Session, registry: Registry, actor: Actor, *, limit: int = 200,
            now: dt.datetime | None = None, deadline: DeadlineState | None = None) -> list[CaseRow]:
    """Open cases whose current step this actor may perform, most urgent first; only those in the
    ``deadline`` state when one is given (``?tenggat=``)."""
    now = now or utcnow()
    versions = list(stored_versions(session, registry))
    where = access.waiting_criteria(versions, actor)
    stmt = select(Case).where(Case.closed_at.is_(None), where)
    if deadline is not None:
        stmt = stmt.where(deadline_filter(deadline, deadline_counts(session, versions, where, now), now))
    stmt = stmt.order_by(Case.due_at.is_(None), Case.due_at, Case.id).limit(limit)
    return _rows(session, registry, stmt, now, actor)


def waiting_counts(session: Session, registry: Registry, actor: Actor,
                   now: dt.datetime | None = None) -> dict[DeadlineState, int]:
    """How many of the cases waiting for this actor are in each deadline state (for the filter)."""
    versions = list(stored_versions(session, registry))
    counts = deadline_counts(session, versions, access.waiting_criteria(versions, actor), now or utcnow())
    return {state: counts.count(state) for state in deadlines.FILTERABLE}


def escalated(session: Session, registry: Registry, actor: Actor, *, limit: int = 200,
              now: dt.datetime | None = None) -> list[CaseRow]:
    """Open cases escalated to one of this actor's roles (overdue long enough at a step naming the
    role in ``escalate_to``), longest overdue first — derived from stored times at query time. Cases
    the actor may act on are left to ``waiting``, whose rows carry the same ``escalated`` mark."""
    now = now or utcnow()
    versions = list(stored_versions(session, registry))
    stmt = (select(Case).where(access.escalated_criteria(versions, actor, now),
                               not_(access.waiting_criteria(versions, actor)))  # those are listed already
            .order_by(Case.escalate_at, Case.id).limit(limit))
    return _rows(session, registry, stmt, now, actor)


def for_information(session: Session, registry: Registry, actor: Actor, *, limit: int = 50,
                    now: dt.datetime | None = None) -> list[CaseRow]:
    """Open cases this actor is told about but need not act on, oldest first."""
    versions = list(stored_versions(session, registry))
    stmt = (select(Case).where(Case.closed_at.is_(None), access.informed_criteria(versions, actor),
                               not_(access.waiting_criteria(versions, actor)))
            .order_by(Case.updated_at, Case.id).limit(limit))
    return _rows(session, registry, stmt, now or utcnow(), actor)


def browse(session: Session, registry: Registry, actor: Actor, *, open_only: bool = True, page: int = 1,
           per_page: int = 50, now: dt.datetime | None = None) -> list[CaseRow]:
    """Cases this actor may look at (their unit's, or all for agency staff), newest first; ``page``
    outside 1 to 1,000,000 is NotFound (see ``page_number``)."""
    if not 1 <= page <= _MAX_PAGE:
        raise NotFound(f"no page {page}")
    stmt = select(Case).where(access.visible_criteria(list(stored_versions(session, registry)), actor))
    if open_only:
        stmt = stmt.where(Case.closed_at.is_(None))
    stmt = stmt.order_by(Case.id.desc()).offset((page - 1) * per_page).limit(per_page)
    return _rows(session, registry, stmt, now or utcnow(), actor)
