"""Use cases on running cases: start one, perform a step, read one, track one publicly.

Each function is one unit of work on the Session it is given; the caller commits (see
``runner.store.transaction``). The state change, the case's data and the history row are flushed
together, and the case's optimistic ``version`` guarantees that of two people acting on the same
step exactly one wins; the other gets CaseMovedOn and nothing of theirs is written.

Who may see or act is the access policy's answer (``runner.access``), asked through the engine for
acting; a case the actor may not see is reported as NotFound, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import access
from ..access import Actor
from ..definition import Activity, Action, End, Field, Flow, Sop, Text, display, joined
from ..engine import Engine, Step
from ..errors import CaseMovedOn, NotAllowed, NotFound, StepOnHold, StorageError
from ..logs import event
from ..registry import Registry
from ..forms import has_control_chars
from ..privacy import ANONYMOUS_KEY, CONFIDENTIAL_KEY, MASK, Privacy, with_flags
from ..store import Case, HistoryEntry, violates
from . import attachments, outbox
from .accounts import units as unit_names
from .attachments import Storage
from .prefill import initial_values
from .publishing import current_row, current_sops, engine_of_row

if TYPE_CHECKING:
    from ..deadlines import DeadlineState
    from .step_times import StepTime

log = logging.getLogger(__name__)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
_MAX_CASE_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


_MAX_CODE_INPUT = 64  # a code is 14 characters; room for spaces and dashes typed around it


def normalise_code(text: str) -> str:
    """The code as stored (``ABCD-EFGH-JKLM``) from what was typed: case, spaces and dashes do not
    matter. Input no one types — longer than 64 characters, or holding a control character such as
    NUL — normalises to "", which names no report, rather than to a code hidden inside it."""
    text = text or ""
    if len(text) > _MAX_CODE_INPUT or has_control_chars(text):
        return ""
    raw = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else raw


def engine_of(registry: Registry, case: Case) -> Engine:
    return engine_of_row(registry, case.definition)


def _visible_case(session: Session, registry: Registry, case_id: int, actor: Actor, *,
                  fresh: bool = False) -> tuple[Case, Engine]:
    """The case and its engine, or NotFound — also when the actor may not see it (no probing)."""
    case = session.get(Case, case_id, populate_existing=fresh) if 0 < case_id <= _MAX_CASE_ID else None
    if case is None:
        raise NotFound(f"no case {case_id}")
    engine = engine_of(registry, case)
    if not access.may_view(engine.sop, case.state, actor, case.unit_id):
        event(log, "case.hidden", logging.WARNING, case=case_id, roles=",".join(sorted(actor.roles)),
              unit=actor.unit or "-")
        raise NotFound(f"no case {case_id}")
    return case, engine


# -- starting -------------------------------------------------------------------------------------
def code_for_submission(key: str) -> str:
    """The tracking code a submission key (the one-time nonce of a rendered public form) files its
    report under. Deterministic, so the database's unique tracking code makes a form filed twice — a
    double click, a resend, twenty concurrent posts — one report; the key is random and known only
    to the page it was sent in, so whoever holds it may see that receipt."""
    digest = hashlib.sha256(f"sop-runner submission:{key}".encode()).digest()
    raw = "".join(_CODE_ALPHABET[b % len(_CODE_ALPHABET)] for b in digest[:12])
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def start_case(
    session: Session, registry: Registry, sop_id: str, flow_id: str, raw: Mapping[str, Any], *,
    actor: Actor | None, now: dt.datetime | None = None, period: str | None = None,
    submission_key: str | None = None, storage: Storage | None = None, language: str | None = None,
) -> Case:
    """Open a case on the *current* version of the SOP. ``actor`` None: the scheduler.

    With ``submission_key``, a second submission of the same form returns the case the first one
    opened instead of opening another (checked before, and guaranteed by the unique tracking code)."""
    now = now or utcnow()
    code = code_for_submission(submission_key) if submission_key else None
    if code is not None:
        earlier = session.scalar(select(Case).where(Case.tracking_code == code))
        if earlier is not None:
            event(log, "case.resubmitted", case=earlier.id, sop=earlier.sop_id)
            return earlier
    sop = current_sops(session, registry, now).get(sop_id)  # the database's current version, not a file's
    if sop is None:
        raise NotFound(f"no SOP '{sop_id}'")
    flow = sop.flow(flow_id)
    if flow is None:
        raise NotFound(f"SOP '{sop_id}' has no flow '{flow_id}'")
    engine = registry.engine(sop)
    try:
        step = engine.start(flow, actor, raw, now)
    except NotAllowed as exc:
        event(log, "case.start_refused", logging.WARNING, sop=sop.id, flow=flow.id,
              roles=",".join(sorted(actor.roles)) if actor else "scheduler", reason=str(exc))
        raise
    definition = current_row(session, sop)
    values, files = attachments.prepare({k: v for k, v in step.values.items() if v is not None})
    title = str(values.get(flow.title_field, "")) if flow.title_field else ""
    if flow.schedule is None:  # the reporter's (or the inputting officer's) choice of anonim / rahasia
        values.update(Privacy.from_form(raw).stamped())
        if language:  # the language the reporter wrote in: their emails are in it (services.outbox)
            values[outbox.LANG_KEY] = outbox.reporter_language({outbox.LANG_KEY: language})
    if not title:
        title = display(_flow_title(flow, period))
    case = Case(
        definition=definition, sop_id=sop.id, flow=flow.id, state=step.target, unit_id=None,
        tracking_code=(code or new_tracking_code()) if flow.schedule is None else None, title=title[:300],
        data=values, period=period, created_at=now, updated_at=now, due_at=step.due_at,
        due_advisory=step.due_advisory, closed_at=None, escalate_at=step.escalate_at,
    )
    try:
        with session.begin_nested():  # a lost race on the tracking code leaves the transaction usable
            session.add(case)
            session.flush()
            attachments.attach(session, storage, case.id, 1, files, now)  # rolled back with this savepoint
            session.add(HistoryEntry(
                case_id=case.id, seq=1, at=now, user_id=actor.user_id if actor else None,
                actor_name=_starter_name(sop, actor, step.acting_role), role=step.acting_role, unit_id=None,
                activity=None, action=None, from_state=None, to_state=step.target, data=values, due_at=None,
            ))
            session.flush()
    except IntegrityError as exc:
        if period is not None and violates(exc, "uq_cases_scheduled_period"):
            raise  # tick's race with another process: it handles this one
        if code is not None:
            earlier = session.scalar(select(Case).where(Case.tracking_code == code))
            if earlier is not None:  # the same form, filed a moment ago by a concurrent request
                event(log, "case.resubmitted", case=earlier.id, sop=earlier.sop_id)
                return earlier
        log.error("case.start_failed sop=%s flow=%s: the database refused the write", sop.id, flow.id,
                  exc_info=True)  # the engine hides statement parameters: no reporter data here
        raise StorageError("the case could not be saved; nothing was written") from None
    outbox.case_started(session, sop, case, actor.user_id if actor else None, now)  # in this transaction
    event(log, "case.started", case=case.id, sop=sop.id, flow=flow.id, role=step.acting_role or "scheduler")
    return case


def _flow_title(flow: Flow, period: str | None) -> Text:
    """The title of a case with no title of its own: its flow's name (and period), in every language."""
    return joined(flow.name, f" {period}") if period else flow.name


