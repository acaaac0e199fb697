"""The inbox by deadline state: counts per state and a filter, without loading every case.

``deadlines.state_of`` is the one rule. Four of its answers are plain comparisons of stored columns
(paused, no limit, advisory, overdue), so SQL counts and filters them exactly. Only *due soon* versus
*on time* needs the calendar; a case can be due soon only when it is due before
``deadlines.soon_horizon``, so just those few cases are classified one by one with ``of_case`` and
every later one is on time. The page therefore costs the same with 1,000 old overdue cases as with
fresh ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, false, func, not_, or_, select
from sqlalchemy.orm import Session

from .. import deadlines
from ..definition import Sop
from ..deadlines import DeadlineState
from ..errors import NotFound
from ..store import Case


def parse_filter(text: str | None) -> DeadlineState | None:
    """The state a ``?tenggat=`` parameter names (absent or empty: no filter); anything else is
    NotFound, like a page number that names nothing, so a stale bookmark gives a 404, never a 500."""
    if not text:
        return None
    for state in deadlines.FILTERABLE:
        if text == state.value:
            return state
    raise NotFound(f"no deadline state {text[:20]!r}")


def _future(now: dt.datetime) -> ColumnElement[bool]:
    """Binding, not on hold, not yet overdue: on time or due soon."""
    return and_(Case.paused_at.is_(None), Case.due_at.is_not(None), Case.due_advisory.is_(False),
                Case.due_at >= now)


def _simple(state: DeadlineState, now: dt.datetime) -> ColumnElement[bool] | None:
    """The exact SQL form of the states that need no calendar (None for the other two)."""
    if state is DeadlineState.PAUSED:
        return Case.paused_at.is_not(None)
    if state is DeadlineState.ADVISORY:
        return and_(Case.paused_at.is_(None), Case.due_at.is_not(None), Case.due_advisory.is_(True))
    if state is DeadlineState.OVERDUE:
        return and_(Case.paused_at.is_(None), Case.due_at.is_not(None), Case.due_advisory.is_(False),
                    Case.due_at < now)
    if state is DeadlineState.NONE:
        return and_(Case.paused_at.is_(None), Case.due_at.is_(None))
    return None


@dataclass(frozen=True)
class DeadlineCounts:
    by_state: dict[DeadlineState, int]
    due_soon_ids: frozenset[int]  # the cases due soon (few: those due before the horizon)

    def count(self, state: DeadlineState) -> int:
        return self.by_state.get(state, 0)


def deadline_counts(session: Session, versions: list[tuple[int, Sop]], where: ColumnElement[bool],
                    now: dt.datetime) -> DeadlineCounts:
    """How many open cases matching ``where`` are in each state (one grouped query, plus the
    cases near their due time, classified by ``deadlines.of_case``)."""
    kind = case(
        (Case.paused_at.is_not(None), DeadlineState.PAUSED.value),
        (Case.due_at.is_(None), DeadlineState.NONE.value),
        (Case.due_advisory.is_(True), DeadlineState.ADVISORY.value),
        (Case.due_at < now, DeadlineState.OVERDUE.value),
        else_="future",
    )
    found: dict[str, int] = {k: n for k, n in session.execute(
        select(kind, func.count()).where(Case.closed_at.is_(None), where).group_by(kind))}
    sops = dict(versions)
    near = [and_(Case.definition_id == d, Case.due_at <= deadlines.soon_horizon(sop, now)) for d, sop in versions]
    soon: set[int] = set()
    if near and found.get("future"):
        for case_id, definition_id, state, unit, due_at, started in session.execute(
                select(Case.id, Case.definition_id, Case.state, Case.unit_id, Case.due_at, Case.updated_at)
                .where(Case.closed_at.is_(None), where, _future(now), or_(*near))):
            sop = sops[definition_id]  # the columns of_case reads (not the case's data: cheap)
            if deadlines.state_of(now=now, due_at=due_at, advisory=False, calendar=sop.calendar_at(state, unit),
                                  started=started,
                                  soon=deadlines.due_soon_rule(sop, sop.activity(state))) is DeadlineState.DUE_SOON:
                soon.add(case_id)
    by_state = {DeadlineState(k): n for k, n in found.items() if k != "future"}
    by_state[DeadlineState.DUE_SOON] = len(soon)
    by_state[DeadlineState.ON_TIME] = found.get("future", 0) - len(soon)
    return DeadlineCounts(by_state, frozenset(soon))


def deadline_filter(state: DeadlineState, counts: DeadlineCounts, now: dt.datetime) -> ColumnElement[bool]:
    """The SQL form of "its deadline state is ``state``" for the cases ``counts`` was made over."""
    simple = _simple(state, now)
    if simple is not None:
        return simple
    soon = sorted(counts.due_soon_ids)
    if state is DeadlineState.DUE_SOON:
        return Case.id.in_(soon) if soon else false()
    return and_(_future(now), not_(Case.id.in_(soon))) if soon else _future(now)
