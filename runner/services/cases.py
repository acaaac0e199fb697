"""Use cases on running cases: start one, perform a step, read one, track one publicly.

Each function is one unit of work on the Session it is given; the caller commits (see
``runner.store.transaction``). The state change, the case's data and the history row are flushed
together, and the case's optimistic ``version`` guarantees that of two people acting on the same
step exactly one wins; the other gets CaseMovedOn and nothing of theirs is written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..definition import Activity, Action, End, Field, Flow, Sop
from ..engine import Actor, Engine, Step
from ..errors import CaseMovedOn, NotAllowed, NotFound
from ..registry import Registry
from ..store import Case, HistoryEntry
from .accounts import units as unit_names
from .publishing import current_row

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(text: str) -> str:
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else raw


def engine_of(registry: Registry, case: Case) -> Engine:
    d = case.definition
    return registry.engine_for_version(d.version, d.source, d.source_path)


# -- starting -------------------------------------------------------------------------------------
def start_case(
    session: Session, registry: Registry, sop_id: str, flow_id: str, raw: Mapping[str, Any], *,
    actor: Actor | None, now: dt.datetime | None = None, period: str | None = None,
) -> Case:
    """Open a case on the *current* version of the SOP. ``actor`` None: the scheduler."""
    now = now or utcnow()
    sop = registry.get(sop_id)
    if sop is None:
        raise NotFound(f"no SOP '{sop_id}'")
    flow = sop.flow(flow_id)
    if flow is None:
        raise NotFound(f"SOP '{sop_id}' has no flow '{flow_id}'")
    engine = registry.engine(sop)
    step = engine.start(flow, actor, raw, now)
    definition = current_row(session, sop)
    values = {k: v for k, v in step.values.items() if v is not None}
    title = str(values.get(flow.title_field, "")) if flow.title_field else ""
    if not title:
        title = f"{flow.name} {period}" if period else flow.name
    case = Case(
        definition=definition, sop_id=sop.id, flow=flow.id, state=step.target, unit_id=None,
        tracking_code=new_tracking_code() if flow.schedule is None else None, title=title[:300],
        data=values, period=period, created_at=now, updated_at=now, due_at=step.due_at,
        due_advisory=step.due_advisory, closed_at=None,
    )
    session.add(case)
    session.flush()
    session.add(HistoryEntry(
        case_id=case.id, seq=1, at=now, user_id=actor.user_id if actor else None,
        actor_name=_starter_name(sop, actor, step.acting_role), role=step.acting_role, unit_id=None,
        activity=None, action=None, from_state=None, to_state=step.target, data=values, due_at=None,
    ))
    session.flush()
    return case


def _starter_name(sop: Sop, actor: Actor | None, role_id: str) -> str:
    if actor is None:
        return "sop tick"  # opened by the scheduler
    role = sop.role(role_id)
    return actor.name or (role.name if role else role_id)


# -- performing -----------------------------------------------------------------------------------
def perform_step(
    session: Session, registry: Registry, case_id: int, actor: Actor, action_id: str,
    raw: Mapping[str, Any], *, expected_version: int | None, now: dt.datetime | None = None,
) -> Case:
    """Perform ``action_id`` on the case's open step as ``actor``, with the submitted form ``raw``.

    ``expected_version`` is the version the user's form was rendered from: if the case has moved on
    since, the submission is refused (a stale or double-submitted form must not act twice).
    """
    now = now or utcnow()
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    engine = engine_of(registry, case)
    if expected_version is not None and case.version != expected_version:
        raise CaseMovedOn(_moved_on_message(session, engine.sop, case))
    step = engine.perform(case.state, case.unit_id, actor, action_id, raw, now, unit_names(session))
    _apply(session, case, step, actor, now)
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # The caller's transaction rolls back whole: neither the case nor the history row is written.
        raise CaseMovedOn("someone else completed this step at the same moment; reload the case") from None
    return case


def _apply(session: Session, case: Case, step: Step, actor: Actor, now: dt.datetime) -> None:
    history = HistoryEntry(
        case_id=case.id, seq=case.version + 1, at=now, user_id=actor.user_id, actor_name=actor.name,
        role=step.acting_role, unit_id=actor.unit, activity=step.activity.id, action=step.action.id,
        from_state=step.source, to_state=step.target, data=step.values, due_at=case.due_at,
    )
    data = dict(case.data)
    data.update({k: v for k, v in step.values.items() if v is not None})
    case.data = data
    case.state = step.target
    case.unit_id = step.unit
    case.due_at = step.due_at
    case.due_advisory = step.due_advisory
    case.updated_at = now
    case.closed_at = now if step.finished else None
    session.add(history)


def _moved_on_message(session: Session, sop: Sop, case: Case) -> str:
    last = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                          .order_by(HistoryEntry.seq.desc()).limit(1))
    who = f" by {last.actor_name}" if last is not None and last.actor_name else ""
    return (f"this case has moved on{who} since you opened it; it is now at "
            f"'{sop.state_name(case.state)}'. Nothing was saved; review it and act again if needed.")


# -- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryItem:
    seq: int
    at: dt.datetime
    actor_name: str
    role_name: str
    unit_name: str | None
    step_name: str
    action_label: Any
    to_name: str
    values: tuple[tuple[Field, Any], ...]
    due_at: dt.datetime | None
    late: bool


@dataclass(frozen=True)
class CaseView:
    case: Case
    sop: Sop
    flow: Flow
    activity: Activity | None
    end: End | None
    actions: tuple[Action, ...]
    initial: dict[str, Any]
    history: tuple[HistoryItem, ...]
    unit_name: str | None
    units: dict[str, str]
    overdue: bool
    remaining_minutes: int | None

    @property
    def can_act(self) -> bool:
        return bool(self.actions)


def may_view(sop: Sop, engine: Engine, case: Case, actor: Actor, acted: bool) -> bool:
    if acted or engine.open_actions(case.state, case.unit_id, actor):
        return True
    for role_id in actor.roles:
        role = sop.role(role_id)
        if role is None or role.external:
            continue
        if not role.unit_scoped:
            return True
        if case.unit_id is not None and case.unit_id == actor.unit:
            return True
    return False


def case_view(session: Session, registry: Registry, case_id: int, actor: Actor,
              now: dt.datetime | None = None) -> CaseView:
    now = now or utcnow()
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    engine = engine_of(registry, case)
    sop = engine.sop
    entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq)))
    acted = actor.user_id is not None and any(e.user_id == actor.user_id for e in entries)
    if not may_view(sop, engine, case, actor, acted):
        raise NotAllowed("this case belongs to another unit or role")
    units = unit_names(session)
    actions = engine.open_actions(case.state, case.unit_id, actor)
    activity = sop.activity(case.state)
    initial = {f.id: case.data.get(f.id) for f in activity.fields} if activity else {}
    return CaseView(
        case=case, sop=sop, flow=sop.flow(case.flow), activity=activity, end=sop.end(case.state),
        actions=actions, initial=initial, history=tuple(_history_item(sop, e, units) for e in entries),
        unit_name=units.get(case.unit_id) if case.unit_id else None, units=units,
        overdue=is_overdue(case, now),
        remaining_minutes=(sop.calendar.working_minutes_between(now, case.due_at)
                           if case.due_at is not None and case.closed_at is None else None),
    )


def is_overdue(case: Case, now: dt.datetime) -> bool:
    return case.closed_at is None and case.due_at is not None and not case.due_advisory and case.due_at < now


def _history_item(sop: Sop, e: HistoryEntry, units: Mapping[str, str]) -> HistoryItem:
    activity = sop.activity(e.activity) if e.activity else None
    fields: dict[str, Field] = {}
    if activity is not None:
        fields = {f.id: f for f in activity.fields}
    else:
        for f in sop.flows:
            for fld in f.intake:
                fields.setdefault(fld.id, fld)
    values = tuple((fields[k], v) for k, v in (e.data or {}).items() if k in fields and v not in (None, ""))
    action = activity.action(e.action) if activity and e.action else None
    role = sop.role(e.role)
    return HistoryItem(
        seq=e.seq, at=e.at, actor_name=e.actor_name, role_name=role.name if role else e.role,
        unit_name=units.get(e.unit_id) if e.unit_id else None,
        step_name=f"{activity.no}. {activity.name}" if activity else "",
        action_label=action.label if action else None, to_name=sop.state_name(e.to_state), values=values,
        due_at=e.due_at, late=e.due_at is not None and e.at > e.due_at,
    )


# -- public tracking ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicView:
    code: str
    title: str
    status: str
    finished: bool
    public_message: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    steps: tuple[tuple[dt.datetime, str], ...]
    answers: tuple[tuple[Field, Any], ...]
    timezone: str


def track(session: Session, registry: Registry, code: str) -> PublicView:
    """What a reporter may see with the tracking code: status, dates, and fields marked public."""
    normalised = normalise_code(code)
    case = session.scalar(select(Case).where(Case.tracking_code == normalised)) if normalised else None
    if case is None:
        raise NotFound("no report has this tracking code")
    sop = engine_of(registry, case).sop
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq))
    steps = tuple((e.at, sop.state_name(e.to_state)) for e in entries)
    end = sop.end(case.state)
    answers = tuple((f, case.data[f.id]) for f in sop.public_fields() if case.data.get(f.id) not in (None, ""))
    return PublicView(
        code=case.tracking_code, title=case.title, status=sop.state_name(case.state), finished=end is not None,
        public_message=end.public_message if end else "", created_at=case.created_at, closed_at=case.closed_at,
        steps=steps, answers=answers, timezone=sop.calendar.timezone,
    )


def startable_flows(registry: Registry, actor: Actor) -> list[tuple[Sop, Flow]]:
    """Flows this staff member may open a case in (e.g. Admin Utama inputting an SMS report)."""
    return [(sop, f) for sop in registry.current() for f in sop.case_flows if set(f.started_by) & actor.roles]


def public_flows(registry: Registry) -> list[tuple[Sop, Flow]]:
    """Flows a citizen may start without an account: started_by names an external role."""
    out = []
    for sop in registry.current():
        for f in sop.case_flows:
            if any((r := sop.role(rid)) is not None and r.external for rid in f.started_by):
                out.append((sop, f))
    return out


def public_role(sop: Sop, flow: Flow) -> str:
    return next(rid for rid in flow.started_by if sop.role(rid).external)
