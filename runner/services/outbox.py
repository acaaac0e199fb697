"""Notifications: an outbox written with the step that causes it, delivered by email later.

**Writing.** ``case_started``, ``step_performed``, ``step_paused`` and ``step_escalated`` are called
by the services (cases, pauses, escalations) inside the caller's transaction, after the step itself
was flushed. They add ``outbox`` rows and nothing else, so a message exists exactly when its step
committed: a step rolled back (a lost race, a refused write) leaves no message, and a message is
never lost because a mail server was down when the step happened. What a flow's cases email is the
definition's ``notify`` key (``Flow.notify``); nothing here knows any particular SOP:

* staff ``new_work``: the active accounts with an email whom the access policy lets act at the step
  the case arrived at (``access.acting_role`` on their Actor, delegations included), except the
  person who just acted;
* staff ``escalation``: the accounts the escalated step's ``escalate_to`` roles reach
  (``access.is_escalated``);
* the reporter, at the address typed into ``notify.reporter.email_field`` when it is an email
  address, for the events and steps listed there, in the language the submission was made in.

Composing a message never raises into the step: a failure is logged (ids only) and the step goes on
without it. "A delivery failure never blocks or rolls back a step."

**Delivering.** ``deliver`` (``sop tick``, ``sop worker``) claims one due message at a time — an
``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`` on PostgreSQL, the same
guarded UPDATE without the lock clause on SQLite (a single write statement, so two claimers never
both win) — sends it over SMTP, and records the outcome under the claim's token. A temporary failure
is retried with exponential backoff (1, 2, 4 … minutes, at most 6 hours apart); after
``MAX_ATTEMPTS`` attempts, or at once for a permanent refusal (5xx for the recipient or the data),
the message is marked failed with the reason. A sent message is never claimed again. A claim is a
lease: a worker that dies between sending and recording leaves the message to be sent again once
the lease has run out — the one case where a message can arrive twice (see docs/reliability.md);
every copy carries the same Message-ID, so mail clients can tell.

Logs carry outbox ids, case ids, kinds and SMTP codes; never an address, a name or a text.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Any, Callable, Iterable, Mapping, cast
from urllib.parse import unquote, urlsplit

from sqlalchemy import CursorResult, Table, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .. import access
from ..definition import Activity, Flow, Sop, display
from ..errors import ConfigurationError, InvalidInput
from ..logs import event
from ..privacy import MASK, Privacy
from ..store import Case, Delegation, OutboxMessage, User, UserRole, transaction
from . import mail_texts

log = logging.getLogger(__name__)

LANG_KEY = "_lang"  # in a case's data: the language the reporter submitted in ("id", "en")
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
MAX_ATTEMPTS = 8  # about two hours of retries (1+2+4+…+64 minutes) before a message is given up
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
LEASE = dt.timedelta(minutes=10)  # a claimed message is another worker's to retry after this
SMTP_TIMEOUT = 30.0
MAX_EMAIL = 254
TRACK_PATH = "/lacak?kode={code}"  # the public tracking page (web.public.track)
CASE_PATH = "/kasus/{case_id}"  # a case's page for staff (web.staff.case)

_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- addresses ------------------------------------------------------------------------------------
def normalise_email(text: object) -> str | None:
    """The address as stored (surrounding spaces dropped, the domain lowercased), or None when
    ``text`` is not one plain address — a phone number, two addresses, a display name, a line break."""
    value = str(text or "").strip()
    if not value or len(value) > MAX_EMAIL or not _EMAIL_RE.match(value) or ".." in value:
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def set_account_email(session: Session, user: User, address: str | None) -> User:
    """Give ``user`` an email address for notices (``None`` or blank: none). InvalidInput when it is
    not an address."""
    if address is None or not address.strip():
        user.email = None
    else:
        email = normalise_email(address)
        if email is None:
            raise InvalidInput(f"'{address.strip()[:80]}' is not an email address (e.g. name@example.go.id)")
        user.email = email
    session.flush()
    event(log, "account.email_set", user=user.id, email="yes" if user.email else "no")
    return user


def reporter_language(raw: Mapping[str, Any] | None) -> str:
    return mail_texts.language((raw or {}).get(LANG_KEY))


# -- writing (inside the caller's transaction) ----------------------------------------------------
def case_started(session: Session, sop: Sop, case: Case, actor_user_id: int | None, now: dt.datetime) -> None:
    """A case opened: the reporter is told it was received; the step's performers of new work."""
    _guarded(session, sop, "start", case, lambda: _started(session, sop, case, actor_user_id, now))