def case_title(sop: Sop, case: Case) -> Text | str:
    """The case's title for display. The stored title is Indonesian; when ``start_case`` made it from
    the flow's name (a scheduled flow's month, a flow without a title field), the flow's name is
    shown in the reader's language instead."""
    flow = sop.flow(case.flow)
    if flow is None:
        return case.title
    named = _flow_title(flow, case.period)
    return named if case.title == named.id[:300] else case.title


def _starter_name(sop: Sop, actor: Actor | None, role_id: str) -> str:
    """Stored with the history row, so in the agency's language (Bahasa Indonesia)."""
    if actor is None:
        return "sop tick"  # opened by the scheduler
    role = sop.role(role_id)
    return actor.name or (display(role.name) if role else role_id)


# -- performing -----------------------------------------------------------------------------------
def perform_step(
    session: Session, registry: Registry, case_id: int, actor: Actor, action_id: str,
    raw: Mapping[str, Any], *, expected_version: int | None, now: dt.datetime | None = None,
    storage: Storage | None = None,
) -> Case:
    """Perform ``action_id`` on the case's open step as ``actor``, with the submitted form ``raw``.

    ``expected_version`` is the version the user's form was rendered from: if the case has moved on
    since, the submission is refused (a stale or double-submitted form must not act twice).
    """
    started = time.perf_counter()
    now = now or utcnow()
    case, engine = _visible_case(session, registry, case_id, actor, fresh=True)
    open_step = engine.sop.activity(case.state)
    known = open_step is not None and open_step.action(action_id) is not None
    fields = {"case": case.id, "sop": case.sop_id, "activity": case.state, "action": action_id if known else "?"}
    if expected_version is not None and case.version != expected_version:
        event(log, "step.conflict", logging.WARNING, **fields, reason="stale form")
        raise CaseMovedOn(_moved_on_message(session, engine.sop, case))
    if case.paused_at is not None and open_step is not None:  # on hold (services.pauses): resume first
        event(log, "step.refused", logging.WARNING, **fields, roles=",".join(sorted(actor.roles)),
              unit=actor.unit or "-", reason="on hold")
        raise StepOnHold(f"step {open_step.no} is on hold; resume it before acting on it")
    try:
        step = engine.perform(case.state, case.unit_id, actor, action_id, raw, now, unit_names(session))
    except NotAllowed as exc:
        event(log, "step.refused", logging.WARNING, **fields, roles=",".join(sorted(actor.roles)),
              unit=actor.unit or "-", reason=str(exc))
        raise
    values, files = attachments.prepare(step.values)  # files: staged now, in place after the commit
    if files:
        step = replace(step, values=values)
        attachments.attach(session, storage, case.id, case.version + 1, files, now)
    acting = access.acting_delegation(engine.sop, step.acting_role, actor, case.unit_id)
    _apply(session, case, step, actor, now, _privacy_change(step, case, raw),
           worked=_worked_minutes(session, engine.sop, case, now), acting=acting, sop=engine.sop)
    try:
        session.flush()
    except StaleDataError:
        event(log, "step.conflict", logging.WARNING, **fields, reason="concurrent step")
        raise CaseMovedOn("someone else completed this step at the same moment; reload the case") from None
    except IntegrityError as exc:
        # The caller's transaction rolls back whole: neither the case nor the history row is written.
        if violates(exc, "uq_history_case_seq"):
            event(log, "step.conflict", logging.WARNING, **fields, reason="concurrent step")
            raise CaseMovedOn("someone else completed this step at the same moment; reload the case") from None
        log.error("step.failed case=%s: the database refused the write", case_id, exc_info=True)
        raise StorageError("the step could not be saved; nothing was written") from None
    outbox.step_performed(session, engine.sop, case, step.source, actor.user_id, now)  # in this transaction
    event(log, "step.performed", **fields, to=step.target, role=step.acting_role, unit=step.unit or "-",
          ms=round((time.perf_counter() - started) * 1000, 1))
    return case


