"""The reporter's response to the answer, and the public list of answered reports.

**The response.** A flow with ``response`` lets the reporter say once, on the tracking page, whether
the answer satisfies them (``satisfied`` / ``not_satisfied``, with a comment; a comment is required
when not satisfied, so the officers know why). The form is offered while the case is at one of
``response.after`` (where the answer has been given). The response is stored as one append-only
history entry (action ``__response``, by the flow's external role, no account) and in the case's
data under a reserved key, in the caller's transaction. A not-satisfied response moves the case to
``response.not_satisfied``: an activity reopens the case there, with the step's time limit computed
by the engine (``Engine.due``) and its escalation moment, so the step's performers find it in their
inbox as the access policy says; an end closes it there.

Once only, guarded twice: the service refuses a case that already has a response
(``AlreadyResponded``), and the history row is numbered with the case's optimistic ``version`` under
the unique (case, seq) constraint, so of two concurrent posts exactly one is written; the other gets
``AlreadyResponded`` and its transaction rolls back whole.

**The public list.** A flow with ``public_list: true`` has its answered reports (at a state of
``response.after``) listed at ``/laporan/<sop id>``: only reports neither anonymous nor confidential
(filtered in SQL, and checked again per row), showing the title when the title field is public, the
dates, the public status and the values of the *activity* fields marked ``public`` (the answer) —
never an intake field, an internal note, the tracking code or the reporter's identity. Pages are
keyset-paginated by case id (newest first), so page 1000 costs what page 1 does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import access, deadlines
from ..definition import Field, Flow, Sop, Text, display
from ..errors import AlreadyResponded, InvalidInput, NotAllowed, NotFound, StorageError
from ..forms import has_control_chars
from ..logs import event
from ..privacy import ANONYMOUS_KEY, CONFIDENTIAL_KEY, Privacy
from ..registry import Registry
from ..store import Case, HistoryEntry, violates
from .cases import engine_of, normalise_code, public_status, utcnow
from . import outbox
from .publishing import current_sops

log = logging.getLogger(__name__)

RESPONDED = "__response"  # the history action of the reporter's response (internal: starts with "__")
RESPONSE_KEY = "_response"  # in the case's data (and the entry's): {"verdict": …, "comment": …, "at": …}
SATISFIED, NOT_SATISFIED = "satisfied", "not_satisfied"
VERDICTS = (SATISFIED, NOT_SATISFIED)
MAX_COMMENT = 2000
PAGE_SIZE = 20


@dataclass(frozen=True)
class GivenResponse:
    verdict: str  # SATISFIED or NOT_SATISFIED
    comment: str
    at: dt.datetime | None


@dataclass(frozen=True)
class ResponseState:
    """What the tracking page shows of the response: the form (``offered``) or the one given."""

    offered: bool
    given: GivenResponse | None


def given_response(case: Case) -> GivenResponse | None:
    """The response stored on the case, if the reporter gave one."""
    raw = (case.data or {}).get(RESPONSE_KEY)
    if not isinstance(raw, dict) or raw.get("verdict") not in VERDICTS:
        return None
    try:
        at = dt.datetime.fromisoformat(str(raw.get("at"))) if raw.get("at") else None
    except ValueError:
        at = None
    return GivenResponse(str(raw["verdict"]), str(raw.get("comment") or ""), at)


def _offered(flow: Flow | None, case: Case) -> bool:
    return flow is not None and flow.response is not None and case.state in flow.response.after


def _case_by_code(session: Session, code: str) -> Case:
    normalised = normalise_code(code)
    case = session.scalar(select(Case).where(Case.tracking_code == normalised)) if normalised else None
    if case is None:
        raise NotFound("no report has this tracking code")
    return case


def _already(session: Session, case: Case) -> bool:
    """Whether the case holds a response, in its data or (authoritative, append-only) its history."""
    return given_response(case) is not None or bool(session.scalar(
        select(func.count()).select_from(HistoryEntry)
        .where(HistoryEntry.case_id == case.id, HistoryEntry.action == RESPONDED)))


def response_state(session: Session, registry: Registry, code: str) -> ResponseState:
    """Whether the tracking page of ``code`` offers the response form, or shows the response given."""
    case = _case_by_code(session, code)
    sop = engine_of(registry, case).sop
    given = given_response(case)
    return ResponseState(offered=given is None and _offered(sop.flow(case.flow), case), given=given)


def clean_response(verdict: str | None, comment: str | None) -> tuple[str, str]:
    """The verdict and comment as stored, or InvalidInput saying what is wrong."""
    verdict = (verdict or "").strip()
    if verdict not in VERDICTS:
        raise InvalidInput("choose whether the answer satisfies you")
    comment = (comment or "").replace("\r\n", "\n").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    if has_control_chars(comment, allow_line_breaks=True):
        raise InvalidInput("the comment holds characters that cannot be stored")
    if verdict == NOT_SATISFIED and not comment:
        raise InvalidInput("say why the answer does not satisfy you")
    return verdict, comment


def respond(session: Session, registry: Registry, code: str, verdict: str | None, comment: str | None, *,
            now: dt.datetime | None = None) -> Case:
    """Record the reporter's response to the answer of the report ``code`` (see the module docstring).

    NotFound for an unknown code; NotAllowed when the flow takes no response or the answer is not
    given yet; InvalidInput for a bad verdict or comment; AlreadyResponded for a second response."""
    now = now or utcnow()
    case = _case_by_code(session, code)
    engine = engine_of(registry, case)
    sop = engine.sop
    flow = sop.flow(case.flow)
    if flow is None or flow.response is None:
        raise NotAllowed("this report takes no response")
    if _already(session, case):
        raise AlreadyResponded("a response to this answer was already recorded; it can be sent once only")
    if case.state not in flow.response.after:
        raise NotAllowed("the answer has not been given yet; a response can be sent once it has")
    verdict, comment = clean_response(verdict, comment)
    record: dict[str, Any] = {"verdict": verdict, "comment": comment, "at": now.isoformat()}
    source = case.state
    target = flow.response.not_satisfied if verdict == NOT_SATISFIED else source
    role = access.public_role(sop, flow) or ""
    role_obj = sop.role(role)
    session.add(HistoryEntry(
        case_id=case.id, seq=case.version + 1, at=now, user_id=None,
        actor_name=display(role_obj.name) if role_obj else "", role=role, unit_id=None, activity=None,
        action=RESPONDED, from_state=source, to_state=target, data={RESPONSE_KEY: record}, due_at=None,
        worked_minutes=0,  # the reporter's time is no step's working time (recap and dashboard sum these)
    ))
    case.data = {**(case.data or {}), RESPONSE_KEY: record}
    if target != source:
        _move(engine, sop, case, target, now)
    try:
        session.flush()
    except StaleDataError:
        raise AlreadyResponded("a response to this answer was recorded at the same moment; it can be sent "
                               "once only") from None
    except IntegrityError as exc:
        if violates(exc, "uq_history_case_seq"):
            raise AlreadyResponded("a response to this answer was recorded at the same moment; it can be "
                                   "sent once only") from None
        log.error("response.failed case=%s: the database refused the write", case.id, exc_info=True)
        raise StorageError("the response could not be saved; nothing was written") from None
    if target != source:  # after the guarded flush: whoever performs the reopened step is told (if the flow emails)
        outbox.step_performed(session, sop, case, source, None, now)
    event(log, "case.response", case=case.id, sop=case.sop_id, verdict=verdict, to=target)
    return case


def _move(engine: Any, sop: Sop, case: Case, target: str, now: dt.datetime) -> None:
    """Reopen the case at the activity ``target`` (due time and escalation as entering it by a step
    would set them) or close it at the end ``target``."""
    if sop.is_end(target):
        case.state, case.closed_at, case.due_at, case.due_advisory, case.escalate_at = target, now, None, False, None
    else:
        due_at, advisory = engine.due(target, now)
        case.state, case.closed_at = target, None
        case.due_at, case.due_advisory = due_at, advisory
        case.escalate_at = deadlines.escalate_at(sop, target, due_at, advisory)
    case.paused_at, case.pause_reason, case.remaining_minutes = None, None, None
    case.updated_at = now


# -- the public list ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicReport:
    """One answered report as the public list shows it: nothing else is read out of the case."""

    number: int  # the cursor of the keyset pagination (not the tracking code, which opens the report)
    title: str
    status: Text
    created_at: dt.datetime
    answered_at: dt.datetime
    answers: tuple[tuple[Field, Any], ...]
    timezone: str
    satisfied: bool | None  # the reporter's response, when given


@dataclass(frozen=True)
class PublicList:
    sop: Sop
    reports: tuple[PublicReport, ...]
    next_after: int | None  # the cursor of the next page (None: this is the last)


def parse_cursor(text: str | None) -> int | None:
    """``?setelah=`` as a case id: absent or empty for the first page, junk is NotFound (a 404)."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise NotFound("no such page")
    return int(text)