def step_performed(session: Session, sop: Sop, case: Case, source: str, actor_user_id: int | None,
                   now: dt.datetime) -> None:
    """A step was taken from ``source``: new work at the step entered, and what the reporter is told."""
    _guarded(session, sop, "step", case, lambda: _performed(session, sop, case, source, actor_user_id, now))


def step_paused(session: Session, sop: Sop, case: Case, now: dt.datetime) -> None:
    """The open step was put on hold: the reporter reads the reason's label (never the staff note)."""
    _guarded(session, sop, "pause", case, lambda: _paused(session, sop, case, now))


def step_escalated(session: Session, sop: Sop, case: Case, roles: Iterable[str], now: dt.datetime) -> None:
    """The open step escalated (``sop tick``): the accounts its escalation roles reach are told."""
    _guarded(session, sop, "escalation", case, lambda: _escalated(session, sop, case, now))


def _guarded(session: Session, sop: Sop, what: str, case: Case, compose: Callable[[], None]) -> None:
    """Run ``compose`` in a savepoint of the step's transaction (only when the case's flow emails
    anyone): a failure to compose or write a message is logged and rolled back alone, never the step."""
    flow = sop.flow(case.flow)
    if flow is None or (not flow.notify.staff and flow.notify.reporter is None):
        return
    try:
        with session.begin_nested():
            compose()
    except Exception as exc:  # noqa: BLE001 - a notice must never cost the step that caused it
        log.error("outbox.compose_failed case=%s on=%s error=%s", case.id, what, type(exc).__name__)


def _flow_of(sop: Sop, case: Case) -> Flow | None:
    return sop.flow(case.flow)


def _started(session: Session, sop: Sop, case: Case, actor_user_id: int | None, now: dt.datetime) -> None:
    flow = _flow_of(sop, case)
    if flow is None:
        return
    if "received" in _reporter_events(flow):
        _to_reporter(session, sop, flow, case, "reporter.received", now)
    _new_work(session, sop, flow, case, actor_user_id, now)


def _performed(session: Session, sop: Sop, case: Case, source: str, actor_user_id: int | None,
               now: dt.datetime) -> None:
    flow = _flow_of(sop, case)
    if flow is None:
        return
    reporter = flow.notify.reporter
    if sop.end(case.state) is not None:
        if reporter is not None and "finished" in reporter.events:
            _to_reporter(session, sop, flow, case, "reporter.finished", now)
        return
    if reporter is not None and case.state in reporter.steps and case.state != source:
        _to_reporter(session, sop, flow, case, "reporter.step", now)
    _new_work(session, sop, flow, case, actor_user_id, now)


def _paused(session: Session, sop: Sop, case: Case, now: dt.datetime) -> None:
    flow = _flow_of(sop, case)
    if flow is not None and "on_hold" in _reporter_events(flow):
        _to_reporter(session, sop, flow, case, "reporter.on_hold", now)


def _escalated(session: Session, sop: Sop, case: Case, now: dt.datetime) -> None:
    flow = _flow_of(sop, case)
    activity = sop.activity(case.state)
    if flow is None or activity is None or activity.escalation is None or "escalation" not in flow.notify.staff:
        return
    users = _accounts_holding(session, set(activity.escalation.roles), now)
    told = [u for u in users if access.is_escalated(sop, case.state, _actor(u, now), case.unit_id, case.escalate_at,
                                                    case.paused_at is not None, now)]
    _to_staff(session, sop, flow, activity, case, "staff.escalation", told, now)


def _reporter_events(flow: Flow) -> tuple[str, ...]:
    return flow.notify.reporter.events if flow.notify.reporter is not None else ()


def _new_work(session: Session, sop: Sop, flow: Flow, case: Case, actor_user_id: int | None,
              now: dt.datetime) -> None:
    activity = sop.activity(case.state)
    if activity is None or "new_work" not in flow.notify.staff:
        return
    users = _accounts_holding(session, set(activity.performers), now)
    told = [u for u in users if u.id != actor_user_id
            and access.acting_role(sop, activity, _actor(u, now), case.unit_id) is not None]
    _to_staff(session, sop, flow, activity, case, "staff.new_work", told, now)