@dataclass(frozen=True)
class AfterStep:
    """What to tell the person who just acted: where the case is now and whether it is theirs still."""

    state_name: Text  # display text: the web words it in the reader's language
    yours: bool


def after_step(registry: Registry, case: Case, actor: Actor) -> AfterStep:
    """Cheap enough for every POST: no history or view is rebuilt just to word a message."""
    sop = engine_of(registry, case).sop
    return AfterStep(sop.state_name(case.state), access.may_act(sop, case.state, actor, case.unit_id))


PRIVACY_FORM = "_privacy_form"  # present when the submitted form carried the anonim / rahasia boxes


def _privacy_change(step: Step, case: Case, raw: Mapping[str, Any]) -> Privacy | None:
    """The new anonim / rahasia flags when this step may set them and the form changed them."""
    if not step.activity.sets_privacy or PRIVACY_FORM not in raw:
        return None
    new = Privacy.from_form(raw)
    return new if new != Privacy.of(case.data) else None


def _worked_minutes(session: Session, sop: Sop, case: Case, now: dt.datetime) -> int:
    """Working minutes since the case's previous history entry, on its version's calendar: stored
    with the step so the monthly recap aggregates step times in SQL (constant time per step)."""
    previous = session.scalar(select(func.max(HistoryEntry.at)).where(HistoryEntry.case_id == case.id))
    return max(0, sop.calendar_at(case.state, case.unit_id).working_minutes_between(previous or case.created_at, now))


