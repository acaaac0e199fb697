"""The ways through a flow, as lists of action ids: what a test walks and what `sop demo` fills in.

A definition with a return for revision has infinitely many walks, so "every path" means a finite set
that still tells every branch apart: every *simple* path from the flow's start to one of its ends
(no activity visited twice), plus, for each action no simple path takes (a return to an earlier step),
one path that goes to it the shortest way, takes it, and then goes to an end the shortest way. Every
action of the flow is taken by at least one path, and every end that can be reached is reached.
"""

from __future__ import annotations

from collections import deque

from .definition.model import Action, Flow, Sop

__all__ = ["MAX_PATHS", "flow_paths"]

MAX_PATHS = 500  # simple paths listed per flow before the rest are covered action by action only


def flow_paths(sop: Sop, flow: Flow) -> list[tuple[str, ...]]:
    """Action-id paths through ``flow``, each from its start to an end (see the module's doc)."""
    paths: list[tuple[str, ...]] = []
    _simple(sop, flow.start, (), {flow.start}, paths)
    taken = {(state, action) for p in paths for state, action in _states(sop, flow.start, p)}
    for activity in sop.activities:
        if activity.flow != flow.id:
            continue
        for action in activity.actions:
            if (activity.id, action.id) in taken:
                continue
            before = _shortest(sop, flow.start, activity.id)
            after = _shortest_to_end(sop, action.to)
            if before is None or after is None:
                continue  # unreachable, or no end after it: the loader refuses such definitions
            path = (*before, action.id, *after)
            paths.append(path)
            taken.update(_states(sop, flow.start, path))
    return paths


def _simple(sop: Sop, state: str, path: tuple[str, ...], seen: set[str], out: list[tuple[str, ...]]) -> None:
    if len(out) >= MAX_PATHS:
        return
    if sop.is_end(state):
        out.append(path)
        return
    activity = sop.activity(state)
    if activity is None:
        return
    for action in activity.actions:
        if action.to in seen:
            continue
        seen.add(action.to)
        _simple(sop, action.to, (*path, action.id), seen, out)
        seen.discard(action.to)


def _states(sop: Sop, start: str, path: tuple[str, ...]) -> list[tuple[str, str]]:
    """(activity id, action id) of each step of ``path``."""
    out, state = [], start
    for action_id in path:
        activity = sop.activity(state)
        action = activity.action(action_id) if activity else None
        if action is None:
            break
        out.append((state, action_id))
        state = action.to
    return out


def _moves(sop: Sop, state: str) -> tuple[Action, ...]:
    activity = sop.activity(state)
    return activity.actions if activity else ()


def _shortest(sop: Sop, start: str, goal: str) -> tuple[str, ...] | None:
    """The fewest actions from ``start`` to ``goal`` (breadth first), or None."""
    previous: dict[str, tuple[str, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state == goal:
            path: list[str] = []
            while (link := previous[state]) is not None:
                state, action_id = link
                path.append(action_id)
            return tuple(reversed(path))
        for action in _moves(sop, state):
            if action.to not in previous:
                previous[action.to] = (state, action.id)
                queue.append(action.to)
    return None


def _shortest_to_end(sop: Sop, start: str) -> tuple[str, ...] | None:
    best: tuple[str, ...] | None = None
    for flow in sop.flows:
        for end in flow.ends:
            path = _shortest(sop, start, end.id)
            if path is not None and (best is None or len(path) < len(best)):
                best = path
    return best