def _actor(user: User, now: dt.datetime) -> access.Actor:
    from .accounts import actor_for  # accounts imports the store and publishing only; kept lazy anyway

    return actor_for(user, now)


def _accounts_holding(session: Session, roles: set[str], now: dt.datetime) -> list[User]:
    """Active accounts with an email holding one of ``roles`` themselves or by a delegation running
    at ``now`` — candidates only: the access policy decides who of them is told."""
    if not roles:
        return []
    own = select(UserRole.user_id).where(UserRole.role.in_(sorted(roles)))
    lent = select(Delegation.delegate_id).where(
        Delegation.role.in_(sorted(roles)), Delegation.starts_at <= now, Delegation.ends_at > now,
        Delegation.revoked_at.is_(None))
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.email.is_not(None), or_(User.id.in_(own), User.id.in_(lent))).order_by(User.id)))


def _to_staff(session: Session, sop: Sop, flow: Flow, activity: Activity, case: Case, kind: str,
              users: list[User], now: dt.datetime) -> None:
    lang = mail_texts.DEFAULT_LANGUAGE  # accounts have no language of their own: the agency's
    hidden = Privacy.of(case.data).anonymous and flow.title_field in sop.identity_fields()
    payload = {
        "sop": display(sop.title, lang), "case_id": case.id, "title": MASK if hidden else case.title,
        "step": f"{activity.no}. {display(activity.name, lang)}",
        "due": _local(sop, case.due_at) if case.due_at is not None else "",
        "path": CASE_PATH.format(case_id=case.id),
    }
    seen: set[str] = set()
    for user in users:
        if user.email and user.email not in seen:
            seen.add(user.email)
            _add(session, case, kind, user.email, lang, payload, now, user_id=user.id)


def _local(sop: Sop, at: dt.datetime) -> str:
    local = at.astimezone(sop.calendar.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or sop.calendar.timezone}"


def _to_reporter(session: Session, sop: Sop, flow: Flow, case: Case, kind: str, now: dt.datetime) -> None:
    """What the tracking page would show, and nothing more: public status texts, the pause reason's
    label, the end's public message and the public fields' values (none for a confidential report)."""
    from .cases import public_status  # cases imports this module

    reporter = flow.notify.reporter
    if reporter is None or not case.tracking_code:
        return
    address = normalise_email(case.data.get(reporter.email_field))
    if address is None:
        return  # no address given, or a phone number in a "phone or email" field
    lang = reporter_language(case.data)
    confidential = Privacy.of(case.data).confidential
    payload: dict[str, Any] = {
        "flow": display(flow.name, lang), "code": case.tracking_code,
        "status": display(public_status(sop, case.state), lang), "confidential": confidential,
        "path": TRACK_PATH.format(code=case.tracking_code),
    }
    if kind == "reporter.on_hold":
        activity = sop.activity(case.state)
        reason = activity.pause_reason(case.pause_reason) if activity is not None else None
        payload["reason"] = display(reason.label, lang) if reason is not None else ""
    if kind == "reporter.finished":
        end = sop.end(case.state)
        payload["message"] = display(end.public_message, lang) if end is not None else ""
        if not confidential:
            payload["answers"] = [[display(f.label, lang), display(f.shown(case.data[f.id]), lang)]
                                  for f in sop.public_fields() if case.data.get(f.id) not in (None, "")]
    _add(session, case, kind, address, lang, payload, now)


def _add(session: Session, case: Case, kind: str, recipient: str, lang: str, payload: dict[str, Any],
         now: dt.datetime, *, user_id: int | None = None) -> None:
    session.add(OutboxMessage(
        case_id=case.id, user_id=user_id, kind=kind, recipient=recipient, lang=lang, payload=payload,
        status=PENDING, attempts=0, next_attempt_at=now, claim=None, claimed_until=None, created_at=now,
        sent_at=None, last_error=None))
    event(log, "outbox.queued", case=case.id, kind=kind, user=user_id if user_id is not None else "-")


# -- SMTP -----------------------------------------------------------------------------------------
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes, from ``SOP_SMTP_URL``: ``smtp://host:port`` (plain), ``smtp+starttls://
    user:pass@host:587`` (STARTTLS, then login) or ``smtps://user:pass@host:465`` (TLS from the start)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def connect(self, timeout: float = SMTP_TIMEOUT) -> smtplib.SMTP:
        if self.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if self.scheme == "smtp+starttls":
                conn.starttls(context=ssl.create_default_context())
        if self.username:
            conn.login(self.username, self.password or "")
        return conn