def _apply(session: Session, case: Case, step: Step, actor: Actor, now: dt.datetime,
           privacy: Privacy | None = None, *, worked: int | None = None,
           acting: access.Delegated | None = None, sop: Sop | None = None) -> None:
    recorded = dict(step.values)
    if privacy is not None:  # the history says what was set or lifted, both flags explicitly
        recorded.update({ANONYMOUS_KEY: privacy.anonymous, CONFIDENTIAL_KEY: privacy.confidential})
    if acting is not None:  # a Plt/Plh: the entry names the holder too (or the role nobody holds)
        recorded[ACTING_KEY] = acting.kind
    history = HistoryEntry(
        case_id=case.id, seq=case.version + 1, at=now, user_id=actor.user_id, actor_name=actor.name,
        role=step.acting_role, unit_id=actor.unit_for(step.acting_role), activity=step.activity.id, action=step.action.id,
        from_state=step.source, to_state=step.target, data=recorded, due_at=case.due_at,
        worked_minutes=worked,
    )
    if acting is not None:
        role = sop.role(step.acting_role) if sop is not None else None
        history.on_behalf_of = (acting.on_behalf_of or (display(role.name) if role else step.acting_role))[:200]
        history.unit_id = acting.unit or actor.unit
    data = dict(case.data)
    data.update({k: v for k, v in step.values.items() if v is not None})
    if privacy is not None:
        data = with_flags(data, privacy)
    case.data = data
    case.state = step.target
    case.unit_id = step.unit
    case.due_at = step.due_at
    case.due_advisory = step.due_advisory
    case.escalate_at = step.escalate_at
    case.updated_at = now
    case.closed_at = now if step.finished else None
    session.add(history)


def _moved_on_message(session: Session, sop: Sop, case: Case) -> str:
    last = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                          .order_by(HistoryEntry.seq.desc()).limit(1))
    who = f" by {last.actor_name}" if last is not None and last.actor_name else ""
    return (f"this case has moved on{who} since you opened it; it is now at "
            f"'{display(sop.state_name(case.state))}'. Nothing was saved; review it and act again if needed.")


MIGRATED = "__migrated"  # the history action of a move between versions (written by services.revisions)
ACTING_KEY = "_acting_as"  # in a history entry's data: "plt" or "plh" when a delegate acted
_ACTING_TITLES = {"plt": "Plt.", "plh": "Plh."}
ESCALATED = "__escalated"  # the history action recording an escalation (written by services.schedule)
ESCALATE_TO_KEY = "_escalate_to"  # in an ESCALATED entry's data: the role ids told
PAUSED, RESUMED = "__paused", "__resumed"  # history actions of a step put on / taken off hold (services.pauses)
PAUSE_REASON_KEY, PAUSE_NOTE_KEY, REMAINING_KEY = "_pause_reason", "_pause_note", "_remaining_minutes"


# -- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryItem:
    seq: int
    at: dt.datetime
    actor_name: str
    role_name: Text | str  # display text (the role id when this version lacks the role)
    unit_name: str | None
    step_name: Text | str  # "No. name" of the step performed; "" for the opening entry
    action_label: Any
    to_name: Text
    values: tuple[tuple[Field, Any], ...]
    due_at: dt.datetime | None
    late: bool
    privacy: Privacy | None  # the anonim / rahasia flags this entry set (or lifted), if any
    # (from, to) short version hashes when this entry moved the case to a revision (revisions.MIGRATED)
    migrated: tuple[str, str] | None = None
    # A Plt/Plh acted: whom for (the holder's name, or the role's), and "Plt." or "Plh."
    on_behalf_of: str | None = None
    acting_as: str | None = None
    # ("paused" or "resumed", the reason's label, staff note) for an entry of services.pauses
    pause: tuple[str, Text | str, str] | None = None
    # The role names an escalation entry (ESCALATED, written by ``sop tick``) told
    escalated_to: tuple[Text | str, ...] = ()
    # The stored ids (for the case page's reading of returns: services.case_page)
    activity_id: str | None = None
    action_id: str | None = None
    to_state: str = ""


