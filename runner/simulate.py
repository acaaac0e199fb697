"""`sop simulate`: walk one case through a definition in memory, with the real engine.

No database and no accounts: the walk opens a case of a flow and performs one action at each step
through :class:`runner.engine.Engine`, so the access rules, form rules and due times are exactly the
ones the application applies. Each step is performed by an actor holding the step's performer roles
in a placeholder unit (``"unit"``), and every ``unit`` field is filled with that unit, so unit-scoped
roles take over once a step assigns it. Each form is filled with sample values satisfying the
fields the chosen action collects (its required fields and ``requires``).

Time runs as if every step took exactly its time limit: a step starts when the previous one is due,
or when the previous one started if it had no limit. Advisory limits count the same, but are marked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from .access import Actor
from .definition.model import Action, Activity, End, Field, Flow, Sop, display
from .engine import Engine
from .errors import InvalidForm, NotAllowed, SopError

UNIT = "unit"  # the placeholder unit every unit field is filled with
UNITS = {UNIT: "(unit)"}
MAX_STEPS = 100  # a walk that has not reached an end by then is looping

__all__ = ["MAX_STEPS", "SimulationError", "SimulatedStep", "Walk", "format_walk", "parse_start", "sample_form",
           "simulate"]


class SimulationError(SopError):
    """The walk asked for cannot be made (unknown flow or action, a path past an end, a loop)."""


@dataclass(frozen=True)
class SimulatedStep:
    activity: Activity
    action: Action
    started: dt.datetime
    due_at: dt.datetime | None
    advisory: bool

    @property
    def finished(self) -> dt.datetime:
        """When the walk takes the action: at the due time, or at once when there is no limit."""
        return self.due_at or self.started


@dataclass(frozen=True)
class Walk:
    sop: Sop
    flow: Flow
    start: dt.datetime
    starter: str  # the role name that opened the case ("" for the scheduler)
    steps: tuple[SimulatedStep, ...]
    end: End

    @property
    def finished(self) -> dt.datetime:
        return self.steps[-1].finished if self.steps else self.start

    @property
    def working_minutes(self) -> int:
        return self.sop.calendar.working_minutes_between(self.start, self.finished)


def parse_start(text: str | None, sop: Sop) -> dt.datetime:
    """An ISO 8601 moment (a time without offset is read in the SOP's time zone); None means now."""
    if text is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SimulationError(f"--start '{text}' is not an ISO 8601 date and time (e.g. 2026-12-07T15:00:00+07:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=sop.calendar.zone)
    return moment


def sample_value(f: Field, today: dt.date) -> Any:
    """A value ``f`` accepts (None for a file field: a simulation attaches no files)."""
    if f.type == "file":
        return None
    if f.type == "checkbox":
        return "on"
    if f.type == "select":
        return f.options[0].value if f.options else ""
    if f.type == "unit":
        return UNIT
    if f.type == "number":
        if f.min is not None:
            return f.min
        return f.max if f.max is not None and f.max < 1 else 1
    if f.type == "date":
        return today.isoformat()
    if f.type == "email":
        return "contoh@example.go.id"
    if f.type == "tel":
        return "081234567890"
    return "contoh"[: f.max_length] if f.max_length else "contoh"


def sample_form(fields: Sequence[Field], requires: Sequence[str], today: dt.date,
                assign_unit: str | None = None) -> dict[str, Any]:
    """A form filling the fields that must be filled: required ones, ``requires`` and ``assign_unit``."""
    needed = set(requires) | ({assign_unit} if assign_unit else set())
    return {f.id: sample_value(f, today) for f in fields if f.required or f.id in needed}


def _flow(sop: Sop, flow_id: str | None) -> Flow:
    if flow_id is None:
        return sop.flows[0]
    flow = sop.flow(flow_id)
    if flow is None:
        raise SimulationError(f"{sop.id} has no flow '{flow_id}'; its flows: {', '.join(f.id for f in sop.flows)}")
    return flow


def _starter(sop: Sop, flow: Flow) -> Actor | None:
    if flow.schedule is not None:
        return None  # the scheduler opens it
    if not flow.started_by:
        raise SimulationError(f"nobody starts flow '{flow.id}' (no started_by)")
    return Actor(None, "simulasi", frozenset({flow.started_by[0]}), None)


def _role_names(sop: Sop, role_ids: Sequence[str]) -> str:
    return ", ".join(display(r.name) if (r := sop.role(rid)) is not None else rid for rid in role_ids)


def simulate(sop: Sop, *, flow_id: str | None = None, path: Sequence[str] = (), start: dt.datetime) -> Walk:
    """Walk a case of ``flow_id`` (default: the first flow) taking ``path``'s actions in order, then the
    first action of each step, until an end. Raises SimulationError when the walk cannot be made."""
    flow = _flow(sop, flow_id)
    engine = Engine(sop)
    today = start.astimezone(sop.calendar.zone).date()
    starter = _starter(sop, flow)
    try:
        opening = engine.start(flow, starter, sample_form(flow.intake, (), today), start)
    except (NotAllowed, InvalidForm) as exc:
        raise SimulationError(f"flow '{flow.id}' cannot be started: {exc}") from None
    state, unit = opening.target, None
    started, due_at, advisory = start, opening.due_at, opening.due_advisory
    steps: list[SimulatedStep] = []
    todo = list(path)
    while not sop.is_end(state):
        activity = sop.activity(state)
        assert activity is not None  # the loader guarantees every target is an activity or an end
        if len(steps) >= MAX_STEPS:
            raise SimulationError(f"no end reached after {MAX_STEPS} steps (the walk loops at step {activity.no}); "
                                  "give --path with the actions that leave the loop")
        where = f"step {activity.no} ({activity.name})"
        if not activity.actions:
            raise SimulationError(f"{where} has no action to take")
        if todo:
            action_id = todo.pop(0)
            action = activity.action(action_id)
            if action is None:
                raise SimulationError(f"{where} has no action '{action_id}'; its actions: "
                                      f"{', '.join(a.id for a in activity.actions)}")
        else:
            action = activity.actions[0]
        actor = Actor(None, "simulasi", frozenset(activity.performers), UNIT)
        raw = sample_form(activity.fields_of(action), action.requires, today, action.assign_unit)
        taken = due_at or started
        try:
            step = engine.perform(state, unit, actor, action.id, raw, taken, UNITS)
        except (NotAllowed, InvalidForm) as exc:
            raise SimulationError(f"{where}, action '{action.id}': {exc}") from None
        steps.append(SimulatedStep(activity, action, started, due_at, advisory))
        state, unit = step.target, step.unit
        started, due_at, advisory = taken, step.due_at, step.due_advisory
    if todo:
        raise SimulationError(f"the path is longer than the walk: it reached the end '{state}' with "
                              f"{', '.join(todo)} left over")
    end = sop.end(state)
    assert end is not None
    return Walk(sop, flow, start, _role_names(sop, flow.started_by[:1]) if starter else "", tuple(steps), end)


def _iso(moment: dt.datetime, sop: Sop) -> str:
    return moment.astimezone(sop.calendar.zone).isoformat(timespec="seconds")


def format_walk(walk: Walk) -> list[str]:
    """The walk as printed lines: a header, one line per step, the end and the total working time."""
    sop = walk.sop
    by = f"by {walk.starter}" if walk.starter else "by the scheduler"
    lines = [f"{sop.title} [{sop.id}], flow {walk.flow.id} ({walk.flow.name}): opened {_iso(walk.start, sop)} {by}"]
    width = max((len(str(s.activity.no)) for s in walk.steps), default=1)
    for s in walk.steps:
        limit = s.activity.time_limit
        if s.due_at is None or limit is None:
            due = "no time limit"
        else:
            due = f"due {_iso(s.due_at, sop)} ({limit.text}{', advisory' if s.advisory else ''})"
        lines.append(f"{s.activity.no:>{width}}. {s.activity.name} [{_role_names(sop, s.activity.performers)}] "
                     f"→ {s.action.id} | start {_iso(s.started, sop)} | {due}")
    hours, minutes = divmod(walk.working_minutes, 60)
    lines.append(f"End: {walk.end.id} ({walk.end.name}) at {_iso(walk.finished, sop)}")
    advisory = " (advisory limits included)" if any(s.advisory for s in walk.steps) else ""
    lines.append(f"Total working time: {hours} h {minutes:02d} min over {len(walk.steps)} step(s){advisory}")
    return lines
