"""Finding cases: text search, filters, sort, counts per filter value and keyset pages, for staff.

One service, ``search(session, registry, actor, query)``, answers the case list page. Its rules:

* **Every row, count and link passes the access policy** (``access.visible_criteria``), the same
  criteria the case page's ``may_view`` is the predicate of: a filter or a count can never reveal a
  case the person could not open.
* **Text search** matches the case's indexed text (``services.search_index`` says what is indexed
  and why) with every word of the query as a prefix: SQLite FTS5 or PostgreSQL full text
  (``to_tsvector('simple', …)``). The identity column is matched only where ``access.sees_identity``
  allows: for a case that is not anonymous, or in a version where the searcher holds a role that
  sees identity. A tracking code (or ``#<case number>``) the person may see is an exact hit: the
  page goes straight to that case.
* **Filters** come from the query string (``CaseQuery``, parsed by the pure ``parse_query``), so a
  filtered list is a bookmark. Values that name nothing — an unknown SOP, step, unit, channel, an
  unknown deadline state, a junk cursor — are NotFound (404), like a case number naming nothing;
  values that cannot be read (a date that is no date, a query with control characters) are
  InvalidInput (400). Parameters nobody defined are ignored. The "dimension" filters are not known
  to this code: they are the ``select`` fields a flow's ``recap.by`` names (LAPOR's channel),
  with their option labels.
* **Counts per filter value** (facets): for each filter, one GROUP BY over the cases matching all
  the *other* filters, so each chip says how many cases choosing it would list — the counts and the
  filtered lists agree by construction (a test checks it). Deadline states reuse
  ``inbox_deadlines``.
* **Keyset pagination**: the page after (or before) the cursor's row by its sort key and id, never
  OFFSET, so the last page costs what the first does. The cursor is opaque (base64 of the key) and
  checked: a cursor edited, truncated or made for another sort is a 404. It only says where to
  resume within the person's own visible list, so forging one could never show more than that.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, literal_column, or_, select, text, union
from sqlalchemy.orm import Session, aliased

from .. import access, deadlines
from ..access import Actor
from ..definition import Field, Sop, Text, joined
from ..deadlines import DeadlineState
from ..errors import InvalidInput, NotFound
from ..forms import has_control_chars
from ..registry import Registry
from ..store import Case
from ..store.models import CaseSearch
from .accounts import units as unit_names
from .cases import normalise_code, utcnow
from .inbox import CaseRow, _rows
from .inbox_deadlines import deadline_counts, deadline_filter, parse_filter
from .publishing import stored_versions

PER_PAGE = 50
MAX_TEXT = 200  # characters of a search; more is no search anyone types
MAX_WORDS = 12
DIMENSION_PREFIX = "f."  # ?f.kanal=sms: a flow's recap.by select field (never collides with our names)
NO_UNIT = "-"  # ?unit=-: cases not assigned to a unit yet
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CASE_NUMBER = re.compile(r"#\s*([0-9]{1,10})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURSOR_KEY = b"sop-runner case-list cursor v1"  # integrity (typos, edits), not secrecy: see the docstring


class Sort(enum.Enum):
    NEWEST = "baru"
    OLDEST = "lama"
    DUE = "tenggat"  # due soonest first; cases without a due time last


class Status(enum.Enum):
    OPEN = "buka"
    CLOSED = "selesai"
    ALL = "semua"


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, going back, before) the row with this sort key and id."""

    before: bool
    sort: Sort
    key: dt.datetime | None  # created_at, or due_at (None: a case without a due time)
    id: int

    def encode(self) -> str:
        payload = json.dumps([1, int(self.before), self.sort.value,
                              self.key.isoformat() if self.key else None, self.id], separators=(",", ":")).encode()
        tag = hmac.new(_CURSOR_KEY, payload, hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(payload + tag).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, before: bool) -> "Cursor":
        """The cursor a link carried; NotFound for anything this code did not write."""
        try:
            if len(token) > 200 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
                raise ValueError
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, tag = raw[:-8], raw[-8:]
            if not hmac.compare_digest(tag, hmac.new(_CURSOR_KEY, payload, hashlib.sha256).digest()[:8]):
                raise ValueError
            version, was_before, sort, key, case_id = json.loads(payload)
            if version != 1 or bool(was_before) != before or not isinstance(case_id, int) or \
                    not 0 < case_id < 2**31 or (key is not None and not isinstance(key, str)):
                raise ValueError
            when = dt.datetime.fromisoformat(key) if key is not None else None
            if when is not None and when.tzinfo is None:
                raise ValueError
            if when is None and Sort(sort) is not Sort.DUE:
                raise ValueError
            return cls(before, Sort(sort), when, case_id)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
            raise NotFound("this page of the list does not exist (the link is damaged); open the list again") \
                from None


