"""The interpreter: ``transitions`` decides whether a move is allowed, and makes it.

One ``transitions.Machine`` is built per definition version and shared by every case of that version
(the library's "one machine, many models" pattern). Its states are the activity and end ids plus one
``__new__`` state from which each flow's ``start__<flow>`` trigger opens a case; every action is a
transition ``<activity>__<action>`` carrying three callables (never a string from YAML, which
``transitions`` would resolve by importing dotted names):

* a **condition** asking the access policy whether the actor may perform the step (so a wrong role or
  unit is refused by the machine itself: the trigger returns False and nothing moves);
* a **before** callback cleaning the step's form against the fields *this action* collects, raising
  ``InvalidForm`` — it runs only once the condition passed, so a person who may not act never learns
  what the form expects; what was typed into another action's fields is dropped here, never stored;
* an **after** callback computing what the step writes: its next due time in working time and the
  finished ``Step`` record the service persists.

Cases are never added to the machine. Each move triggers a throw-away ``_Move`` model (state plus what
the callbacks need) through ``machine.events``; the machine holds no per-case memory and is safe to
share between threads and requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping, cast

from transitions import EventData, Machine, State

from . import access, deadlines, forms
from .access import Actor
from .definition.model import Action, Activity, Field, Flow, Sop
from .errors import InvalidForm, NotAllowed

NEW = "__new__"  # the state a case is in before it exists; only start triggers leave it

__all__ = ["NEW", "Actor", "Engine", "Opening", "Step", "start_trigger", "trigger_name"]


@dataclass(frozen=True, slots=True)
class Opening:
    """The outcome of opening a case, ready to be persisted in one transaction."""

    flow: Flow
    target: str
    values: dict[str, Any]
    due_at: dt.datetime | None
    due_advisory: bool
    acting_role: str  # "" when the scheduler opened it
    escalate_at: dt.datetime | None = None  # see runner.deadlines.escalate_at


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one allowed move, ready to be persisted in one transaction."""

    activity: Activity
    action: Action
    source: str
    target: str
    values: dict[str, Any]
    unit: str | None
    due_at: dt.datetime | None
    due_advisory: bool
    finished: bool
    acting_role: str
    escalate_at: dt.datetime | None = None  # see runner.deadlines.escalate_at


class _Move:
    """The model ``transitions`` moves for one call; dropped afterwards."""

    __slots__ = ("state", "actor", "case_unit", "raw", "now", "units", "role", "values", "result")

    def __init__(self, state: str, actor: Actor | None, case_unit: str | None, raw: Mapping[str, Any],
                 now: dt.datetime, units: Mapping[str, str]):
        self.state = state
        self.actor = actor
        self.case_unit = case_unit
        self.raw = raw
        self.now = now
        self.units = units
        self.role: str | None = None
        self.values: dict[str, Any] = {}
        self.result: Step | Opening | None = None


def trigger_name(activity_id: str, action_id: str) -> str:
    return f"{activity_id}__{action_id}"


def start_trigger(flow_id: str) -> str:
    return f"start__{flow_id}"


Callback = Callable[[EventData], Any]


