"""The text staff search finds a case by, written with the case in the same transaction.

**What is indexed, and why.** A case's row in ``case_search`` is made from the case's own row only:
its title and the values in its data of the fields its definition declares — the intake and every
step's fields (step values are merged into the case's data when the step is taken, as the recap
relies on), text, textarea, e-mail and telephone values as typed, a select's value with its option
labels in every language. Numbers, dates, checkboxes, units and files are not text anyone searches
for (units have their own filter); reserved keys (``_anonim``, a pause's staff note …) and values of
fields the definition does not declare are never indexed.

* The fields marked ``identifies`` (and the title when the flow's title field is one of them) go to
  the ``identity`` column, apart from the rest (``body``), with the case's *anonim* flag beside
  them. The search matches ``identity`` only where ``access.sees_identity`` lets the searcher see it
  (``services.search``), so an anonymous reporter's name finds nothing for whoever would see it
  masked: a hit would tell them whose report it is.
* Step texts (a note typed at an internal step) are in ``body``. They are shown on the case page's
  history to everyone who may see the case and to no one else, and every search result, count and
  page passes ``access.visible_criteria``: a search can therefore tell nobody anything about a
  case they may not open.

**Kept in step by the ORM, not by each service.** An ``after_flush`` listener on every Session
rewrites the row of each case inserted, or whose title, data or definition changed, in that flush:
``start_case``, ``perform_step``, privacy changes, ``revisions`` moving a case, demo seeding and any
future writer through the ORM keep the index true without knowing about it, and a rolled-back
transaction (or savepoint) takes its index rows with it. The document needs the case's definition
(which fields identify); the listener has no Registry, so the few stored versions it needs are
rebuilt once per process (``load_stored``) and cached by version hash. Rows inserted with Core
(``bench/run.py``) and databases upgraded from before migration 0009 are filled in by ``backfill``.

On SQLite the FTS5 table ``case_search_fts`` (external content over ``case_search``) follows by
triggers of the migration; on PostgreSQL GIN indexes over ``to_tsvector('simple', …)`` do
('simple': Indonesian words are not stemmed as English ones would be).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, delete, event, exists, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from ..definition import Sop, Text, display
from ..definition.stored import load_stored
from ..errors import StoredVersionError
from ..privacy import Privacy
from ..store.models import Case, CaseSearch, Definition

log = logging.getLogger(__name__)

_TEXT_TYPES = frozenset({"text", "textarea", "email", "tel", "select"})
_MAX_CHARS = 100_000  # per column: PostgreSQL's tsvector stops at 1 MB; no case needs more to be found
_WATCHED = ("title", "data", "definition_id", "flow")


@dataclass(frozen=True)
class Plan:
    """Which of a version's fields are indexed and where (built once per stored version)."""

    fields: Mapping[str, Any]  # field id -> Field (text-like only)
    identity: frozenset[str]
    title_identifies: frozenset[str]  # flow ids whose title field identifies the reporter


@dataclass(frozen=True)
class Document:
    anonymous: bool
    body: str
    identity: str


def plan_of(sop: Sop) -> Plan:
    fields: dict[str, Any] = {}
    for flow in sop.flows:
        for fld in flow.intake:
            if fld.type in _TEXT_TYPES:
                fields.setdefault(fld.id, fld)
    for activity in sop.activities:
        for fld in activity.fields:
            if fld.type in _TEXT_TYPES:
                fields.setdefault(fld.id, fld)
    identity = sop.identity_fields()
    return Plan(fields, identity, frozenset(f.id for f in sop.flows if f.title_field in identity))


def _words(fld: Any, value: Any) -> list[str]:
    if value is None or value == "" or isinstance(value, (dict, list)) and not value:
        return []
    values = value if isinstance(value, list) else [value]
    out: list[str] = []
    for v in values:
        if isinstance(v, (dict, list, bool)):
            continue
        out.append(str(v))
        if fld.type == "select":
            for option in fld.options:
                if option.value == str(v):  # the label in every language: staff search in theirs
                    out.append(display(option.label))
                    if isinstance(option.label, Text):
                        out.extend(text for _lang, text in option.label.translations)
    return out


def document(plan: Plan, flow: str, title: str, data: Mapping[str, Any]) -> Document:
    """The indexed text of a case (see the module's docstring for what goes where)."""
    body: list[str] = []
    ident: list[str] = []
    (ident if flow in plan.title_identifies else body).append(title or "")
    for field_id, value in data.items():
        fld = plan.fields.get(field_id)
        if fld is None:  # reserved keys, numbers, dates, files, fields this version does not declare
            continue
        (ident if field_id in plan.identity else body).extend(_words(fld, value))
    return Document(Privacy.of(data).anonymous, "\n".join(w for w in body if w)[:_MAX_CHARS],
                    "\n".join(w for w in ident if w)[:_MAX_CHARS])


