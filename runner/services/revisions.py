"""Publishing a revision without stranding a running case: plan, publish, and moves that fall due.

A revision is planned before it is published: for every live case of an older version of the same
SOP the plan says whether it *moves* (to the step ``migration.steps`` maps its step to, or else to
the step of the same id in the same flow), *stays* on its version (asked for with keep-stranded), or
would be *stranded* (its step is gone and nothing maps it; or the step it would reach is performed
only by unit-scoped roles and the case has no unit). A plan with stranded cases is refused, so a
revision never leaves a case at a step its version no longer has.

Each move is its own savepoint: the case's definition changes, it gets the migration's ``data``
values it lacks, its due time is recomputed with the new version's time limit and calendar from when
it entered its step, and one ``__migrated`` history entry names both versions. The case's optimistic
``version`` guards the move like a step: a case that moved on concurrently is re-planned from where
it now is, and never written over.

A revision effective in the future is stored at once; new cases start on it from that date
(``publishing.current_sops``), and ``apply_due_migrations`` (``sop tick``) moves the running cases
once it is effective, recording ``migrated_at`` so it is done once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import deadlines
from ..definition import Sop, load_text
from ..engine import Engine
from ..errors import InvalidInput, RevisionRefused, StorageError
from ..logs import event
from ..registry import Registry
from ..store import Case, Definition, HistoryEntry, violates
from .cases import MIGRATED as MIGRATED  # re-exported: the action name belongs to this module's moves
from .cases import ESCALATED
from .publishing import current_sops
from .publishing import publish as store_version

log = logging.getLogger(__name__)

# MIGRATED (cases.py): the history action of a move between versions (no SOP action starts with "_")
SYSTEM = "sistem"  # the actor named in a move's history entry
_RETRIES = 3  # a case that keeps moving on under a migration is reported after this many attempts


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class CaseOutcome:
    case_id: int
    tracking_code: str | None
    title: str
    from_version: str  # the case's current definitions.version
    state: str  # the step it waits at (old version's activity id)
    outcome: str  # "moves" | "stays" | "stranded"
    to_state: str | None  # for "moves"
    reason: str  # one plain sentence, English, for the CLI/log (the web words its own)


@dataclass(frozen=True)
class Plan:
    sop: Sop  # the new version, validated
    source: str
    path: str
    is_new: bool  # False when this exact text is already stored
    effective_from: dt.datetime
    outcomes: tuple[CaseOutcome, ...]
    keep_stranded: bool = False

    @property
    def stranded(self) -> tuple[CaseOutcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome == "stranded")

    @property
    def ok(self) -> bool:
        return not self.stranded


@dataclass(frozen=True)
class Published:
    definition_id: int
    version: str
    moved: tuple[int, ...]  # case ids moved now
    kept: tuple[int, ...]  # case ids left on their version
    pending: bool  # effective in the future: cases move when it takes effect


# -- the rule -------------------------------------------------------------------------------------
def _only_unit_scoped(sop: Sop, activity_id: str) -> bool:
    activity = sop.activity(activity_id)
    return activity is not None and all((r := sop.role(p)) is not None and r.unit_scoped
                                        for p in activity.performers)


def outcome_for(sop: Sop, flow: str, state: str, unit_id: str | None, *,
                keep_stranded: bool = False) -> tuple[str, str | None, str]:
    """(outcome, target step, reason) for a live case of an older version waiting at ``state``."""
    target, how = None, ""
    problem = ""
    mapped = sop.migration.target(state) if sop.migration else None
    if sop.flow(flow) is None:
        problem = f"its flow '{flow}' does not exist in the new version"
    elif mapped is not None:
        activity = sop.activity(mapped)
        if activity is None or activity.flow != flow:
            problem = f"migration.steps sends '{state}' to '{mapped}', which is not a step of its flow '{flow}'"
        else:
            target, how = mapped, "as migration.steps maps it"
    elif (same := sop.activity(state)) is not None and same.flow == flow:
        target, how = state, "the same step exists in the new version"
    else:
        problem = f"step '{state}' does not exist in the new version and migration.steps does not map it"
    if target is not None and unit_id is None and _only_unit_scoped(sop, target):
        problem = (f"step '{target}' is performed only by unit-scoped roles and the case has no unit yet")
        target = None
    if target is not None:
        return "moves", target, f"moves from '{state}' to '{target}' ({how})"
    if keep_stranded:
        return "stays", None, f"stays on its version: {problem}"
    return "stranded", None, f"would be stranded: {problem}"


def _older_versions(session: Session, sop_id: str, row: Definition | None) -> dict[int, str]:
    """definitions.id -> version of the versions older than ``row`` (all others when not stored)."""
    query = select(Definition.id, Definition.version).where(Definition.sop_id == sop_id)
    if row is not None:
        query = query.where(Definition.id != row.id, or_(
            Definition.published_at < row.published_at,
            and_(Definition.published_at == row.published_at, Definition.id < row.id)))
    return {row_id: version for row_id, version in session.execute(query)}


def _outcomes(session: Session, sop: Sop, older: dict[int, str], keep_stranded: bool) -> tuple[CaseOutcome, ...]:
    if not older:
        return ()
    rows = session.execute(
        select(Case.id, Case.tracking_code, Case.title, Case.definition_id, Case.flow, Case.state, Case.unit_id)
        .where(Case.sop_id == sop.id, Case.closed_at.is_(None), Case.definition_id.in_(list(older)))
        .order_by(Case.id))
    found = []
    for case_id, code, title, definition_id, flow, state, unit_id in rows:
        outcome, target, reason = outcome_for(sop, flow, state, unit_id, keep_stranded=keep_stranded)
        found.append(CaseOutcome(case_id, code, title, older[definition_id], state, outcome, target,
                                 f"case {case_id} at '{state}' {reason}"))
    return tuple(found)


def _stored(session: Session, sop: Sop) -> Definition | None:
    return session.scalar(select(Definition).where(Definition.sop_id == sop.id, Definition.version == sop.version))


# -- planning and publishing ----------------------------------------------------------------------
def plan(session: Session, registry: Registry, source: str, path: str = "<upload>", *,
         keep_stranded: bool = False, effective: dt.datetime | None = None,
         now: dt.datetime | None = None) -> Plan:
    """What publishing ``source`` would do to every live case of an older version. Writes nothing.

    DefinitionError (every problem, line-numbered) when the text is not a valid definition."""
    now = now or utcnow()
    if effective is not None and effective.tzinfo is None:
        raise InvalidInput("the effective date needs a time zone")
    sop = load_text(source, path)
    # Built, not cached: a text the engine cannot run fails here, before publishing, and a worker
    # does not keep one engine in memory for every draft an admin checks (publishing caches it).
    Engine(sop)
    row = _stored(session, sop)
    since = row.effective_from if row is not None and row.effective_from is not None else max(effective or now, now)
    return Plan(sop=sop, source=source, path=path, is_new=row is None, effective_from=since,
                outcomes=_outcomes(session, sop, _older_versions(session, sop.id, row), keep_stranded),
                keep_stranded=keep_stranded)


def publish(session: Session, registry: Registry, plan: Plan, *, by: str,
            now: dt.datetime | None = None) -> Published:
    """Store the planned version and, when it is effective now, move the running cases to it.

    Refused with RevisionRefused (nothing written) when the plan strands a case. Each case is
    re-planned as it is moved, so one that moved on since the plan is judged where it is now (a case
    now stranded stays on its version, and is reported in ``kept``)."""
    now = now or utcnow()
    if not plan.ok:
        names = ", ".join(str(o.case_id) for o in plan.stranded)  # ids only: a message may reach a log
        raise RevisionRefused(f"not published: {len(plan.stranded)} running case(s) would be stranded: {names}; "
                              "map their steps in migration.steps, or keep them on their version (keep-stranded)",
                              tuple(o.case_id for o in plan.stranded))
    row = store_version(session, plan.sop, plan.source, now, by=by, effective=plan.effective_from)
    pending = row.effective_from is not None and row.effective_from > now
    moved: tuple[int, ...] = ()
    kept: tuple[int, ...] = ()
    if not pending:
        moved, kept = _migrate(session, registry, row, plan.sop, now=now)
        if row.migrated_at is None:
            row.migrated_at = now
            session.flush()
    event(log, "revision.published", sop=plan.sop.id, version=plan.sop.version[:12], definition=row.id,
          new=plan.is_new, pending=pending, moved=len(moved), kept=len(kept))
    return Published(row.id, row.version, moved, kept, pending)


def apply_due_migrations(session: Session, registry: Registry, now: dt.datetime) -> list[Published]:
    """Move the running cases to every revision that was published ahead of its date and is now
    effective; done once per revision (``migrated_at``, claimed with a guarded UPDATE, so several
    cron runs or workers never move twice). A revision superseded before its date moves nothing.
    Stranded cases cannot refuse anything any more: they stay on their version (logged)."""
    due = session.scalars(select(Definition).where(
        Definition.migrated_at.is_(None), Definition.effective_from.is_not(None),
        Definition.effective_from > Definition.published_at, Definition.effective_from <= now)
        .order_by(Definition.effective_from, Definition.id)).all()
    done = []
    for row in due:
        claimed = session.execute(update(Definition).where(Definition.id == row.id, Definition.migrated_at.is_(None))
                                  .values(migrated_at=now).execution_options(synchronize_session=False))
        if getattr(claimed, "rowcount", 0) != 1:
            continue  # another process took it
        session.refresh(row)
        current = current_sops(session, registry, now).get(row.sop_id)
        sop = registry.engine_for_version(row.version, row.source, row.source_path, row.format).sop
        if current is None or current.version != row.version:
            event(log, "revision.superseded", sop=row.sop_id, version=row.version[:12], definition=row.id)
            done.append(Published(row.id, row.version, (), (), False))
            continue
        moved, kept = _migrate(session, registry, row, sop, now=now)
        event(log, "revision.effective", sop=row.sop_id, version=row.version[:12], definition=row.id,
              moved=len(moved), kept=len(kept))
        done.append(Published(row.id, row.version, moved, kept, False))
    return done


# -- moving one case ------------------------------------------------------------------------------
def _migrate(session: Session, registry: Registry, row: Definition, sop: Sop, *,
             now: dt.datetime) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Move every live case of the older versions that can move; the others stay (a plan that
    stranded one was refused before this, so those are cases that moved on since, or the cases of a
    revision that took effect at ``sop tick``, which can refuse nothing any more)."""
    older = _older_versions(session, sop.id, row)
    if not older:
        return (), ()
    ids = session.scalars(select(Case.id).where(Case.sop_id == sop.id, Case.closed_at.is_(None),
                                                Case.definition_id.in_(list(older))).order_by(Case.id)).all()
    moved: list[int] = []
    kept: list[int] = []
    for case_id in ids:
        (moved if _move_one(session, registry, row, sop, case_id, older, now) else kept).append(case_id)
    return tuple(moved), tuple(kept)