class Engine:
    def __init__(self, sop: Sop):
        self.sop = sop
        states = [State(NEW)] + [State(a.id) for a in sop.activities] + [
            State(e.id, final=True) for f in sop.flows for e in f.ends
        ]
        self.machine = Machine(
            model=None, states=states, initial=NEW, auto_transitions=False, send_event=True,
            ignore_invalid_triggers=False, name=f"{sop.id}@{sop.version[:8]}",
        )
        self._actions: dict[str, tuple[tuple[str, Action], ...]] = {}
        for flow in sop.flows:
            self.machine.add_transition(
                start_trigger(flow.id), NEW, flow.start, conditions=[self._may_start(flow)],
                before=[self._cleaner(flow.intake, ())], after=[self._opened(flow)],
            )
        for activity in sop.activities:
            names = []
            for action in activity.actions:
                name = trigger_name(activity.id, action.id)
                names.append((name, action))
                self.machine.add_transition(
                    name, activity.id, action.to, conditions=[self._may_act(activity)],
                    before=[self._cleaner(activity.fields_of(action), action.requires)],
                    after=[self._performed(activity, action)],
                )
            self._actions[activity.id] = tuple(names)

    # -- callbacks handed to transitions ----------------------------------------------------------
    def _may_act(self, activity: Activity) -> Callback:
        sop = self.sop

        def condition(event: EventData) -> bool:
            move = cast(_Move, event.model)
            move.role = access.acting_role(sop, activity, move.actor, move.case_unit) if move.actor else None
            return move.role is not None

        return condition

    def _may_start(self, flow: Flow) -> Callback:
        def condition(event: EventData) -> bool:
            move = cast(_Move, event.model)
            move.role = access.starting_role(flow, move.actor)
            return move.role is not None

        return condition

    @staticmethod
    def _cleaner(fields: tuple[Field, ...], requires: tuple[str, ...]) -> Callback:
        def before(event: EventData) -> None:
            move = cast(_Move, event.model)
            values, errors = forms.clean(fields, move.raw, also_required=requires, units=move.units)
            if errors:
                raise InvalidForm(errors)
            move.values = values

        return before

    def _opened(self, flow: Flow) -> Callback:
        def after(event: EventData) -> None:
            move = cast(_Move, event.model)
            due_at, advisory = self.due(move.state, move.now)
            move.result = Opening(flow, move.state, move.values, due_at, advisory, move.role or "",
                                  deadlines.escalate_at(self.sop, move.state, due_at, advisory))

        return after

    def _performed(self, activity: Activity, action: Action) -> Callback:
        sop = self.sop

        def after(event: EventData) -> None:
            move = cast(_Move, event.model)
            unit = move.values.get(action.assign_unit) if action.assign_unit else move.case_unit
            due_at, advisory = self.due(move.state, move.now, unit)
            move.result = Step(activity, action, activity.id, move.state, move.values, unit, due_at, advisory,
                               sop.is_end(move.state), move.role or "",
                               deadlines.escalate_at(sop, move.state, due_at, advisory, unit))

        return after

    # -- questions --------------------------------------------------------------------------------
    def open_actions(self, state: str, case_unit: str | None, actor: Actor) -> tuple[Action, ...]:
        """The actions ``actor`` may take now, as the machine's own conditions answer it."""
        move = _Move(state, actor, case_unit, {}, dt.datetime.now(dt.timezone.utc), {})
        return tuple(action for name, action in self._actions.get(state, ()) if self._passes(name, move))

    def _passes(self, name: str, move: _Move) -> bool:
        event = self.machine.events[name]
        data = EventData(self.machine.get_state(move.state), event, self.machine, move, (), {})
        return any(all(c.check(data) for c in t.conditions) for t in event.transitions[move.state])

    def due(self, state: str, started: dt.datetime, unit: str | None = None) -> tuple[dt.datetime | None, bool]:
        """When the step at ``state`` entered at ``started`` is due, on its calendar (``Sop.calendar_at``)."""
        activity = self.sop.activity(state)
        if activity is None or activity.time_limit is None:
            return None, False
        calendar = self.sop.calendar_at(state, unit)
        return calendar.add(started, activity.time_limit.duration), activity.time_limit.advisory

    # -- moves ------------------------------------------------------------------------------------
    def start(self, flow: Flow, actor: Actor | None, raw: Mapping[str, Any], now: dt.datetime) -> Opening:
        """Open a case of ``flow``; ``actor`` None means the scheduler (for scheduled flows)."""
        move = _Move(NEW, actor, None, raw, now, {})
        if not self._trigger(start_trigger(flow.id), move):
            if actor is None:
                raise NotAllowed(f"'{flow.name}' is started by a person, not the scheduler")
            roles = tuple(r.name for r in (self.sop.role(rid) for rid in flow.started_by) if r is not None)
            raise NotAllowed(f"none of your roles may start '{flow.name}'", roles=roles)
        assert isinstance(move.result, Opening)
        return move.result

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
        if activity.action(action_id) is None:  # never echo what was typed: it may reach a log line
            raise NotAllowed(f"that is not an action of step {activity.no}")
        name = trigger_name(activity.id, action_id)
        move = _Move(state, actor, case_unit, raw, now, units)
        if not self._trigger(name, move):
            raise access.refusal(self.sop, activity, case_unit, units.get(case_unit) if case_unit else None)
        assert isinstance(move.result, Step)
        return move.result

    def _trigger(self, name: str, move: _Move) -> bool:
        return bool(self.machine.events[name].trigger(move))