@dataclass(frozen=True)
class CaseQuery:
    """A case list as the query string names it: what ``parse_query`` read and ``args`` writes back."""

    text: str = ""
    sop: str | None = None
    step: str | None = None
    deadline: DeadlineState | None = None
    unit: str | None = None  # a unit id, or NO_UNIT
    dimensions: tuple[tuple[str, str], ...] = ()  # (field id, option value), sorted by field id
    created_from: dt.date | None = None
    created_to: dt.date | None = None  # inclusive
    mine: bool = False  # waiting for me: cases whose current step I may perform
    status: Status = Status.OPEN
    sort: Sort = Sort.NEWEST
    cursor: Cursor | None = None

    def args(self, *, cursor: bool = False) -> dict[str, str]:
        """The query string naming this list (the first page unless ``cursor``): what links and
        bookmarks carry. Defaults are left out, so the plain list is plain ``/kasus``."""
        out: dict[str, str] = {}
        if self.text:
            out["q"] = self.text
        if self.sop:
            out["sop"] = self.sop
        if self.step:
            out["langkah"] = self.step
        if self.deadline is not None:
            out["tenggat"] = self.deadline.value
        if self.unit:
            out["unit"] = self.unit
        for field_id, value in self.dimensions:
            out[DIMENSION_PREFIX + field_id] = value
        if self.created_from:
            out["dari"] = self.created_from.isoformat()
        if self.created_to:
            out["sampai"] = self.created_to.isoformat()
        if self.mine:
            out["untuk_saya"] = "1"
        if self.status is not Status.OPEN:
            out["status"] = self.status.value
        if self.sort is not Sort.NEWEST:
            out["urut"] = self.sort.value
        if cursor and self.cursor is not None:
            out["sebelum" if self.cursor.before else "setelah"] = self.cursor.encode()
        return out

    def dimension(self, field_id: str) -> str | None:
        return dict(self.dimensions).get(field_id)

    def with_dimension(self, field_id: str, value: str | None) -> "CaseQuery":
        dims = {k: v for k, v in self.dimensions if k != field_id}
        if value is not None:
            dims[field_id] = value
        return replace(self, dimensions=tuple(sorted(dims.items())), cursor=None)

    @property
    def words(self) -> tuple[str, ...]:
        """The words of the text search, lower case, at most MAX_WORDS (punctuation separates them)."""
        return tuple(w.lower() for w in _WORD.findall(self.text))[:MAX_WORDS]