@dataclass(frozen=True)
class CaseView:
    case: Case
    sop: Sop
    flow: Flow
    activity: Activity | None
    end: End | None
    actions: tuple[Action, ...]
    initial: dict[str, Any]
    history: tuple[HistoryItem, ...]
    unit_name: str | None
    units: dict[str, str]
    overdue: bool
    remaining_minutes: int | None
    privacy: Privacy
    sets_privacy: bool  # the open step's form carries the anonim / rahasia boxes
    case_data: tuple[tuple[Field, Any], ...]  # the intake, identity masked when anonymous and not for them
    title: Text | str  # the case's title as this actor may read it
    performers: tuple[Text, ...]  # role names of the open step, for "this step is for: …"
    required_by: Mapping[str, tuple[Text, ...]]  # field id -> labels of the open actions requiring it
    common_fields: tuple[Field, ...]  # collected whichever open action is taken: shown first
    action_groups: tuple[tuple[Action, tuple[Field, ...]], ...]  # each action with its own fields
    # Working time each step took against its limit, by history seq, and the case's total (step_times).
    step_times: Mapping[int, StepTime] = field(default_factory=dict)
    time_total: StepTime | None = None
    deadline: DeadlineState | None = None  # the open step's (runner.deadlines.state_of)

    @property
    def can_act(self) -> bool:
        return bool(self.actions)


def case_view(session: Session, registry: Registry, case_id: int, actor: Actor,
              now: dt.datetime | None = None) -> CaseView:
    now = now or utcnow()
    case, engine = _visible_case(session, registry, case_id, actor)
    sop = engine.sop
    entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq)))
    units = unit_names(session)
    actions = engine.open_actions(case.state, case.unit_id, actor)
    activity = sop.activity(case.state)
    flow = sop.flow(case.flow)
    assert flow is not None  # a stored case's flow exists in its own version
    privacy = Privacy.of(case.data)
    hidden = frozenset() if access.sees_identity(sop, actor, privacy.anonymous) else sop.identity_fields()
    initial = initial_values(activity, case.data, entries, hidden) if activity else {}
    return CaseView(
        case=case, sop=sop, flow=flow, activity=activity, end=sop.end(case.state),
        actions=actions, initial=initial, history=tuple(_history_item(sop, e, units, hidden) for e in entries),
        privacy=privacy, sets_privacy=bool(actions) and activity is not None and activity.sets_privacy,
        case_data=tuple((f, MASK if f.id in hidden else case.data[f.id]) for f in flow.intake
                        if case.data.get(f.id) not in (None, "")),
        title=MASK if flow.title_field in hidden else case_title(sop, case),
        unit_name=units.get(case.unit_id) if case.unit_id else None, units=units,
        overdue=is_overdue(case, now),
        remaining_minutes=case.remaining_minutes if case.paused_at is not None else
        (sop.calendar_at(case.state, case.unit_id).working_minutes_between(now, case.due_at)
         if case.due_at is not None and case.closed_at is None else None),
        performers=tuple(r.name for r in (sop.role(rid) for rid in activity.performers) if r is not None)
        if activity else (),
        required_by={f.id: labels for f in (activity.fields if activity else ())
                     if (labels := tuple(a.label for a in actions if f.id in a.requires))},
        **_form_layout(activity, actions), **_times(sop, case, entries, now),
    )


def _times(sop: Sop, case: Case, entries: list[HistoryEntry], now: dt.datetime) -> dict[str, Any]:
    from .. import deadlines
    from .step_times import step_times  # imports this module

    per_step, total = step_times(sop, entries)
    return {"step_times": per_step, "time_total": total, "deadline": deadlines.of_case(sop, case, now)}


