"""The interpreter: given a case's state, a user and an action, is the move allowed and where does it go?

One ``transitions.Machine`` is built per definition version and shared by every case of that version
(the library's "one machine, many models" pattern): states are activity and end ids, triggers are
``<activity>__<action>``, and each transition's condition is a Python callable checking the actor's
role and unit. No string from YAML is ever handed to ``transitions`` as a callback, because it would
resolve dotted names by importing them.

Cases are not registered with the machine. For each move a throw-away token carrying the current
state is triggered directly through ``machine.events``; this keeps the machine free of per-case
memory and safe to share between threads and requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from transitions import Machine, State

from . import forms
from .definition.model import Action, Activity, Flow, Sop
from .errors import InvalidForm, NotAllowed


@dataclass(frozen=True)
class Actor:
    """Who is acting: an account's roles and unit, or the public (no account)."""

    user_id: int | None
    name: str
    roles: frozenset[str]
    unit: str | None = None

    @classmethod
    def public(cls, role: str, name: str = "") -> "Actor":
        return cls(None, name, frozenset({role}), None)


@dataclass(frozen=True)
class Step:
    """The outcome of one allowed move, ready to be persisted in one transaction."""

    activity: Activity | None
    action: Action | None
    source: str | None
    target: str
    values: dict[str, Any]
    unit: str | None
    due_at: dt.datetime | None
    due_advisory: bool
    finished: bool
    acting_role: str


class _Token:
    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


def trigger_name(activity_id: str, action_id: str) -> str:
    return f"{activity_id}__{action_id}"


class Engine:
    def __init__(self, sop: Sop):
        self.sop = sop
        states = [State(a.id) for a in sop.activities] + [
            State(e.id, final=True) for f in sop.flows for e in f.ends
        ]
        self.machine = Machine(
            model=None, states=states, initial=sop.flows[0].start, auto_transitions=False,
            send_event=True, ignore_invalid_triggers=False, name=f"{sop.id}@{sop.version[:8]}",
        )
        self._actions: dict[str, tuple[Activity, Action]] = {}
        for activity in sop.activities:
            for action in activity.actions:
                name = trigger_name(activity.id, action.id)
                self._actions[name] = (activity, action)
                self.machine.add_transition(name, activity.id, action.to, conditions=[self._guard])

    # -- questions --------------------------------------------------------------------------------
    def acting_role(self, activity: Activity, actor: Actor, case_unit: str | None) -> str | None:
        """The role under which ``actor`` may perform ``activity`` on a case of ``case_unit``, if any."""
        for role_id in activity.performers:
            if role_id not in actor.roles:
                continue
            role = self.sop.role(role_id)
            if role.unit_scoped and (case_unit is None or actor.unit != case_unit):
                continue
            return role_id
        return None

    def open_actions(self, state: str, case_unit: str | None, actor: Actor) -> tuple[Action, ...]:
        activity = self.sop.activity(state)
        if activity is None or self.acting_role(activity, actor, case_unit) is None:
            return ()
        return tuple(self._actions[t][1] for t in self.machine.get_triggers(state) if t in self._actions)

    def may_start(self, flow: Flow, actor: Actor) -> bool:
        return bool(set(flow.started_by) & actor.roles)

    def due(self, state: str, started: dt.datetime) -> tuple[dt.datetime | None, bool]:
        activity = self.sop.activity(state)
        if activity is None or activity.time_limit is None:
            return None, False
        return self.sop.calendar.add(started, activity.time_limit.duration), activity.time_limit.advisory

    # -- moves ------------------------------------------------------------------------------------
    def start(self, flow: Flow, actor: Actor | None, raw: Mapping[str, Any], now: dt.datetime) -> Step:
        """Open a case of ``flow``; ``actor`` None means the scheduler (for scheduled flows)."""
        if actor is not None:
            if not self.may_start(flow, actor):
                raise NotAllowed(f"none of your roles may start '{flow.name}'")
            role = next(r for r in flow.started_by if r in actor.roles)
        elif flow.schedule is None:
            raise NotAllowed(f"'{flow.name}' is started by a person, not the scheduler")
        else:
            role = ""
        values, errors = forms.clean(flow.intake, raw)
        if errors:
            raise InvalidForm(errors)
        due_at, advisory = self.due(flow.start, now)
        return Step(None, None, None, flow.start, values, None, due_at, advisory, False, role)

    def perform(
        self,
        state: str,
        case_unit: str | None,
        actor: Actor,
        action_id: str,
        raw: Mapping[str, Any],
        now: dt.datetime,
        units: Mapping[str, str],
    ) -> Step:
        activity = self.sop.activity(state)
        if activity is None:
            raise NotAllowed("this case has finished; no step is open")
        action = activity.action(action_id)
        if action is None:
            raise NotAllowed(f"'{action_id}' is not an action of step {activity.no}")
        role = self.acting_role(activity, actor, case_unit)
        if role is None:
            raise NotAllowed(_refusal(self.sop, activity, case_unit))
        values, errors = forms.clean(activity.fields, raw, also_required=action.requires, units=units)
        if errors:
            raise InvalidForm(errors)
        token = _Token(state)
        moved = self.machine.events[trigger_name(activity.id, action.id)].trigger(
            token, actor=actor, case_unit=case_unit
        )
        if not moved:  # pragma: no cover - the guard is the same check as acting_role above
            raise NotAllowed(_refusal(self.sop, activity, case_unit))
        unit = values.get(action.assign_unit) if action.assign_unit else case_unit
        due_at, advisory = self.due(token.state, now)
        return Step(activity, action, state, token.state, values, unit, due_at, advisory,
                    self.sop.is_end(token.state), role)

    def _guard(self, event) -> bool:
        activity, _ = self._actions[event.event.name]
        return self.acting_role(activity, event.kwargs["actor"], event.kwargs["case_unit"]) is not None


def _refusal(sop: Sop, activity: Activity, case_unit: str | None) -> str:
    names = ", ".join(sop.role(r).name for r in activity.performers)
    scoped = any(sop.role(r).unit_scoped for r in activity.performers)
    where = " of the case's unit" if scoped and case_unit else ""
    return f"step {activity.no} is performed by {names}{where}"
