"""The one access policy: who may start, act on and see which case.

Every decision about a person and a case is made here and nowhere else: the engine's transition
conditions, the case page, the inbox, the case lists and the web all ask this module. It answers in
two forms built from the same rule, so they cannot drift apart:

* a Python predicate (``acting_role``, ``may_act``, ``may_view``) for one case, and
* SQL criteria (``waiting_criteria``, ``visible_criteria``, ``informed_criteria``,
  ``escalated_criteria``) for lists, so a list costs one indexed query however many cases there are.

Escalation: a role named in a step's ``escalate_to`` reaches the cases at that step (as its scope
says) for viewing, and finds them *escalated* once their stored ``escalate_at`` has passed and they
are not on hold (``is_escalated`` / ``escalated_criteria``).

The rule. A role of the actor *reaches* a case when the role is internal and either not unit-scoped
(agency staff reach every case of the SOP) or unit-scoped and the case is assigned to the actor's
unit (an OPD's operator reaches only that OPD's cases, and none before a unit is assigned). An actor
may act at a step when one of the step's performer roles is theirs and reaches the case (a reporter's
external role acts only when starting a case); may see a case when one of their roles in its SOP
reaches it, or when they may act on it now. A case someone may not see does not exist for them: the
services raise NotFound, never NotAllowed, so case numbers cannot be probed.

Delegation (acting officials, Plt/Plh): an actor also holds, for the period of each active
delegation, the delegated role *in the delegation's unit* (``Actor.delegated``, filled by
``services.accounts.actor_for``). Every answer below counts those holdings exactly like the
account's own roles, each in its own unit, so after the period (or a revocation) the delegate can
neither see nor act through them, and the inbox, the engine and the case page agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import ColumnElement, and_, false, or_

from .definition.model import Activity, Flow, Role, Sop
from .errors import NotAllowed
from .store.models import Case


@dataclass(frozen=True)
class Delegated:
    """A role held for someone else for a while (a Plt or Plh): in ``unit`` when the role is
    unit-scoped (None otherwise); ``on_behalf_of`` names the holder (or the role, when an admin
    delegated a role nobody holds), and ``kind`` is "plt" or "plh"."""

    role: str
    unit: str | None
    on_behalf_of: str | None
    kind: str


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
    # Roles delegated to this account right now, each with its own unit (see ``Delegated``).
    delegated: tuple[Delegated, ...] = ()
    # Own roles held in a unit other than ``unit``, as (role, unit) (``user_roles.unit_id``).
    role_units: tuple[tuple[str, str], ...] = ()

    @classmethod
    def public(cls, role: str, name: str = "") -> "Actor":
        return cls(None, name, frozenset({role}), None)

    def unit_for(self, role_id: str) -> str | None:
        """The unit the actor holds their own ``role_id`` in: the role's own unit, else the account's."""
        for role, unit in self.role_units:
            if role == role_id:
                return unit
        return self.unit

    def holds(self, role_id: str) -> bool:
        """Whether the actor has ``role_id``, as their own or delegated to them."""
        return role_id in self.roles or any(d.role == role_id for d in self.delegated)

    @property
    def all_roles(self) -> frozenset[str]:
        return self.roles | {d.role for d in self.delegated}


@dataclass(frozen=True)
class Scope:
    """Where one role (or several) of an actor reaches: every case of the SOP, or the cases of
    some units (each of the actor's roles may be held in its own unit)."""

    everywhere: bool = False
    units: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.units)

    def __or__(self, other: "Scope") -> "Scope":
        if self.everywhere or other.everywhere:
            return Scope(True)
        return Scope(False, self.units | other.units)

    def covers(self, case_unit: str | None) -> bool:
        return self.everywhere or (case_unit is not None and case_unit in self.units)


NOWHERE = Scope()


def role_scope(role: Role, actor: Actor) -> Scope:
    """Where ``role`` reaches for ``actor``: nowhere unless they hold it (own or delegated); everywhere
    when it is not unit-scoped; else the units they hold it in (their own unit, each delegation's)."""
    units: set[str] = set()
    held = False
    if role.id in actor.roles:
        held = True
        if (own := actor.unit_for(role.id)) is not None:
            units.add(own)
    for d in actor.delegated:
        if d.role == role.id:
            held = True
            if d.unit:
                units.add(d.unit)
    if not held:
        return NOWHERE
    return Scope(True) if not role.unit_scoped else Scope(False, frozenset(units))


# -- predicates ------------------------------------------------------------------------------------
def acting_role(sop: Sop, activity: Activity, actor: Actor, case_unit: str | None) -> str | None:
    """The performer role under which ``actor`` may perform ``activity`` on a case of ``case_unit``."""
    for role_id in activity.performers:
        if actor.holds(role_id):
            role = sop.role(role_id)
            if role is not None and not role.external and role_scope(role, actor).covers(case_unit):
                return role_id
    return None