# -- the plans of stored versions, cached per process ------------------------------------------------
_plans: dict[str, Plan | None] = {}
_lock = threading.Lock()


def _plan_for(conn: Connection, definition_id: int, known: Definition | None = None) -> Plan | None:
    """The plan of a stored version, None when its text cannot be read (its cases go unindexed)."""
    if known is not None and known.version is not None and known.source is not None:
        version, source, path, fmt = known.version, known.source, known.source_path, known.format or 1
    else:
        stored = conn.scalar(select(Definition.version).where(Definition.id == definition_id))
        if stored is None:
            return None
        return _cached(conn, definition_id, stored, None, "<database>", 1)
    return _cached(conn, definition_id, version, source, path, fmt)


def _cached(conn: Connection, definition_id: int, version: str, source: str | None, path: str,
            fmt: int) -> Plan | None:
    if version in _plans:
        return _plans[version]
    if source is None:
        row = conn.execute(select(Definition.source, Definition.source_path, Definition.format)
                           .where(Definition.id == definition_id)).one()
        source, path, fmt = row.source, row.source_path, row.format or 1
    try:
        plan: Plan | None = plan_of(load_stored(source, fmt, path))
    except StoredVersionError:
        log.warning("search.unindexed definition=%s: its stored text cannot be read", definition_id)
        plan = None
    with _lock:
        _plans[version] = plan
    return plan


def _write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace the rows (one statement per dialect; the FTS5 triggers follow on SQLite)."""
    if not rows:
        return
    table: Any = CaseSearch.__table__
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if name == "sqlite" else postgresql.insert
        stmt = dialect_insert(table)
        conn.execute(stmt.on_conflict_do_update(index_elements=[table.c.case_id], set_={
            "anonymous": stmt.excluded.anonymous, "body": stmt.excluded.body, "identity": stmt.excluded.identity}),
            rows)
        return
    conn.execute(delete(table).where(table.c.case_id.in_([r["case_id"] for r in rows])))
    conn.execute(insert(table), rows)


def _row(case_id: int, doc: Document) -> dict[str, Any]:
    return {"case_id": case_id, "anonymous": doc.anonymous, "body": doc.body, "identity": doc.identity}


def _changed(case: Case) -> bool:
    state = sa_inspect(case)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED)


@event.listens_for(Session, "after_flush")
def _index_flushed_cases(session: Session, _flush: UOWTransaction) -> None:
    """Rewrite the search rows of the cases this flush inserted or whose indexed columns changed."""
    cases = [o for o in session.new if isinstance(o, Case)] + \
        [o for o in session.dirty if isinstance(o, Case) and _changed(o)]
    if not cases:
        return
    conn = session.connection()
    rows = []
    for case in cases:
        if case.id is None:
            continue
        known = case.__dict__.get("definition")
        plan = _plan_for(conn, case.definition_id if case.definition_id is not None else known.id, known)
        if plan is not None:
            rows.append(_row(case.id, document(plan, case.flow, case.title, case.data or {})))
    _write(conn, rows)


def backfill(conn: Connection, *, batch: int = 2000, only_missing: bool = True) -> int:
    """Index every case that has no search row yet (or every case), in batches; returns how many.

    Used by migration 0009 for the cases already there and by ``bench/run.py`` after its Core
    inserts; each batch reads only (id, definition, flow, title, data) of the cases it indexes."""
    done = 0
    last = 0
    plans: dict[int, Plan | None] = {}
    table = Case.__table__
    search = CaseSearch.__table__
    while True:
        stmt = select(table.c.id, table.c.definition_id, table.c.flow, table.c.title, table.c.data) \
            .where(table.c.id > last).order_by(table.c.id).limit(batch)
        if only_missing:  # an anti-join per batch (NOT IN would hash the whole index table each time)
            stmt = stmt.where(~exists().where(search.c.case_id == table.c.id))
        found = conn.execute(stmt).all()
        if not found:
            return done
        rows = []
        for case_id, definition_id, flow, title, data in found:
            if definition_id not in plans:
                plans[definition_id] = _plan_for(conn, definition_id)
            plan = plans[definition_id]
            if plan is not None:
                rows.append(_row(case_id, document(plan, flow, title, data or {})))
        _write(conn, rows)
        done += len(rows)
        last = found[-1][0]


def forget_plans(versions: Iterable[str] = ()) -> None:
    """Drop cached plans (tests that rewrite a stored text in place)."""
    with _lock:
        for v in list(versions) or list(_plans):
            _plans.pop(v, None)
