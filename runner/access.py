"""The one access policy: who may start, act on and see which case.

Every decision about a person and a case is made here and nowhere else: the engine's transition
conditions, the case page, the inbox, the case lists and the web all ask this module. It answers in
two forms built from the same rule, so they cannot drift apart:

* a Python predicate (``acting_role``, ``may_act``, ``may_view``) for one case, and
* SQL criteria (``waiting_criteria``, ``visible_criteria``, ``informed_criteria``) for lists, so a
  list costs one indexed query however many cases there are.

The rule. A role of the actor *reaches* a case when the role is internal and either not unit-scoped
(agency staff reach every case of the SOP) or unit-scoped and the case is assigned to the actor's
unit (an OPD's operator reaches only that OPD's cases, and none before a unit is assigned). An actor
may act at a step when one of the step's performer roles is theirs and reaches the case (a reporter's
external role acts only when starting a case); may see a case when one of their roles in its SOP
reaches it, or when they may act on it now. A case someone may not see does not exist for them: the
services raise NotFound, never NotAllowed, so case numbers cannot be probed.

Delegation (acting officials) will widen ``Actor.roles`` for a period; nothing else has to change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import ColumnElement, and_, false, or_

from .definition.model import Activity, Flow, Role, Sop
from .errors import NotAllowed
from .store.models import Case


@dataclass(frozen=True)
class Actor:
    """Who is acting: an account's roles and unit, or the public (no account)."""

    user_id: int | None
    name: str
    roles: frozenset[str]
    unit: str | None = None
    # The application's admin capability (publishing SOPs, managing accounts): no SOP role gives it,
    # and it gives no SOP role; an admin sees cases only through roles of their own.
    admin: bool = False

    @classmethod
    def public(cls, role: str, name: str = "") -> "Actor":
        return cls(None, name, frozenset({role}), None)


class Reach(enum.IntEnum):
    """How far one of an actor's roles reaches in an SOP (ordered: more is wider)."""

    NONE = 0
    UNIT = 1  # cases assigned to the actor's unit
    ALL = 2  # every case of the SOP


def role_reach(role: Role, actor: Actor) -> Reach:
    if role.unit_scoped:
        return Reach.UNIT if actor.unit else Reach.NONE
    return Reach.ALL


def reaches(reach: Reach, actor: Actor, case_unit: str | None) -> bool:
    return reach is Reach.ALL or (reach is Reach.UNIT and case_unit is not None and case_unit == actor.unit)


# -- predicates ------------------------------------------------------------------------------------
def acting_role(sop: Sop, activity: Activity, actor: Actor, case_unit: str | None) -> str | None:
    """The performer role under which ``actor`` may perform ``activity`` on a case of ``case_unit``."""
    for role_id in activity.performers:
        if role_id in actor.roles:
            role = sop.role(role_id)
            if role is not None and not role.external and reaches(role_reach(role, actor), actor, case_unit):
                return role_id
    return None


def may_act(sop: Sop, state: str, actor: Actor, case_unit: str | None) -> bool:
    activity = sop.activity(state)
    return activity is not None and acting_role(sop, activity, actor, case_unit) is not None


def view_reach(sop: Sop, actor: Actor) -> Reach:
    """The widest reach of the actor's internal roles in this SOP (external roles see nothing)."""
    best = Reach.NONE
    for role_id in actor.roles:
        role = sop.role(role_id)
        if role is not None and not role.external:
            best = max(best, role_reach(role, actor))
    return best


def may_view(sop: Sop, state: str, actor: Actor, case_unit: str | None) -> bool:
    return reaches(view_reach(sop, actor), actor, case_unit) or may_act(sop, state, actor, case_unit)


def sees_identity(sop: Sop, actor: Actor, anonymous: bool) -> bool:
    """Whether ``actor`` may see the fields that identify the reporter of a case (always, unless the
    report is anonymous; then only with an internal role marked ``sees_identity``)."""
    if not anonymous:
        return True
    return any((r := sop.role(rid)) is not None and r.sees_identity and not r.external for rid in actor.roles)


def starting_role(flow: Flow, actor: Actor | None) -> str | None:
    """The role under which ``actor`` opens a case of ``flow``; "" for the scheduler (actor None).

    A scheduled flow is opened by the scheduler only; a per-report flow by one of its ``started_by``
    roles only."""
    if actor is None:
        return "" if flow.schedule is not None else None
    if flow.schedule is not None:
        return None
    return next((r for r in flow.started_by if r in actor.roles), None)


def public_role(sop: Sop, flow: Flow) -> str | None:
    """The external role (the reporter) that may open ``flow`` without an account, if any."""
    for role_id in flow.started_by:
        role = sop.role(role_id)
        if role is not None and role.external and flow.schedule is None:
            return role_id
    return None