def acting_delegation(sop: Sop, role_id: str, actor: Actor, case_unit: str | None) -> Delegated | None:
    """The delegation through which ``actor`` acts as ``role_id`` on a case of ``case_unit``, or None
    when their own role suffices (an own role is always preferred: it needs no "atas nama")."""
    role = sop.role(role_id)
    if role is None:
        return None
    own = actor.unit_for(role_id)
    if role_id in actor.roles and (not role.unit_scoped or (own is not None and own == case_unit)):
        return None
    for d in actor.delegated:
        if d.role == role_id and (not role.unit_scoped or (d.unit is not None and d.unit == case_unit)):
            return d
    return None


def may_act(sop: Sop, state: str, actor: Actor, case_unit: str | None) -> bool:
    activity = sop.activity(state)
    return activity is not None and acting_role(sop, activity, actor, case_unit) is not None


def view_scope(sop: Sop, actor: Actor) -> Scope:
    """Where the actor's internal roles in this SOP reach, together (external roles see nothing)."""
    out = NOWHERE
    for role_id in sorted(actor.all_roles):
        role = sop.role(role_id)
        if role is not None and not role.external:
            out = out | role_scope(role, actor)
    return out


def may_view(sop: Sop, state: str, actor: Actor, case_unit: str | None) -> bool:
    return view_scope(sop, actor).covers(case_unit) or may_act(sop, state, actor, case_unit) or \
        _escalation_scopes(sop, actor).get(state, NOWHERE).covers(case_unit)


def is_escalated(sop: Sop, state: str, actor: Actor, case_unit: str | None, escalate_at: dt.datetime | None,
                 paused: bool, now: dt.datetime) -> bool:
    """Whether the case is escalated to one of the actor's roles: its step names the role in
    ``escalate_to``, the stored ``escalate_at`` moment has come, and the case is not on hold. A role
    named there may also look at the case at that step before it escalates (``may_view``)."""
    return escalate_at is not None and escalate_at <= now and not paused and \
        _escalation_scopes(sop, actor).get(state, NOWHERE).covers(case_unit)


def sees_identity(sop: Sop, actor: Actor, anonymous: bool) -> bool:
    """Whether ``actor`` may see the fields that identify the reporter of a case (always, unless the
    report is anonymous; then only with an internal role marked ``sees_identity``)."""
    if not anonymous:
        return True
    return any((r := sop.role(rid)) is not None and r.sees_identity and not r.external for rid in actor.all_roles)


def starting_role(flow: Flow, actor: Actor | None) -> str | None:
    """The role under which ``actor`` opens a case of ``flow``; "" for the scheduler (actor None).

    A scheduled flow is opened by the scheduler only; a per-report flow by one of its ``started_by``
    roles only."""
    if actor is None:
        return "" if flow.schedule is not None else None
    if flow.schedule is not None:
        return None
    return next((r for r in flow.started_by if actor.holds(r)), None)


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
    return _informed_scopes(sop, actor).get(state, NOWHERE).covers(case_unit)


def refusal(sop: Sop, activity: Activity, case_unit: str | None, unit_name: str | None = None) -> NotAllowed:
    """Why ``activity`` was refused: who performs it, and for which unit when that matters."""
    roles = tuple(r.name for r in (sop.role(rid) for rid in activity.performers) if r is not None)
    scoped = sop.performed_by_unit(activity)
    unit = (unit_name or case_unit) if scoped and case_unit else None
    where = f" of {unit}" if unit else (" of the unit the case is assigned to" if scoped else "")
    return NotAllowed(f"step {activity.no} is performed by {', '.join(map(str, roles))}{where}", roles=roles, unit=unit)


def dashboard_roles(sop: Sop, actor: Actor) -> tuple[str, ...]:
    """The roles named in the SOP's ``dashboard`` that ``actor`` holds (own or delegated), internal
    only. Seeing the dashboard needs one; its figures still cover only the cases the actor may see
    (``visible_criteria``), so a unit-scoped leader sees their unit's."""
    if sop.dashboard is None:
        return ()
    return tuple(r for r in sop.dashboard.roles
                 if actor.holds(r) and (role := sop.role(r)) is not None and not role.external)


def may_see_dashboard(sop: Sop, actor: Actor | None) -> bool:
    return actor is not None and actor.user_id is not None and bool(dashboard_roles(sop, actor))


def may_administer(actor: Actor | None) -> bool:
    """Whether ``actor`` may use the admin pages: publish SOP versions (and manage accounts).

    Kept apart from SOP roles on purpose: a definition names its roles, and a revision must never be
    able to grant its own author the right to publish it."""
    return actor is not None and actor.user_id is not None and actor.admin