def parse_smtp_url(url: str) -> SmtpTarget:
    """The SmtpTarget of ``url``; ConfigurationError saying what is wrong (the password never shown)."""
    hint = "set SOP_SMTP_URL to smtp://host:25, smtp+starttls://user:password@host:587 or smtps://user:password@host:465"
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise ConfigurationError("SOP_SMTP_URL is not a valid URL", hint=hint) from None
    if parts.scheme not in SCHEMES:
        raise ConfigurationError(f"SOP_SMTP_URL has scheme '{parts.scheme}'; it must be smtp, smtp+starttls or smtps",
                                 hint=hint)
    if not parts.hostname:
        raise ConfigurationError("SOP_SMTP_URL names no host", hint=hint)
    return SmtpTarget(parts.scheme, parts.hostname, port or SCHEMES[parts.scheme],
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


_SENDER_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")  # looser than a recipient: "sop-runner@localhost" is fine


def check_sender(sender: str) -> str:
    """``SOP_MAIL_FROM`` as a From header (``addr`` or ``Name <addr>``); ConfigurationError when it
    holds no plain address — checked before any message is claimed, so a typo in the setting never
    marks messages failed."""
    name, address = parseaddr(sender or "")
    if not _SENDER_RE.match(address) or any(c in (sender or "") for c in "\r\n"):
        raise ConfigurationError(f"SOP_MAIL_FROM {sender[:80]!r} is not an email address",
                                 hint="set SOP_MAIL_FROM to e.g. lapor@kapuashulu.go.id or "
                                      "'LAPOR Kapuas Hulu <lapor@kapuashulu.go.id>'")
    return formataddr((name, address)) if name else address


def build_message(row: Mapping[str, Any], sender: str, base_url: str | None = None) -> EmailMessage:
    """The email of an outbox row (its id, kind, lang, recipient, payload). Its Message-ID is the
    row's, so a copy sent again after a crash is recognisably the same message."""
    subject, body = mail_texts.render(str(row["kind"]), str(row["lang"]), row["payload"] or {}, base_url)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(row["recipient"])
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<sop-outbox-{row['id']}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(body)
    return msg


# -- delivering -----------------------------------------------------------------------------------
@dataclass
class Delivery:
    """What one ``deliver`` run did."""

    sent: int = 0
    retried: int = 0  # failed this time, due again later
    failed: int = 0  # given up (permanent refusal, or MAX_ATTEMPTS reached)
    stopped: str = ""  # why the run stopped early (the server could not be reached), or ""


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most 6 hours."""
    return min(BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 20)), BACKOFF_CAP)


_TABLE = cast(Table, OutboxMessage.__table__)


def _due(now: dt.datetime) -> Any:
    t = _TABLE.c
    return or_(and_(t.status == PENDING, t.next_attempt_at <= now),
               and_(t.status == SENDING, t.claimed_until <= now))  # a dead worker's lease ran out


def _claim(factory: sessionmaker[Session], now: dt.datetime, lease: dt.timedelta) -> dict[str, Any] | None:
    """Claim the next due message for this worker, in a transaction of its own; None: nothing due."""
    t = _TABLE.c
    token = secrets.token_hex(16)
    with transaction(factory) as session:
        pick = select(t.id).where(_due(now)).order_by(t.next_attempt_at, t.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)  # another worker's claim is skipped, not waited for
        row = session.execute(
            update(_TABLE).where(t.id == pick.scalar_subquery(), _due(now))
            .values(status=SENDING, claim=token, claimed_until=now + lease, attempts=t.attempts + 1)
            .returning(t.id, t.kind, t.lang, t.recipient, t.payload, t.attempts, t.case_id)).mappings().first()
        return {**row, "claim": token} if row is not None else None


def _finish(factory: sessionmaker[Session], claimed: Mapping[str, Any], **values: Any) -> bool:
    """Record the outcome of a claimed message, only while the claim is still ours."""
    t = _TABLE.c
    with transaction(factory) as session:
        done = cast(CursorResult[Any], session.execute(
            update(_TABLE).where(t.id == claimed["id"], t.claim == claimed["claim"])
            .values(claim=None, claimed_until=None, **values)))
        ours = bool(done.rowcount)
    if not ours:
        event(log, "outbox.lease_lost", logging.WARNING, message=claimed["id"], case=claimed["case_id"] or "-")
    return ours


def _permanent(exc: BaseException) -> bool:
    """A refusal that no retry will change: the recipient or the message refused with a 5xx code."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, (KeyError, ValueError, TypeError))  # the message itself cannot be built


def _message_level(exc: BaseException) -> bool:
    """A failure of this one message; anything else (connection, login, timeout) is the server's."""
    return isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, KeyError, ValueError, TypeError))