def _single(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value is None else str(value)


def _name(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not _ID.fullmatch(value):
        raise NotFound(f"no {what} {value[:20]!r}")
    return value


def _date(value: str | None, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not _DATE.fullmatch(value):
        raise InvalidInput(f"{what}: {value[:20]!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _choice(enum_type: Any, value: str | None, default: Any, what: str) -> Any:
    if value is None or value == "":
        return default
    for member in enum_type:
        if member.value == value:
            return member
    raise NotFound(f"no {what} {value[:20]!r}")


def parse_query(args: Mapping[str, Any]) -> CaseQuery:
    """The case list a query string names. Pure: whether an SOP, step, unit or option exists is
    ``search``'s to check against the stored versions. Raises NotFound for values naming nothing of
    ours and InvalidInput for values that cannot be read; ignores parameters it does not define
    (``?utm_source=…``). ``semua=1`` is the older spelling of ``status=semua``."""
    text_value = _single(args, "q") or ""
    if len(text_value) > MAX_TEXT or has_control_chars(text_value):
        raise InvalidInput(f"a search is at most {MAX_TEXT} characters of text")
    dims: dict[str, str] = {}
    for key in args:
        if isinstance(key, str) and key.startswith(DIMENSION_PREFIX):
            field_id = _name(key[len(DIMENSION_PREFIX):], "filter")
            value = _name(_single(args, key), "option")
            if field_id is None:
                raise NotFound("no filter ''")
            if value is not None:
                dims[field_id] = value
    created_from, created_to = _date(_single(args, "dari"), "from"), _date(_single(args, "sampai"), "to")
    if created_from and created_to and created_from > created_to:
        raise InvalidInput("the date range ends before it starts")
    mine_value = _single(args, "untuk_saya")
    if mine_value not in (None, "", "0", "1"):
        raise NotFound(f"no such list {mine_value[:20]!r}")
    status_value = _single(args, "status")
    if not status_value and _single(args, "semua") == "1":
        status_value = Status.ALL.value
    sort = _choice(Sort, _single(args, "urut"), Sort.NEWEST, "order")
    after, before = _single(args, "setelah"), _single(args, "sebelum")
    if after and before:
        raise NotFound("a page is either after or before a row, not both")
    cursor = Cursor.decode(after, False) if after else Cursor.decode(before, True) if before else None
    if cursor is not None and cursor.sort is not sort:
        raise NotFound("this page belongs to the list in another order; open the list again")
    unit = _single(args, "unit")
    return CaseQuery(
        text=text_value.strip(), sop=_name(_single(args, "sop"), "SOP"), step=_name(_single(args, "langkah"), "step"),
        deadline=parse_filter(_single(args, "tenggat")),
        unit=NO_UNIT if unit == NO_UNIT else _name(unit, "unit"),
        dimensions=tuple(sorted(dims.items())), created_from=created_from, created_to=created_to,
        mine=mine_value == "1", status=_choice(Status, status_value, Status.OPEN, "status"), sort=sort,
        cursor=cursor,
    )


# -- the answer --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FacetValue:
    value: str
    label: Text | str
    count: int
    selected: bool
    args: dict[str, str]  # the query string of the list with this value chosen (or, when selected, dropped)


@dataclass(frozen=True)
class Facet:
    key: str  # "status", "sop", "langkah", "tenggat", "unit", "untuk_saya", or "f.<field id>"
    label: Text | str | None  # a dimension's field label; None: the page words the fixed ones
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class SearchPage:
    query: CaseQuery
    rows: list[CaseRow]
    total: int  # cases matching the query (all pages)
    facets: tuple[Facet, ...]
    next_args: dict[str, str] | None  # the query string of the next page, None on the last
    previous_args: dict[str, str] | None
    exact: int | None = None  # the case a typed tracking code or #number names (the page goes there)
    dimensions: tuple[tuple[str, Field], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Dimension:
    field: Field
    definitions: frozenset[int]  # versions whose flows name it in recap.by


def _dimensions(versions: list[tuple[int, Sop]]) -> dict[str, _Dimension]:
    """The select fields some flow's ``recap.by`` names, newest version's definition of each first."""
    found: dict[str, tuple[Field, set[int]]] = {}
    for definition_id, sop in reversed(versions):
        for flow in sop.flows:
            for field_id in flow.recap.by:
                fld = _select_field(sop, field_id)
                if fld is not None:
                    found.setdefault(field_id, (fld, set()))[1].add(definition_id)
    return {k: _Dimension(f, frozenset(ids)) for k, (f, ids) in sorted(found.items())}


def _select_field(sop: Sop, field_id: str) -> Field | None:
    for flow in sop.flows:
        for fld in flow.intake:
            if fld.id == field_id and fld.type == "select":
                return fld
    for activity in sop.activities:
        for fld in activity.fields:
            if fld.id == field_id and fld.type == "select":
                return fld
    return None


def _text_criterion(session: Session, versions: list[tuple[int, Sop]], actor: Actor,
                    words: tuple[str, ...]) -> ColumnElement[bool]:
    """Cases whose indexed text holds every word (as a prefix), the identity column counted only
    where it may be seen: the case is not anonymous, or the searcher holds a role of its version
    that sees identity (``access.sees_identity``)."""
    seeing = sorted(d for d, sop in versions if access.sees_identity(sop, actor, True))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        query = func.to_tsquery("simple", " & ".join(f"{w}:*" for w in words))
        body_match = func.to_tsvector("simple", CaseSearch.body).op("@@")(query)
        all_match = func.to_tsvector("simple", CaseSearch.body + " " + CaseSearch.identity).op("@@")(query)
        body_hits: Any = select(CaseSearch.case_id).where(body_match)
        named_hits: Any = select(CaseSearch.case_id).where(all_match, CaseSearch.anonymous.is_(False))
        all_hits: Any = select(CaseSearch.case_id).where(all_match)
    elif dialect == "sqlite":
        phrase = " AND ".join(f'"{w}"*' for w in words)  # words are letters and digits only: nothing to escape

        def fts(name: str, match: str) -> Any:
            return text(f"SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH :{name}") \
                .bindparams(**{name: match}).columns(literal_column("rowid"))

        body_hits = fts("fts_body", "{body} : (" + phrase + ")")
        named_hits = select(CaseSearch.case_id).where(CaseSearch.anonymous.is_(False),
                                                      CaseSearch.case_id.in_(fts("fts_named", phrase)))
        all_hits = fts("fts_all", phrase)
    else:  # no full-text engine: still correct, only slower
        body_hits = select(CaseSearch.case_id).where(*(CaseSearch.body.ilike(f"%{w}%") for w in words))
        named_hits = all_hits = body_hits
    # One IN over the union of the hits, so the database goes from the (few) hits to the cases by
    # their key instead of testing every case against each branch.
    parts: list[Any] = [select(body_hits.subquery().c[0]), select(named_hits.subquery().c[0])]
    if seeing:
        other = aliased(Case)
        hits = all_hits.subquery()
        parts.append(select(hits.c[0]).join(other, other.id == hits.c[0]).where(other.definition_id.in_(seeing)))
    return Case.id.in_(union(*parts))


def _created_criterion(versions: list[tuple[int, Sop]], start: dt.date | None,
                       end: dt.date | None) -> ColumnElement[bool]:
    """Received between the two dates (inclusive), each day in its SOP calendar's time zone."""
    by_zone: dict[str, list[int]] = {}
    for definition_id, sop in versions:
        by_zone.setdefault(sop.calendar.timezone, []).append(definition_id)
    clauses: list[ColumnElement[bool]] = []
    for zone, ids in sorted(by_zone.items()):
        tz = ZoneInfo(zone)
        parts: list[ColumnElement[bool]] = [Case.definition_id.in_(ids)]
        if start is not None:
            parts.append(Case.created_at >= dt.datetime.combine(start, dt.time(), tz).astimezone(dt.timezone.utc))
        if end is not None:
            next_day = end + dt.timedelta(days=1)
            parts.append(Case.created_at < dt.datetime.combine(next_day, dt.time(), tz).astimezone(dt.timezone.utc))
        clauses.append(and_(*parts))
    return or_(*clauses) if clauses else false()


def _order(sort: Sort, backwards: bool) -> list[Any]:
    """The list's order (reversed to go back). NULLS LAST is the (due_at, id) index's own order, so
    PostgreSQL reads the due-soonest list off the index instead of sorting every case."""
    if sort is Sort.DUE:
        return [Case.due_at.desc().nulls_first(), Case.id.desc()] if backwards else \
            [Case.due_at.asc().nulls_last(), Case.id.asc()]
    newest = sort is Sort.NEWEST
    desc = newest != backwards
    return [Case.created_at.desc(), Case.id.desc()] if desc else [Case.created_at, Case.id]


def _beyond(cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor's in the list's order (before it, for a cursor going back)."""
    forward = not cursor.before
    if cursor.sort is Sort.DUE:
        if cursor.key is None:  # among the cases without a due time, which come last
            after = Case.id > cursor.id if forward else Case.id < cursor.id
            return and_(Case.due_at.is_(None), after) if forward else \
                or_(Case.due_at.is_not(None), and_(Case.due_at.is_(None), after))
        later = and_(Case.due_at >= cursor.key, or_(Case.due_at > cursor.key, Case.id > cursor.id))
        earlier = and_(Case.due_at <= cursor.key, or_(Case.due_at < cursor.key, Case.id < cursor.id))
        return or_(Case.due_at.is_(None), later) if forward else and_(Case.due_at.is_not(None), earlier)
    assert cursor.key is not None
    # Written as a range on created_at (an index condition) refined by the id among equal times, so
    # the database starts reading at the cursor, however deep in the list it is.
    older = and_(Case.created_at <= cursor.key, or_(Case.created_at < cursor.key, Case.id < cursor.id))
    newer = and_(Case.created_at >= cursor.key, or_(Case.created_at > cursor.key, Case.id > cursor.id))
    descending = cursor.sort is Sort.NEWEST
    return (older if descending else newer) if forward else (newer if descending else older)


def _cursor_of(case: CaseRow, sort: Sort, before: bool) -> Cursor:
    key = case.due_at if sort is Sort.DUE else case.created_at
    return Cursor(before, sort, key, case.id)


def _exact(session: Session, visible: ColumnElement[bool], typed: str) -> int | None:
    """The case a typed tracking code or ``#number`` names, if the person may see it."""
    number = _CASE_NUMBER.fullmatch(typed)
    if number is not None:
        case_id = int(number.group(1))
        if not 0 < case_id < 2**31:
            return None
        return session.scalar(select(Case.id).where(Case.id == case_id, visible))
    code = normalise_code(typed)
    if not re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code):
        return None
    return session.scalar(select(Case.id).where(Case.tracking_code == code, visible))


def search(session: Session, registry: Registry, actor: Actor, query: CaseQuery, *,
           per_page: int = PER_PAGE, now: dt.datetime | None = None) -> SearchPage:
    """The page of the case list ``query`` names, with its counts; see the module's docstring."""
    now = now or utcnow()
    versions = list(stored_versions(session, registry))
    visible = access.visible_criteria(versions, actor)
    if query.text and query.cursor is None:
        exact = _exact(session, visible, query.text)
        if exact is not None:
            return SearchPage(query, [], 1, (), None, None, exact=exact)
    dims = _dimensions(versions)
    units = unit_names(session)
    sop_ids = {sop.id for _d, sop in versions}
    if query.sop is not None and query.sop not in sop_ids:
        raise NotFound(f"no SOP {query.sop!r}")
    if query.step is not None and not any(
            (sop.activity(query.step) or sop.end(query.step)) is not None
            for _d, sop in versions if query.sop in (None, sop.id)):
        raise NotFound(f"no step {query.step!r}")
    if query.unit not in (None, NO_UNIT) and query.unit not in units:
        raise NotFound(f"no unit {query.unit!r}")
    for field_id, value in query.dimensions:
        dim = dims.get(field_id)
        if dim is None:
            raise NotFound(f"no filter {field_id!r}")
        if value not in {o.value for o in dim.field.options}:
            raise NotFound(f"no option {value!r} of {field_id!r}")

    # One criterion per filter, so each facet can be counted without its own filter.
    crit: dict[str, ColumnElement[bool]] = {}
    if query.status is Status.OPEN:
        crit["status"] = Case.closed_at.is_(None)
    elif query.status is Status.CLOSED:
        crit["status"] = Case.closed_at.is_not(None)
    if query.sop is not None:
        crit["sop"] = Case.sop_id == query.sop
    if query.step is not None:
        crit["langkah"] = Case.state == query.step
    if query.unit is not None:
        crit["unit"] = Case.unit_id.is_(None) if query.unit == NO_UNIT else Case.unit_id == query.unit
    for field_id, value in query.dimensions:
        crit[DIMENSION_PREFIX + field_id] = Case.data[field_id].as_string() == value
    if query.created_from or query.created_to:
        crit["dates"] = _created_criterion(versions, query.created_from, query.created_to)
    waiting = and_(Case.closed_at.is_(None), access.waiting_criteria(versions, actor))
    if query.mine:
        crit["untuk_saya"] = waiting
    words = query.words
    if words:
        crit["q"] = _text_criterion(session, versions, actor, words)

    def where(*leave_out: str) -> ColumnElement[bool]:
        return and_(visible, *(c for k, c in crit.items() if k not in leave_out))

    if query.deadline is not None:
        # Of open steps only. The cases due soon are found among all the visible ones (a few: those
        # due before the horizon), so the filter stays right under every other filter and facet.
        every = deadline_counts(session, versions, visible, now)
        crit["tenggat"] = and_(Case.closed_at.is_(None), deadline_filter(query.deadline, every, now))

    stmt = select(Case).where(where())
    cursor = query.cursor
    backwards = cursor is not None and cursor.before
    if cursor is not None:
        stmt = stmt.where(_beyond(cursor))
    rows = _rows(session, registry, stmt.order_by(*_order(query.sort, backwards)).limit(per_page + 1), now, actor)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    has_next = (more if not backwards else True) and bool(rows)
    has_previous = (cursor is not None and not backwards) or (backwards and more)
    next_args = {**query.args(), "setelah": _cursor_of(rows[-1], query.sort, False).encode()} \
        if has_next and rows else None
    previous_args = ({**query.args(), "sebelum": _cursor_of(rows[0], query.sort, True).encode()}
                     if rows else query.args()) if has_previous else None
    total = session.scalar(select(func.count()).select_from(Case).where(where())) or 0
    facets = _facets(session, versions, query, where, waiting, dims, units, now)
    return SearchPage(query, rows, total, facets, next_args, previous_args,
                      dimensions=tuple((k, d.field) for k, d in dims.items()))


def _facets(session: Session, versions: list[tuple[int, Sop]], query: CaseQuery, where: Any,
            waiting: ColumnElement[bool], dims: Mapping[str, _Dimension], units: Mapping[str, str],
            now: dt.datetime) -> tuple[Facet, ...]:
    """Counts per value of each filter over the cases matching the other filters (GROUP BY)."""
    out: list[Facet] = []

    def grouped(key: Any, leave_out: str) -> dict[Any, int]:
        return {k: n for k, n in session.execute(
            select(key, func.count()).select_from(Case).where(where(leave_out)).group_by(key))}

    # open / finished
    by_open = grouped(Case.closed_at.is_(None), "status")
    open_n, closed_n = sum(n for k, n in by_open.items() if k), sum(n for k, n in by_open.items() if not k)
    out.append(Facet("status", None, tuple(
        FacetValue(s.value, s.value, n, query.status is s,
                   replace(query, status=s, cursor=None).args())
        for s, n in ((Status.OPEN, open_n), (Status.CLOSED, closed_n), (Status.ALL, open_n + closed_n)))))

    # waiting for me
    mine_n = session.scalar(select(func.count()).select_from(Case).where(where("untuk_saya"), waiting)) or 0
    out.append(Facet("untuk_saya", None, (FacetValue(
        "1", "1", mine_n, query.mine, replace(query, mine=not query.mine, cursor=None).args()),)))

    # SOP
    titles: dict[str, Text | str] = {}
    for _d, sop in versions:
        titles[sop.id] = sop.title  # the newest version's title last: it wins
    sops = grouped(Case.sop_id, "sop")
    out.append(Facet("sop", None, tuple(
        FacetValue(sop_id, titles.get(sop_id, sop_id), n, query.sop == sop_id,
                   replace(query, sop=None if query.sop == sop_id else sop_id, step=None, cursor=None).args())
        for sop_id, n in sorted(sops.items(), key=lambda kv: str(titles.get(kv[0], kv[0]))))))

    # step (per SOP: the same state id may name different steps in two SOPs)
    newest = {sop.id: sop for _d, sop in versions}
    steps = {(sop_id, state): n for sop_id, state, n in session.execute(
        select(Case.sop_id, Case.state, func.count()).where(where("langkah")).group_by(Case.sop_id, Case.state))}

    def step_label(sop_id: str, state: str) -> Text | str:
        sop = newest.get(sop_id)
        if sop is None:
            return state
        activity = sop.activity(state)
        return joined(f"{activity.no}. ", activity.name) if activity else sop.state_name(state)

    def step_no(sop_id: str, state: str) -> tuple[str, int, str]:
        sop = newest.get(sop_id)
        activity = sop.activity(state) if sop else None
        return (sop_id, activity.no if activity else 10_000, state)

    step_values = []
    for (sop_id, state), n in sorted(steps.items(), key=lambda kv: step_no(*kv[0])):
        chosen = query.step == state and query.sop in (None, sop_id)
        args = replace(query, step=None, cursor=None).args() if chosen else \
            replace(query, sop=sop_id, step=state, cursor=None).args()
        label = step_label(sop_id, state)
        if len(sops) > 1:
            label = joined(label, " — ", titles.get(sop_id, sop_id))
        step_values.append(FacetValue(f"{sop_id}:{state}", label, n, chosen, args))
    out.append(Facet("langkah", None, tuple(step_values)))

    # deadline state (open steps only)
    counts = deadline_counts(session, versions, where("tenggat"), now)
    out.append(Facet("tenggat", None, tuple(
        FacetValue(s.value, s.value, counts.count(s), query.deadline is s,
                   replace(query, deadline=None if query.deadline is s else s, cursor=None).args())
        for s in deadlines.FILTERABLE)))

    # unit
    by_unit = grouped(Case.unit_id, "unit")
    unit_values = [FacetValue(u, units.get(u, u), n, query.unit == u,
                              replace(query, unit=None if query.unit == u else u, cursor=None).args())
                   for u, n in sorted(((u, n) for u, n in by_unit.items() if u is not None),
                                      key=lambda kv: units.get(kv[0], kv[0]))]
    if None in by_unit:
        unit_values.append(FacetValue(NO_UNIT, NO_UNIT, by_unit[None], query.unit == NO_UNIT, replace(
            query, unit=None if query.unit == NO_UNIT else NO_UNIT, cursor=None).args()))
    out.append(Facet("unit", None, tuple(unit_values)))

    # the flows' recap.by select fields (a channel …), with their option labels
    for field_id, dim in dims.items():
        key = DIMENSION_PREFIX + field_id
        found = grouped(Case.data[field_id].as_string(), key)
        picked = query.dimension(field_id)
        values = tuple(
            FacetValue(o.value, o.label, found.get(o.value, 0), picked == o.value,
                       query.with_dimension(field_id, None if picked == o.value else o.value).args())
            for o in dim.field.options if found.get(o.value, 0) or picked == o.value)
        out.append(Facet(key, dim.field.label, values))
    return tuple(out)


__all__ = ["CaseQuery", "Cursor", "Facet", "FacetValue", "SearchPage", "Sort", "Status", "parse_query", "search",
           "PER_PAGE", "DIMENSION_PREFIX", "NO_UNIT"]
