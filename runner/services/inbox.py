"""What each person sees: the cases waiting for their role and unit, and the cases they may browse.

The inbox is a query, not a per-case loop: for each published definition version we ask the engine
which states this actor may act in (with and without a unit condition) and turn that into one SQL
filter, so the page costs the same at a million cases as at a thousand (given the state/unit index).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, false, not_, or_, select
from sqlalchemy.orm import Session

from ..engine import Actor
from ..registry import Registry
from ..store import Case, Definition
from .accounts import units as unit_names
from .cases import is_overdue, utcnow


@dataclass(frozen=True)
class CaseRow:
    id: int
    title: str
    sop_title: str
    step: str
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


def _engines(session: Session, registry: Registry):
    for d in session.scalars(select(Definition)):
        yield d, registry.engine_for_version(d.version, d.source, d.source_path)


def _waiting_filter(session: Session, registry: Registry, actor: Actor):
    clauses = []
    for d, engine in _engines(session, registry):
        free, scoped = [], []
        for activity in engine.sop.activities:
            roles = [engine.sop.role(r) for r in activity.performers if r in actor.roles]
            if any(not r.unit_scoped for r in roles):
                free.append(activity.id)
            elif roles and actor.unit:
                scoped.append(activity.id)
        if free:
            clauses.append(and_(Case.definition_id == d.id, Case.state.in_(free)))
        if scoped:
            clauses.append(and_(Case.definition_id == d.id, Case.state.in_(scoped), Case.unit_id == actor.unit))
    return or_(*clauses) if clauses else false()


def _informed_filter(session: Session, registry: Registry, actor: Actor):
    """Cases that just received the output of a step naming one of the actor's roles as recipient
    (Kasi and Kabid are told of reports sent up to the Kadis without having to act on them)."""
    clauses = []
    for d, engine in _engines(session, registry):
        sop = engine.sop
        free, scoped = set(), set()
        for activity in sop.activities:
            targets = {a.to for a in activity.actions if sop.activity(a.to) is not None}
            for role_id in set(activity.recipients) & actor.roles:
                role = sop.role(role_id)
                if not role.unit_scoped:
                    free |= targets
                elif actor.unit:
                    scoped |= targets
        if free:
            clauses.append(and_(Case.definition_id == d.id, Case.state.in_(sorted(free))))
        if scoped:
            clauses.append(and_(Case.definition_id == d.id, Case.state.in_(sorted(scoped)),
                                Case.unit_id == actor.unit))
    return or_(*clauses) if clauses else false()


def _visible_filter(session: Session, registry: Registry, actor: Actor):
    clauses = []
    for d, engine in _engines(session, registry):
        roles = [engine.sop.role(r) for r in actor.roles if engine.sop.role(r)]
        if any(not r.unit_scoped and not r.external for r in roles):
            clauses.append(Case.definition_id == d.id)
        elif any(r.unit_scoped for r in roles) and actor.unit:
            clauses.append(and_(Case.definition_id == d.id, Case.unit_id == actor.unit))
    return or_(*clauses) if clauses else false()


def _rows(session: Session, registry: Registry, stmt, now: dt.datetime) -> list[CaseRow]:
    units = unit_names(session)
    rows = []
    for case in session.scalars(stmt):
        d = case.definition
        sop = registry.engine_for_version(d.version, d.source, d.source_path).sop
        activity = sop.activity(case.state)
        rows.append(CaseRow(
            id=case.id, title=case.title, sop_title=sop.title, step=sop.state_name(case.state),
            step_no=activity.no if activity else None, unit_name=units.get(case.unit_id) if case.unit_id else None,
            created_at=case.created_at, due_at=case.due_at, due_advisory=case.due_advisory,
            overdue=is_overdue(case, now), closed=case.closed_at is not None, tracking_code=case.tracking_code,
            timezone=sop.calendar.timezone,
            remaining_minutes=(sop.calendar.working_minutes_between(now, case.due_at)
                               if case.due_at is not None and case.closed_at is None else None),
        ))
    return rows


def waiting(session: Session, registry: Registry, actor: Actor, *, limit: int = 200,
            now: dt.datetime | None = None) -> list[CaseRow]:
    """Open cases whose current step this actor may perform, most urgent first."""
    stmt = (select(Case).where(Case.closed_at.is_(None), _waiting_filter(session, registry, actor))
            .order_by(Case.due_at.is_(None), Case.due_at, Case.id).limit(limit))
    return _rows(session, registry, stmt, now or utcnow())


def for_information(session: Session, registry: Registry, actor: Actor, *, limit: int = 50,
                    now: dt.datetime | None = None) -> list[CaseRow]:
    """Open cases this actor is told about but need not act on, oldest first."""
    stmt = (select(Case).where(Case.closed_at.is_(None), _informed_filter(session, registry, actor),
                               not_(_waiting_filter(session, registry, actor)))
            .order_by(Case.updated_at, Case.id).limit(limit))
    return _rows(session, registry, stmt, now or utcnow())


def browse(session: Session, registry: Registry, actor: Actor, *, open_only: bool = True, page: int = 1,
           per_page: int = 50, now: dt.datetime | None = None) -> list[CaseRow]:
    """Cases this actor may look at (their unit's, or all for agency staff), newest first."""
    stmt = select(Case).where(_visible_filter(session, registry, actor))
    if open_only:
        stmt = stmt.where(Case.closed_at.is_(None))
    stmt = stmt.order_by(Case.id.desc()).offset((max(page, 1) - 1) * per_page).limit(per_page)
    return _rows(session, registry, stmt, now or utcnow())