def _move_one(session: Session, registry: Registry, row: Definition, sop: Sop, case_id: int,
              older: dict[int, str], now: dt.datetime) -> bool:
    """Move one case in its own savepoint; False when it stays (stranded now, closed, or racing)."""
    for _attempt in range(_RETRIES):
        case = session.get(Case, case_id, populate_existing=True)
        if case is None or case.closed_at is not None or case.definition_id not in older:
            return False  # finished, or already moved (by another process) since it was listed
        outcome, target, reason = outcome_for(sop, case.flow, case.state, case.unit_id)
        if target is None:
            event(log, "case.not_migrated", logging.WARNING, case=case.id, sop=sop.id, state=case.state,
                  version=sop.version[:12])
            return False
        from_version = older[case.definition_id]
        try:
            with session.begin_nested():
                _apply_move(session, registry, case, row, sop, target, from_version, now)
                session.flush()
        except StaleDataError:
            continue  # it moved on under us: judge it again where it is now
        except IntegrityError as exc:
            if violates(exc, "uq_history_case_seq"):
                continue
            log.error("case.migrate_failed case=%s: the database refused the write", case_id, exc_info=True)
            raise StorageError("a case could not be moved to the new version; nothing of it was written") from None
        event(log, "case.migrated", case=case_id, sop=sop.id, from_version=from_version[:12],
              to_version=sop.version[:12], to=target)
        return True
    event(log, "case.not_migrated", logging.WARNING, case=case_id, sop=sop.id, reason="kept moving on")
    return False


