"""Demo cases for `sop demo --cases` (what `make run` starts with): every SOP's flows with cases in
every state, filled with the realistic values the definition itself gives as field ``examples``.

For each case flow of each SOP that has no case yet: for each way through the flow
(``runner.paths.flow_paths``) one case walked to its end, and for each activity one case waiting
there. Every step is performed through the services (``start_case``, ``perform_step``) by the demo
account of a performer role, so the history, due times and access rules are the application's own.
Nothing here knows an SOP: a definition with good examples gets realistic demo data, one without
gets placeholders where a value is needed. Only the demo start calls this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Actor
from ..definition.model import Field, Flow, Sop
from ..paths import flow_paths
from ..registry import Registry
from ..simulate import sample_value
from ..store import Case, User
from .accounts import actor_for
from .cases import perform_step, start_case
from .demo import DEMO_UNITS
from .publishing import current_sops

__all__ = ["DemoCase", "seed_cases"]

STEP_GAP = dt.timedelta(hours=3)  # between two steps of a demo case
CASE_GAP = dt.timedelta(days=2)  # between the openings of two demo cases of a flow


@dataclass(frozen=True)
class DemoCase:
    sop: str
    flow: str
    case_id: int
    state: str


def seed_cases(session: Session, registry: Registry, now: dt.datetime | None = None) -> list[DemoCase]:
    """Open and walk the demo cases (see the module's doc); call ``demo.seed`` first, whose accounts
    perform the steps. Idempotent: a flow that already has a case is left alone. Cases are opened
    CASE_GAP apart in the past, so lists show older and newer, due and overdue cases."""
    now = now or dt.datetime.now(dt.timezone.utc)
    made: list[DemoCase] = []
    for sop in current_sops(session, registry).values():  # the versions cases start on
        for flow in sop.case_flows:
            if not flow.started_by or _has_cases(session, sop.id, flow.id):
                continue
            plan = _plan(sop, flow)
            for k, path in enumerate(plan):
                opened = now - CASE_GAP * (len(plan) - k) - dt.timedelta(hours=k % 5)
                made.append(_walk(session, registry, sop, flow, path, k, opened, now))
    return made


def _has_cases(session: Session, sop_id: str, flow_id: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Case)
                               .where(Case.sop_id == sop_id, Case.flow == flow_id)))


def _plan(sop: Sop, flow: Flow) -> list[tuple[str, ...]]:
    """Every path walked to its end, then for each activity the shortest prefix that stops there."""
    paths = flow_paths(sop, flow)
    waiting: dict[str, tuple[str, ...]] = {}
    for path in sorted(paths, key=len):
        state = flow.start
        for n in range(len(path) + 1):
            activity = sop.activity(state)
            if activity is None:
                break
            waiting.setdefault(state, path[:n])
            action = activity.action(path[n]) if n < len(path) else None
            if action is None:
                break
            state = action.to
    return [*paths, *(waiting[a.id] for a in sop.activities if a.id in waiting)]


def _value(f: Field, k: int, needed: bool, today: dt.date) -> Any:
    if f.examples:
        value = f.examples[k % len(f.examples)]
        return ("on" if value else "") if isinstance(value, bool) else str(value)
    if f.type == "unit":
        return DEMO_UNITS[k % len(DEMO_UNITS)][0]
    return sample_value(f, today) if needed or f.required else None


def _form(fields: tuple[Field, ...], needed: set[str], k: int, today: dt.date) -> dict[str, Any]:
    values = {f.id: _value(f, k, f.id in needed, today) for f in fields}
    return {key: value for key, value in values.items() if value is not None}


def _account(session: Session, role_id: str, unit: str | None) -> Actor | None:
    """The demo account of ``role_id`` (in ``unit`` for a unit-scoped role), as ``demo.seed`` names it."""
    for username in ([f"{role_id}.{unit}"] if unit else []) + [role_id]:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            return actor_for(user)
    return None


def _walk(session: Session, registry: Registry, sop: Sop, flow: Flow, path: tuple[str, ...], k: int,
          opened: dt.datetime, now: dt.datetime) -> DemoCase:
    zone = sop.calendar.zone
    role = sop.role(flow.started_by[0])
    starter = Actor.public(role.id) if role is not None and role.external else \
        _account(session, flow.started_by[0], None)
    case = start_case(session, registry, sop.id, flow.id, _form(flow.intake, set(), k, opened.astimezone(zone).date()),
                      actor=starter, now=opened)
    moment = opened
    for action_id in path:
        activity = sop.activity(case.state)
        action = activity.action(action_id) if activity is not None else None
        if activity is None or action is None:
            break
        actor = next((a for r in activity.performers if (a := _account(session, r, case.unit_id)) is not None), None)
        if actor is None:
            break  # no demo account performs it: the case waits here
        moment = min(moment + STEP_GAP, now)
        needed = set(action.requires) | ({action.assign_unit} if action.assign_unit else set())
        raw = _form(activity.fields_of(action), needed, k, moment.astimezone(zone).date())
        case = perform_step(session, registry, case.id, actor, action.id, raw, expected_version=None, now=moment)
    return DemoCase(sop.id, flow.id, case.id, case.state)