def is_informed(sop: Sop, state: str, actor: Actor, case_unit: str | None) -> bool:
    """Whether the case sits at a step that received the output of a step naming one of the actor's
    roles as recipient (Kasi and Kabid are told of reports sent up to the Kadis)."""
    reach = _informed_reaches(sop, actor).get(state, Reach.NONE)
    return reaches(reach, actor, case_unit)


def refusal(sop: Sop, activity: Activity, case_unit: str | None, unit_name: str | None = None) -> NotAllowed:
    """Why ``activity`` was refused: who performs it, and for which unit when that matters."""
    roles = tuple(r.name for r in (sop.role(rid) for rid in activity.performers) if r is not None)
    scoped = any((r := sop.role(rid)) is not None and r.unit_scoped for rid in activity.performers)
    unit = (unit_name or case_unit) if scoped and case_unit else None
    where = f" of {unit}" if unit else (" of the unit the case is assigned to" if scoped else "")
    return NotAllowed(f"step {activity.no} is performed by {', '.join(map(str, roles))}{where}", roles=roles, unit=unit)


def may_administer(actor: Actor | None) -> bool:
    """Whether ``actor`` may use the admin pages: publish SOP versions (and manage accounts).

    Kept apart from SOP roles on purpose: a definition names its roles, and a revision must never be
    able to grant its own author the right to publish it."""
    return actor is not None and actor.user_id is not None and actor.admin


# -- SQL criteria for lists ------------------------------------------------------------------------
Versions = Iterable[tuple[int, Sop]]  # (definitions.id, its Sop) for every stored version


def _scoped(definition_id: int, states: Iterable[str] | None, reach: Reach, actor: Actor) -> ColumnElement[bool]:
    clause = [Case.definition_id == definition_id]
    if states is not None:
        clause.append(Case.state.in_(sorted(states)))
    if reach is Reach.UNIT:
        clause.append(Case.unit_id == actor.unit)
    return and_(*clause)


def _by_reach(definition_id: int, states: dict[str, Reach], actor: Actor) -> list[ColumnElement[bool]]:
    out = []
    for reach in (Reach.ALL, Reach.UNIT):
        group = [s for s, r in states.items() if r is reach]
        if group:
            out.append(_scoped(definition_id, group, reach, actor))
    return out


def _acting_reaches(sop: Sop, actor: Actor) -> dict[str, Reach]:
    out: dict[str, Reach] = {}
    for activity in sop.activities:
        best = Reach.NONE
        for role_id in activity.performers:
            role = sop.role(role_id)
            if role_id in actor.roles and role is not None and not role.external:
                best = max(best, role_reach(role, actor))
        if best is not Reach.NONE:
            out[activity.id] = best
    return out


def _informed_reaches(sop: Sop, actor: Actor) -> dict[str, Reach]:
    out: dict[str, Reach] = {}
    for activity in sop.activities:
        targets = [a.to for a in activity.actions if sop.activity(a.to) is not None]
        for role_id in activity.recipients:
            role = sop.role(role_id)
            if role_id not in actor.roles or role is None:
                continue
            reach = role_reach(role, actor)
            for target in targets:
                out[target] = max(out.get(target, Reach.NONE), reach)
    return {s: r for s, r in out.items() if r is not Reach.NONE}


def waiting_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases whose current step ``actor`` may perform (the SQL form of ``may_act``)."""
    clauses = [c for d, sop in versions for c in _by_reach(d, _acting_reaches(sop, actor), actor)]
    return or_(*clauses) if clauses else false()


def visible_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases ``actor`` may see (the SQL form of ``may_view``)."""
    clauses: list[ColumnElement[bool]] = []
    for d, sop in versions:
        reach = view_reach(sop, actor)
        if reach is Reach.ALL:
            clauses.append(Case.definition_id == d)
            continue
        if reach is Reach.UNIT:
            clauses.append(_scoped(d, None, reach, actor))
        clauses.extend(_by_reach(d, _acting_reaches(sop, actor), actor))
    return or_(*clauses) if clauses else false()


def informed_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases ``actor`` is told about (the SQL form of ``is_informed``)."""
    clauses = [c for d, sop in versions for c in _by_reach(d, _informed_reaches(sop, actor), actor)]
    return or_(*clauses) if clauses else false()


__all__ = [
    "Actor", "Reach", "acting_role", "informed_criteria", "is_informed", "may_act", "may_administer", "may_view", "public_role",
    "reaches", "refusal", "role_reach", "sees_identity", "starting_role", "view_reach", "visible_criteria", "waiting_criteria",
]
