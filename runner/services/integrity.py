"""``sop check-db``: does the database still tell one consistent story?

For operators after a crash, a restore or a hand edit. Each check is one SQL query, so it runs in
seconds at a million cases. The story every case must tell:

* its history is numbered 1, 2, … without gaps, and its ``version`` is the last number;
* its ``state`` is where its last history row led;
* it is closed exactly when that state is an end of its definition, and the state exists there;
* no history row belongs to a case that does not exist;
* a case is on hold exactly when its last pause or resume row is a pause, and only while open;
* a case moved to another version of its SOP (a ``__migrated`` history row) runs on the version its
  last move named, of the same SOP;
* with the upload directory given, every attachment row has its file and every file its row
  (``services.attachments.problems``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from ..errors import StoredVersionError
from ..registry import Registry
from ..store import Case, Definition, HistoryEntry
from .publishing import engine_of_row


def check_database(session: Session, registry: Registry, uploads: Path | None = None) -> list[str]:
    """Every inconsistency found, one sentence each (ids and states only: no personal data)."""
    problems: list[str] = []
    counts = (select(HistoryEntry.case_id, func.count().label("n"), func.max(HistoryEntry.seq).label("top"),
                     func.min(HistoryEntry.seq).label("low"))
              .group_by(HistoryEntry.case_id).subquery())
    rows = session.execute(
        select(Case.id, Case.version, counts.c.n, counts.c.top, counts.c.low)
        .outerjoin(counts, counts.c.case_id == Case.id)
        .where(or_(counts.c.n.is_(None), counts.c.n != Case.version, counts.c.top != Case.version,
                   counts.c.low != 1))
        .order_by(Case.id)).all()
    for case_id, version, n, top, low in rows:
        if n is None:
            problems.append(f"case {case_id}: has no history at all (version {version})")
        else:
            problems.append(f"case {case_id}: version {version} but history has {n} rows numbered {low}..{top}")

    last = aliased(HistoryEntry)
    rows = session.execute(
        select(Case.id, Case.state, last.to_state)
        .join(last, and_(last.case_id == Case.id, last.seq == Case.version))
        .where(last.to_state != Case.state).order_by(Case.id)).all()
    for case_id, state, to_state in rows:
        problems.append(f"case {case_id}: is at '{state}' but its last history row led to '{to_state}'")

    for row in session.scalars(select(Definition).order_by(Definition.id)):
        try:
            sop = engine_of_row(registry, row).sop
        except StoredVersionError as exc:
            used = session.scalar(select(func.count()).select_from(Case).where(Case.definition_id == row.id)) or 0
            if used:
                problems.append(f"definition {row.sop_id}@{row.version[:12]}: cannot be read ({exc.problems[0].message}); "
                                f"{used} case(s) run on it")
            continue
        ends = [e.id for f in sop.flows for e in f.ends]
        states = [a.id for a in sop.activities] + ends
        mine = Case.definition_id == row.id
        for case_id, state in session.execute(select(Case.id, Case.state).where(mine, not_(Case.state.in_(states)))
                                              .order_by(Case.id)):
            problems.append(f"case {case_id}: state '{state}' does not exist in {sop.id}@{row.version[:12]}")
        for case_id, state in session.execute(
                select(Case.id, Case.state).where(mine, Case.state.in_(ends), Case.closed_at.is_(None)).order_by(Case.id)):
            problems.append(f"case {case_id}: ended at '{state}' but is not marked closed")
        for case_id, state in session.execute(
                select(Case.id, Case.state).where(mine, Case.state.in_(states), not_(Case.state.in_(ends)),
                                                  Case.closed_at.is_not(None)).order_by(Case.id)):
            problems.append(f"case {case_id}: is open at '{state}' but marked closed")

    problems.extend(_migrations(session))
    problems.extend(_pauses(session))

    orphans = session.execute(
        select(HistoryEntry.case_id, func.count()).outerjoin(Case, Case.id == HistoryEntry.case_id)
        .where(Case.id.is_(None)).group_by(HistoryEntry.case_id).order_by(HistoryEntry.case_id)).all()
    for case_id, n in orphans:
        problems.append(f"history: {n} row(s) belong to case {case_id}, which does not exist")
    if uploads is not None:
        from .attachments import Storage
        from .attachments import problems as attachment_problems

        problems.extend(attachment_problems(session, Storage(uploads)))
    return problems


def _pauses(session: Session) -> list[str]:
    """A step on hold (``services.pauses``): a case is paused exactly when its last pause or resume
    row is a pause, and only an open case can be. One query over the cases ever paused."""
    from .cases import PAUSED, RESUMED

    marks = (select(HistoryEntry.case_id, func.max(HistoryEntry.seq).label("seq"))
             .where(HistoryEntry.action.in_((PAUSED, RESUMED))).group_by(HistoryEntry.case_id).subquery())
    last = aliased(HistoryEntry)
    rows = session.execute(
        select(Case.id, Case.paused_at.is_not(None), Case.closed_at.is_not(None), last.action)
        .outerjoin(marks, marks.c.case_id == Case.id)
        .outerjoin(last, and_(last.case_id == Case.id, last.seq == marks.c.seq))
        .where(or_(Case.paused_at.is_not(None), marks.c.seq.is_not(None))).order_by(Case.id)).all()
    problems = []
    for case_id, paused, closed, action in rows:
        if paused and closed:
            problems.append(f"case {case_id}: is closed but marked on hold")
        elif paused and action != PAUSED:
            problems.append(f"case {case_id}: is on hold but its history has no pause after its last resumption")
        elif not paused and action == PAUSED and not closed:
            problems.append(f"case {case_id}: its history put it on hold, but the case is not marked on hold")
    return problems


def _migrations(session: Session) -> list[str]:
    """Moves between versions (``services.revisions``): the last one of each case must name the
    version the case runs on now. Only the cases that were ever moved are read."""
    from .revisions import MIGRATED

    last: dict[int, tuple[int, object]] = {}
    for case_id, seq, data in session.execute(select(HistoryEntry.case_id, HistoryEntry.seq, HistoryEntry.data)
                                              .where(HistoryEntry.action == MIGRATED)):
        if case_id not in last or seq > last[case_id][0]:
            last[case_id] = (seq, (data or {}).get("_to_definition"))
    problems = []
    if last:
        rows = session.execute(select(Case.id, Case.definition_id, Case.sop_id, Definition.sop_id)
                               .join(Definition, Definition.id == Case.definition_id)
                               .where(Case.id.in_(list(last))).order_by(Case.id))
        for case_id, definition_id, sop_id, definition_sop in rows:
            seq, named = last[case_id]
            if named != definition_id:
                problems.append(f"case {case_id}: runs on definition {definition_id} but its move (history {seq}) "
                                f"was to definition {named}")
            if definition_sop != sop_id:
                problems.append(f"case {case_id}: is a case of '{sop_id}' but runs on a version of '{definition_sop}'")
    return problems