def _form_layout(activity: Activity | None, actions: tuple[Action, ...]) -> dict[str, Any]:
    """Fields every open action collects first; then each action with the fields only it (or it and
    some others) collects, each field shown once, beside the first button that takes it."""
    if activity is None or not actions:
        return {"common_fields": (), "action_groups": ()}
    common = tuple(f for f in activity.fields if all(f.id in a.uses for a in actions))
    shown = {f.id for f in common}
    groups = []
    for action in actions:
        own = tuple(f for f in activity.fields_of(action) if f.id not in shown)
        shown |= {f.id for f in own}
        groups.append((action, own))
    return {"common_fields": common, "action_groups": tuple(groups)}


def is_overdue(case: Case, now: dt.datetime) -> bool:
    """A step on hold is never overdue: its clock stopped (services.pauses)."""
    return case.closed_at is None and case.paused_at is None and case.due_at is not None and \
        not case.due_advisory and case.due_at < now


def _history_item(sop: Sop, e: HistoryEntry, units: Mapping[str, str],
                  hidden: frozenset[str] = frozenset()) -> HistoryItem:
    activity = sop.activity(e.activity) if e.activity else None
    fields: dict[str, Field] = {}
    if activity is not None:
        fields = {f.id: f for f in activity.fields}
    else:
        for f in sop.flows:
            for fld in f.intake:
                fields.setdefault(fld.id, fld)
    data = e.data or {}
    values = tuple((fields[k], MASK if k in hidden else v) for k, v in data.items()
                   if k in fields and v not in (None, ""))
    action = activity.action(e.action) if activity and e.action else None
    role = sop.role(e.role)
    return HistoryItem(
        seq=e.seq, at=e.at, actor_name=e.actor_name, role_name=role.name if role else e.role,
        unit_name=units.get(e.unit_id) if e.unit_id else None,
        step_name=joined(f"{activity.no}. ", activity.name) if activity else "",
        action_label=action.label if action else None, to_name=sop.state_name(e.to_state), values=values,
        due_at=e.due_at, late=e.due_at is not None and e.at > e.due_at,
        privacy=Privacy.of(data) if ANONYMOUS_KEY in data or CONFIDENTIAL_KEY in data else None,
        migrated=(str(data.get("_from_version", ""))[:12], str(data.get("_to_version", ""))[:12])
        if e.action == MIGRATED else None,
        on_behalf_of=e.on_behalf_of or None,
        acting_as=_ACTING_TITLES.get(str(data.get(ACTING_KEY, "plh"))) if e.on_behalf_of else None,
        pause=_pause_entry(activity, e.action, data),
        escalated_to=tuple(r.name if (r := sop.role(str(rid))) else str(rid) for rid in data.get(ESCALATE_TO_KEY, ()))
        if e.action == ESCALATED else (),
        activity_id=e.activity, action_id=e.action, to_state=e.to_state,
    )


def _pause_entry(activity: Activity | None, action: str | None, data: Mapping[str, Any]) -> \
        tuple[str, Text | str, str] | None:
    if action not in (PAUSED, RESUMED):
        return None
    reason_id = str(data.get(PAUSE_REASON_KEY, ""))
    reason = activity.pause_reason(reason_id) if activity is not None else None
    return ("paused" if action == PAUSED else "resumed", reason.label if reason else reason_id,
            str(data.get(PAUSE_NOTE_KEY, "")))


@dataclass(frozen=True)
class CasePosition:
    sop_id: str
    state: str
    version: str


def case_position(session: Session, case_id: int) -> CasePosition | None:
    """Where a case stands, for tools run by an administrator on the server (``sop diagram --case``);
    not for people: their view goes through ``case_view`` and the access policy."""
    case = session.get(Case, case_id) if 0 < case_id <= _MAX_CASE_ID else None
    return CasePosition(case.sop_id, case.state, case.definition.version) if case else None


# -- public tracking ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicView:
    code: str
    title: str
    status: Text  # display text; empty: a generic "being processed" (worded by the web layer)
    finished: bool
    public_message: Text
    created_at: dt.datetime
    closed_at: dt.datetime | None
    steps: tuple[tuple[dt.datetime, Text], ...]
    answers: tuple[tuple[Field, Any], ...]
    timezone: str
    confidential: bool
    on_hold: Text | str | None = None  # the pause reason's label while the step waits (services.pauses)