# -- SQL criteria for lists ------------------------------------------------------------------------
Versions = Iterable[tuple[int, Sop]]  # (definitions.id, its Sop) for every stored version


def _scoped(definition_id: int, states: Iterable[str] | None, scope: Scope) -> ColumnElement[bool]:
    clause = [Case.definition_id == definition_id]
    if states is not None:
        clause.append(Case.state.in_(sorted(states)))
    if not scope.everywhere:
        units = sorted(scope.units)
        clause.append(Case.unit_id == units[0] if len(units) == 1 else Case.unit_id.in_(units))
    return and_(*clause)


def _by_scope(definition_id: int, states: dict[str, Scope]) -> list[ColumnElement[bool]]:
    """One clause per distinct scope (usually one or two), each naming its states."""
    groups: dict[Scope, list[str]] = {}
    for state, scope in states.items():
        groups.setdefault(scope, []).append(state)
    order = sorted(groups, key=lambda sc: (not sc.everywhere, sorted(sc.units)))
    return [_scoped(definition_id, groups[sc], sc) for sc in order]


def _acting_scopes(sop: Sop, actor: Actor) -> dict[str, Scope]:
    out: dict[str, Scope] = {}
    for activity in sop.activities:
        scope = NOWHERE
        for role_id in activity.performers:
            role = sop.role(role_id)
            if role is not None and not role.external:
                scope = scope | role_scope(role, actor)
        if scope:
            out[activity.id] = scope
    return out


def _informed_scopes(sop: Sop, actor: Actor) -> dict[str, Scope]:
    out: dict[str, Scope] = {}
    for activity in sop.activities:
        targets = [a.to for a in activity.actions if sop.activity(a.to) is not None]
        for role_id in activity.recipients:
            role = sop.role(role_id)
            if role is None or not actor.holds(role_id):
                continue
            scope = role_scope(role, actor)
            for target in targets:
                out[target] = out.get(target, NOWHERE) | scope
    return {s: sc for s, sc in out.items() if sc}


def _escalation_scopes(sop: Sop, actor: Actor) -> dict[str, Scope]:
    """States whose step escalates to a role the actor holds, with where that role reaches."""
    out: dict[str, Scope] = {}
    for activity in sop.activities:
        scope = NOWHERE
        for role_id in activity.escalation.roles if activity.escalation else ():
            role = sop.role(role_id)
            if role is not None and not role.external:
                scope = scope | role_scope(role, actor)
        if scope:
            out[activity.id] = scope
    return out


def waiting_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases whose current step ``actor`` may perform (the SQL form of ``may_act``)."""
    clauses = [c for d, sop in versions for c in _by_scope(d, _acting_scopes(sop, actor))]
    return or_(*clauses) if clauses else false()


def visible_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases ``actor`` may see (the SQL form of ``may_view``)."""
    clauses: list[ColumnElement[bool]] = []
    for d, sop in versions:
        scope = view_scope(sop, actor)
        if scope.everywhere:
            clauses.append(Case.definition_id == d)
            continue
        if scope:
            clauses.append(_scoped(d, None, scope))
        clauses.extend(_by_scope(d, _acting_scopes(sop, actor)))
        clauses.extend(_by_scope(d, _escalation_scopes(sop, actor)))
    return or_(*clauses) if clauses else false()


def informed_criteria(versions: Versions, actor: Actor) -> ColumnElement[bool]:
    """Cases ``actor`` is told about (the SQL form of ``is_informed``)."""
    clauses = [c for d, sop in versions for c in _by_scope(d, _informed_scopes(sop, actor))]
    return or_(*clauses) if clauses else false()


def escalated_criteria(versions: Versions, actor: Actor, now: dt.datetime) -> ColumnElement[bool]:
    """Open cases escalated to ``actor`` at ``now`` (the SQL form of ``is_escalated``)."""
    clauses = [c for d, sop in versions for c in _by_scope(d, _escalation_scopes(sop, actor))]
    if not clauses:
        return false()
    return and_(Case.escalate_at.is_not(None), Case.escalate_at <= now, Case.paused_at.is_(None),
                Case.closed_at.is_(None), or_(*clauses))


__all__ = [
    "escalated_criteria", "is_escalated", "dashboard_roles", "may_see_dashboard",
    "Actor", "Delegated", "Scope", "acting_delegation", "acting_role", "role_scope", "view_scope", "informed_criteria", "is_informed", "may_act", "may_administer", "may_view", "public_role",
    "refusal", "sees_identity", "starting_role", "visible_criteria", "waiting_criteria",
]
