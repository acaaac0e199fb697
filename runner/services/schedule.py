"""Work that is not per report: one case per period for each scheduled flow, and its figures.

``tick`` is idempotent (a unique constraint on sop, flow and period backs the check), so a cron
job, several app servers or an impatient admin may all call it without opening a month twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..definition import Sop, Text
from ..errors import StorageError
from ..registry import Registry
from ..store import Case, violates
from .accounts import units as unit_names
from .cases import start_case, utcnow
from .publishing import current_sops


def previous_month(now: dt.datetime, sop: Sop) -> str:
    local = now.astimezone(sop.calendar.zone)
    first = local.date().replace(day=1)
    last_month = first - dt.timedelta(days=1)
    return f"{last_month.year:04d}-{last_month.month:02d}"


def tick(session: Session, registry: Registry, now: dt.datetime | None = None) -> list[Case]:
    """Open the monthly case for the month just ended, for every scheduled flow that lacks one."""
    now = now or utcnow()
    opened = []
    for sop in current_sops(session, registry, now).values():  # the database's current versions
        for flow in sop.scheduled_flows:
            period = previous_month(now, sop)
            exists = session.scalar(select(Case.id).where(Case.sop_id == sop.id, Case.flow == flow.id,
                                                          Case.period == period))
            if exists is not None:
                continue
            try:
                with session.begin_nested():
                    opened.append(start_case(session, registry, sop.id, flow.id, {}, actor=None, now=now,
                                             period=period))
            except IntegrityError as exc:
                if not violates(exc, "uq_cases_scheduled_period"):
                    raise StorageError(f"the {period} case of {sop.id}/{flow.id} could not be saved") from exc
                continue  # another process opened it between our check and insert
    return opened


@dataclass(frozen=True)
class PeriodFigures:
    period: str
    received: int
    finished: int
    open: int
    overdue: int
    by_state: tuple[tuple[Text, int], ...]  # step or end name (display text) and its count
    by_unit: tuple[tuple[str, int], ...]


def period_figures(session: Session, registry: Registry, sop: Sop, period: str,
                   now: dt.datetime | None = None) -> PeriodFigures:
    """Counts over the per-report cases created in ``period`` (YYYY-MM, in the SOP's time zone)."""
    now = now or utcnow()
    year, month = (int(p) for p in period.split("-"))
    zone = sop.calendar.zone
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    cond = (Case.sop_id == sop.id, Case.flow.in_([f.id for f in sop.case_flows]), Case.created_at >= start,
            Case.created_at < end)
    rows = session.execute(select(Case.state, Case.unit_id, func.count()).where(*cond)
                           .group_by(Case.state, Case.unit_id)).all()
    overdue = session.scalar(select(func.count()).select_from(Case).where(
        *cond, Case.closed_at.is_(None), Case.due_at < now, Case.due_advisory.is_(False))) or 0
    units = unit_names(session)
    by_state: dict[Text, int] = {}
    by_unit: dict[str, int] = {}
    for state, unit_id, n in rows:
        name = sop.state_name(state)
        by_state[name] = by_state.get(name, 0) + n
        if unit_id:
            unit = units.get(unit_id, unit_id)
            by_unit[unit] = by_unit.get(unit, 0) + n
    received = sum(n for _, _, n in rows)
    finished = sum(n for state, _, n in rows if sop.is_end(state))
    return PeriodFigures(
        period=period, received=received, finished=finished, open=received - finished, overdue=overdue,
        by_state=tuple(sorted(by_state.items(), key=lambda kv: (-kv[1], kv[0].id))),
        by_unit=tuple(sorted(by_unit.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