def public_status(sop: Sop, state: str) -> Text:
    """What the reporter reads for ``state``: the definition's ``public_status``, an end's name, or
    an empty text for a generic "being processed" (worded by the web layer). Never an internal
    activity name. Display text: the web renders it in the reader's language."""
    activity = sop.activity(state)
    if activity is not None:
        return activity.public_status
    end = sop.end(state)
    return (end.public_status or end.name) if end is not None else Text("")


def track(session: Session, registry: Registry, code: str) -> PublicView:
    """What a reporter may see with the tracking code: status texts written for them, dates, and the
    values of fields marked public (stored only when the action that collects them was taken)."""
    normalised = normalise_code(code)
    case = session.scalar(select(Case).where(Case.tracking_code == normalised)) if normalised else None
    if case is None:
        raise NotFound("no report has this tracking code")
    sop = engine_of(registry, case).sop
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq))
    steps: list[tuple[dt.datetime, Text]] = []
    for e in entries:
        status = public_status(sop, e.to_state)
        if not steps or steps[-1][1] != status:  # a return for revision inside the OPD is not news
            steps.append((e.at, status))
    end = sop.end(case.state)
    confidential = Privacy.of(case.data).confidential  # rahasia: nothing of the report beyond its status
    answers = () if confidential else tuple(
        (f, case.data[f.id]) for f in sop.public_fields() if case.data.get(f.id) not in (None, ""))
    flow = sop.flow(case.flow)
    title_public = flow is not None and any(f.id == flow.title_field and f.public for f in flow.intake)
    return PublicView(
        code=normalised, title=case.title if title_public and not confidential else "",
        status=public_status(sop, case.state), confidential=confidential,
        finished=end is not None, public_message=end.public_message if end else Text(""), created_at=case.created_at,
        closed_at=case.closed_at, steps=tuple(steps), answers=answers, timezone=sop.calendar.timezone,
        on_hold=_public_pause(sop, case),
    )


def _public_pause(sop: Sop, case: Case) -> Text | str | None:
    """Why the report waits, in the definition's words for the reporter (never a staff note)."""
    if case.paused_at is None:
        return None
    activity = sop.activity(case.state)
    reason = activity.pause_reason(case.pause_reason) if activity is not None else None
    return reason.label if reason is not None else Text("")  # empty: a generic "on hold"


def startable_flows(session: Session, registry: Registry, actor: Actor) -> list[tuple[Sop, Flow]]:
    """Flows this staff member may open a case in (e.g. Admin Utama inputting an SMS report), in the
    current versions (``publishing.current_sops``)."""
    return [(sop, f) for sop in current_sops(session, registry).values() for f in sop.case_flows
            if access.starting_role(f, actor)]


def startable_flow(session: Session, registry: Registry, sop_id: str, flow_id: str,
                   actor: Actor) -> tuple[Sop, Flow]:
    """The flow ``actor`` asks to open a case in; NotFound when there is none they may open."""
    for sop, flow in startable_flows(session, registry, actor):
        if sop.id == sop_id and flow.id == flow_id:
            return sop, flow
    raise NotFound(f"no flow {sop_id}/{flow_id} this actor may start")


def public_flows(session: Session, registry: Registry) -> list[tuple[Sop, Flow]]:
    """Flows a citizen may start without an account (started_by names an external role), in the
    current versions."""
    return [(sop, f) for sop in current_sops(session, registry).values() for f in sop.case_flows
            if access.public_role(sop, f)]


def public_flow(session: Session, registry: Registry, sop_id: str, flow_id: str) -> tuple[Sop, Flow, Actor]:
    """The public flow asked for and the reporter's (account-less) actor; NotFound otherwise."""
    sop = current_sops(session, registry).get(sop_id)
    flow = sop.flow(flow_id) if sop else None
    role = access.public_role(sop, flow) if sop and flow else None
    if sop is None or flow is None or role is None:
        raise NotFound(f"no public flow {sop_id}/{flow_id}")
    return sop, flow, Actor.public(role)