def _entered_at(session: Session, case: Case) -> dt.datetime:
    """When the case entered the step it waits at: its last history entry that was not a move
    between versions (a move does not restart the clock)."""
    at = session.scalar(select(HistoryEntry.at).where(
        HistoryEntry.case_id == case.id,
        or_(HistoryEntry.action.is_(None), HistoryEntry.action.not_in((MIGRATED, ESCALATED))))
        .order_by(HistoryEntry.seq.desc()).limit(1))
    return at or case.updated_at


def _apply_move(session: Session, registry: Registry, case: Case, row: Definition, sop: Sop, target: str,
                from_version: str, now: dt.datetime) -> None:
    added: dict[str, Any] = {}
    data = dict(case.data)
    for field_id, value in (sop.migration.data if sop.migration else ()):
        if data.get(field_id) in (None, ""):
            data[field_id] = added[field_id] = value
    due_at, advisory = registry.engine(sop).due(target, _entered_at(session, case), case.unit_id)
    session.add(HistoryEntry(
        case_id=case.id, seq=case.version + 1, at=now, user_id=None, actor_name=SYSTEM, role="",
        unit_id=None, activity=None, action=MIGRATED, from_state=case.state, to_state=target,
        data={**added, "_from_version": from_version, "_to_version": sop.version,
              "_from_definition": case.definition_id, "_to_definition": row.id},
        due_at=due_at,
    ))
    case.definition = row
    case.state = target
    case.data = data
    case.due_at = due_at
    case.due_advisory = advisory
    case.escalate_at = deadlines.escalate_at(sop, target, due_at, advisory, case.unit_id)
    case.updated_at = now


def parse_effective(text: str, sop: Sop) -> dt.datetime:
    """``--effective``: a date (midnight in the SOP's time zone) or an ISO 8601 time (no offset: the
    SOP's time zone)."""
    try:
        if len(text.strip()) == 10:
            day = dt.date.fromisoformat(text.strip())
            return dt.datetime.combine(day, dt.time(0), tzinfo=sop.calendar.zone)
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=sop.calendar.zone)


def versions(session: Session, sop_id: str) -> list[tuple[Definition, int]]:
    """Every stored version of an SOP with its number of live cases, oldest first (for `sop versions`)."""
    counts: dict[int, int] = {row_id: n for row_id, n in session.execute(select(Case.definition_id, func.count()).where(
        Case.sop_id == sop_id, Case.closed_at.is_(None)).group_by(Case.definition_id))}
    rows = session.scalars(select(Definition).where(Definition.sop_id == sop_id)
                           .order_by(Definition.published_at, Definition.id)).all()
    return [(r, counts.get(r.id, 0)) for r in rows]