def listed_sops(session: Session, registry: Registry) -> list[Sop]:
    """The current SOPs with a flow whose answered reports are listed publicly."""
    return [s for s in current_sops(session, registry).values() if any(f.public_list for f in s.case_flows)]


def _not_flagged(key: str) -> ColumnElement[bool]:
    return func.coalesce(Case.data[key].as_boolean(), false()).is_(false())


def public_list(session: Session, registry: Registry, sop_id: str, *, after: int | None = None,
                limit: int = PAGE_SIZE) -> PublicList:
    """A page of the answered reports of ``sop_id`` that may be shown publicly (newest first)."""
    sop = current_sops(session, registry).get(sop_id)
    flows = [f for f in sop.case_flows if f.public_list and f.response is not None] if sop else []
    if sop is None or not flows:
        raise NotFound(f"no public list for '{sop_id[:64]}'")
    answered = or_(*(and_(Case.flow == f.id, Case.state.in_(f.response.after)) for f in flows if f.response))
    stmt = (select(Case).where(Case.sop_id == sop.id, Case.period.is_(None), answered,
                               _not_flagged(ANONYMOUS_KEY), _not_flagged(CONFIDENTIAL_KEY))
            .order_by(Case.id.desc()).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(Case.id < after)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    reports = tuple(r for case in rows[:limit] if (r := _public_report(registry, case)) is not None)
    return PublicList(sop, reports, rows[limit - 1].id if more else None)


def _public_report(registry: Registry, case: Case) -> PublicReport | None:
    privacy = Privacy.of(case.data or {})
    if privacy.anonymous or privacy.confidential:  # the SQL filter's second line of defence
        return None
    sop = engine_of(registry, case).sop
    flow = sop.flow(case.flow)
    if flow is None:
        return None
    intake = {f.id for f in flow.intake}
    title_public = any(f.id == flow.title_field and f.public for f in flow.intake)
    data = case.data or {}
    answers: dict[str, tuple[Field, Any]] = {}  # a field id may recur in several steps: shown once
    for a in sorted((a for a in sop.activities if a.flow == flow.id), key=lambda a: a.no):
        for f in a.fields:
            if f.public and not f.identifies and f.id not in intake and data.get(f.id) not in (None, ""):
                answers.setdefault(f.id, (f, data[f.id]))
    unique = tuple(answers.values())
    given = given_response(case)
    return PublicReport(
        number=case.id, title=case.title if title_public else "", status=public_status(sop, case.state),
        created_at=case.created_at, answered_at=case.updated_at, answers=unique, timezone=sop.calendar.timezone,
        satisfied=None if given is None else given.verdict == SATISFIED,
    )


__all__ = ["AlreadyResponded", "GivenResponse", "NOT_SATISFIED", "PublicList", "PublicReport", "RESPONDED",
           "RESPONSE_KEY", "ResponseState", "SATISFIED", "clean_response", "given_response", "listed_sops",
           "parse_cursor", "public_list", "respond", "response_state"]