def _code(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return ",".join(str(code) for code, _m in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return str(code) if code is not None else "-"


def _reason(exc: BaseException, recipient: str) -> str:
    """What is stored as the last error: the kind of failure and the server's words, the address cut out."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
                           for code, msg in exc.recipients.values())
    elif isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error
        detail = f"{exc.smtp_code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
    else:
        detail = str(exc)
    text = f"{type(exc).__name__}: {detail}".replace(recipient, "<recipient>") if recipient else \
        f"{type(exc).__name__}: {detail}"
    return " ".join(text.split())[:500]


def deliver(factory: sessionmaker[Session], smtp_url: str, now: dt.datetime | None = None, limit: int = 100, *,
            sender: str = "sop-runner@localhost", base_url: str | None = None, max_attempts: int = MAX_ATTEMPTS,
            lease: dt.timedelta = LEASE, timeout: float = SMTP_TIMEOUT) -> Delivery:
    """Send up to ``limit`` due messages over the one SMTP connection this run opens.

    Safe to run in any number of processes at once: each message is claimed by exactly one of them.
    A server that cannot be reached (or refuses the login) ends the run after the message that
    found out, which waits its backoff like any temporary failure."""
    target = parse_smtp_url(smtp_url)
    sender = check_sender(sender)
    now = now or utcnow()
    report = Delivery()
    conn: smtplib.SMTP | None = None
    try:
        for _ in range(max(limit, 0)):
            claimed = _claim(factory, now, lease)
            if claimed is None:
                break
            try:
                message = build_message(claimed, sender, base_url)
                if conn is None:
                    conn = target.connect(timeout)
                conn.send_message(message)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the message
                _failed(factory, claimed, exc, now, max_attempts, report)
                if not _message_level(exc):
                    _drop(conn)
                    conn = None
                    report.stopped = f"{type(exc).__name__} {_code(exc)}".strip()
                    break
                continue
            if _finish(factory, claimed, status=SENT, sent_at=now, last_error=None):
                report.sent += 1
                event(log, "outbox.sent", message=claimed["id"], case=claimed["case_id"] or "-", kind=claimed["kind"],
                      attempt=claimed["attempts"])
    finally:
        _drop(conn)
    return report


def _failed(factory: sessionmaker[Session], claimed: Mapping[str, Any], exc: BaseException, now: dt.datetime,
            max_attempts: int, report: Delivery) -> None:
    attempts = int(claimed["attempts"])
    final = _permanent(exc) or attempts >= max_attempts
    reason = _reason(exc, str(claimed["recipient"]))
    if final:
        values: dict[str, Any] = {"status": FAILED, "last_error": reason}
    else:
        values = {"status": PENDING, "next_attempt_at": now + backoff(attempts), "last_error": reason}
    if _finish(factory, claimed, **values):
        if final:
            report.failed += 1
        else:
            report.retried += 1
    event(log, "outbox.failed" if final else "outbox.retry", logging.ERROR if final else logging.WARNING,
          message=claimed["id"], case=claimed["case_id"] or "-", kind=claimed["kind"], attempt=attempts,
          error=type(exc).__name__, code=_code(exc))


def _drop(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except Exception:  # noqa: BLE001 - the connection is gone either way
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass


# -- reading --------------------------------------------------------------------------------------
def counts(session: Session) -> dict[str, int]:
    """Messages per status (for `sop tick`'s summary and the operator)."""
    from sqlalchemy import func

    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status: n for status, n in rows}


__all__ = [
    "Delivery", "FAILED", "LANG_KEY", "MAX_ATTEMPTS", "PENDING", "SENDING", "SENT", "SmtpTarget", "backoff",
    "build_message", "case_started", "check_sender", "counts", "deliver", "normalise_email", "parse_smtp_url", "reporter_language",
    "set_account_email", "step_escalated", "step_paused", "step_performed",
]
