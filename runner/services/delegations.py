"""Acting officials (Plt/Plh): lending a role to another account for a period.

When the Kadis is away, someone must still act at the steps only the Kadis performs. A holder of a
role (in their own unit), or an administrator, delegates that role to another active account from
``starts_at`` until ``ends_at``, with a reason and a kind: *Plt* (pelaksana tugas, for a vacancy or a
long absence) or *Plh* (pelaksana harian, for a short one). While it runs, ``accounts.actor_for``
adds the role — in the delegation's unit — to the delegate's ``Actor`` (``access.Delegated``); the
access policy counts it like an own role, so the inbox, the engine and the case page agree, and
the moment the period ends or the delegation is revoked the delegate can no longer see or act.

Rows are never deleted (revoking stamps ``revoked_at``): history entries name the holder a delegate
acted for, and the list of past delegations is the record of who stood in for whom.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..access import Actor, Delegated, may_administer
from ..definition import Role, Sop, Text, display
from ..errors import InvalidInput, NotFound
from ..forms import has_control_chars
from ..logs import event
from ..registry import Registry
from ..store import Delegation, Unit, User
from .publishing import current_sops

log = logging.getLogger(__name__)

KINDS = {"plt": "Plt.", "plh": "Plh."}  # the abbreviation written before the role's name
MAX_REASON = 500


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back in some paths; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def delegated_to(session: Session, user_id: int, now: dt.datetime | None = None) -> tuple[Delegated, ...]:
    """The roles delegated to ``user_id`` at ``now`` (started, not ended, not revoked), for ``Actor``.

    One indexed query (delegate, ends_at) per request; the holder's name comes with it."""
    now = now or utcnow()
    holder = aliased(User)
    rows = session.execute(
        select(Delegation, holder.full_name, holder.username)
        .outerjoin(holder, holder.id == Delegation.holder_id)
        .where(Delegation.delegate_id == user_id, Delegation.ends_at > now, Delegation.starts_at <= now,
               Delegation.revoked_at.is_(None))
        .order_by(Delegation.id))
    return tuple(Delegated(role=d.role, unit=d.unit_id, on_behalf_of=(full or username or None), kind=d.kind)
                 for d, full, username in rows)


def acting_title(kind: str, role_name: Text | str, locale: str | None = None) -> str:
    """"Plh. Kadis": how a history entry names the role a delegate acted in."""
    return f"{KINDS.get(kind, kind)} {display(role_name, locale)}"


# -- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DelegationRow:
    id: int
    kind: str
    role: str
    role_name: Text | str
    unit_id: str | None
    unit_name: str | None
    holder: str | None  # full name, None when an admin delegated a role nobody holds
    delegate: str  # full name
    delegate_username: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    created_by: str
    revoked_at: dt.datetime | None
    status: str  # "active", "upcoming", "ended" or "revoked"
    holder_id: int | None = None

    @property
    def title(self) -> str:
        return acting_title(self.kind, self.role_name)


def _role_names(session: Session, registry: Registry) -> dict[str, Text | str]:
    names: dict[str, Text | str] = {}
    for sop in current_sops(session, registry).values():
        for role in sop.roles:
            names.setdefault(role.id, role.name)
    return names


def list_delegations(session: Session, registry: Registry, *, now: dt.datetime | None = None,
                     current_only: bool = False, user_id: int | None = None) -> list[DelegationRow]:
    """Every delegation (or only those running or still to come), newest first; with ``user_id``
    only those where that account is the holder or the delegate."""
    now = now or utcnow()
    holder, delegate = aliased(User), aliased(User)
    stmt = (select(Delegation, holder.full_name, delegate.full_name, delegate.username, Unit.name)
            .outerjoin(holder, holder.id == Delegation.holder_id)
            .join(delegate, delegate.id == Delegation.delegate_id)
            .outerjoin(Unit, Unit.id == Delegation.unit_id)
            .order_by(Delegation.starts_at.desc(), Delegation.id.desc()))
    if current_only:
        stmt = stmt.where(Delegation.ends_at > now, Delegation.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where((Delegation.holder_id == user_id) | (Delegation.delegate_id == user_id))
    names = _role_names(session, registry)
    out = []
    for d, holder_name, delegate_name, delegate_username, unit_name in session.execute(stmt):
        starts, ends = _aware(d.starts_at), _aware(d.ends_at)
        status = ("revoked" if d.revoked_at is not None else "ended" if ends <= now
                  else "upcoming" if starts > now else "active")
        out.append(DelegationRow(
            id=d.id, kind=d.kind, role=d.role, role_name=names.get(d.role, d.role), unit_id=d.unit_id,
            unit_name=unit_name, holder=holder_name, delegate=delegate_name, delegate_username=delegate_username,
            starts_at=starts, ends_at=ends, reason=d.reason, created_by=d.created_by,
            revoked_at=_aware(d.revoked_at) if d.revoked_at else None, status=status, holder_id=d.holder_id))
    return out


# -- creating -------------------------------------------------------------------------------------
def _role(session: Session, registry: Registry, role_id: str) -> tuple[Role, Sop]:
    """The internal role ``role_id`` of some current SOP (and that SOP), or InvalidInput."""
    known: dict[str, tuple[Role, Sop]] = {}
    for sop in current_sops(session, registry).values():
        for role in sop.roles:
            if not role.external:
                known.setdefault(role.id, (role, sop))
    if role_id not in known:
        raise InvalidInput(f"unknown role '{role_id}'; known: {', '.join(sorted(known))}")
    return known[role_id]


def _user(session: Session, username: str, what: str) -> User:
    from .accounts import normalise_username

    user = session.scalar(select(User).where(User.username == normalise_username(username))) \
        if username and not has_control_chars(username) and len(username) <= 64 else None
    if user is None:
        raise InvalidInput(f"no account '{username[:64]}' for the {what}")
    return user


def _holders(session: Session, role_id: str, unit_id: str | None, scoped: bool) -> list[User]:
    """Active accounts that hold ``role_id`` as their own (in ``unit_id`` when the role is scoped)."""
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return [u for u in users if role_id in u.role_ids and (not scoped or u.unit_id == unit_id)]


def parse_time(text: str, timezone: str, *, end_of_day: bool = False) -> dt.datetime:
    """An ISO date or date-time as typed (``2026-12-01``, ``2026-12-01T08:00``, with or without an
    offset). Without an offset it is read in ``timezone`` (the SOP's calendar); a bare date is the
    start of that day, or with ``end_of_day`` the end of it (so ``--until 2026-12-07`` includes the 7th)."""
    text = (text or "").strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            local = dt.datetime.combine(day + dt.timedelta(days=1) if end_of_day else day, dt.time())
        else:
            local = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"'{text[:40]}' is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.timezone.utc)


def role_timezone(session: Session, registry: Registry, role_id: str) -> str:
    """The calendar timezone of the SOP that defines ``role_id`` (times typed without an offset)."""
    try:
        return _role(session, registry, role_id)[1].calendar.timezone
    except InvalidInput:
        return "UTC"


def delegate(
    session: Session, registry: Registry, by: Actor | None, *, role: str, to: str, starts_at: dt.datetime,
    ends_at: dt.datetime, reason: str, kind: str = "plh", unit_id: str | None = None,
    holder: str | None = None, created_by: str | None = None, now: dt.datetime | None = None,
) -> Delegation:
    """Lend ``role`` (in ``unit_id``) to the account ``to`` from ``starts_at`` until ``ends_at``.

    ``by`` is who asks: a holder of the role (in their own unit; they are the holder), or an admin
    (``access.may_administer``; None: the server's administrator at the CLI), who may name the ``holder`` — by default the one active account
    holding the role there, if there is exactly one; otherwise none and history says the role's
    name. Every refusal is an InvalidInput (or NotFound) saying what to change."""
    now = now or utcnow()
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InvalidInput(f"kind must be plt or plh, not '{kind[:20]}'")
    the_role, _sop = _role(session, registry, role)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give the reason for the delegation (e.g. \"Kadis on leave 1-7 December\")")
    if len(reason) > MAX_REASON or has_control_chars(reason.replace("\n", " ").replace("\r", " ")):
        raise InvalidInput(f"the reason must be at most {MAX_REASON} characters of ordinary text")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("the start and end need a timezone")
    if ends_at <= starts_at:
        raise InvalidInput("the delegation must end after it starts")
    if ends_at <= now:
        raise InvalidInput("the delegation would already be over: choose an end in the future")
    if the_role.unit_scoped:
        if not unit_id:
            raise InvalidInput(f"role '{role}' belongs to one unit: say which (--unit UNIT)")
        if session.get(Unit, unit_id) is None:
            raise NotFound(f"no unit '{unit_id[:64]}'")
    elif unit_id:
        raise InvalidInput(f"role '{role}' is not scoped to a unit: leave out the unit")
    admin = by is None or may_administer(by)
    holder_user: User | None
    if admin and holder:
        holder_user = _user(session, holder, "holder")
        if role not in holder_user.role_ids or (the_role.unit_scoped and holder_user.unit_id != unit_id):
            raise InvalidInput(f"'{holder_user.username}' does not hold role '{role}' there")
    elif admin and (by is None or role not in by.roles):
        found = _holders(session, role, unit_id, the_role.unit_scoped)
        holder_user = found[0] if len(found) == 1 else None
    else:
        holder_user = session.get(User, by.user_id) if by is not None and by.user_id is not None else None
        if holder_user is None or not holder_user.active or role not in holder_user.role_ids:
            raise InvalidInput(f"only a holder of role '{role}' or an administrator may delegate it")
        if the_role.unit_scoped and holder_user.unit_id != unit_id:
            raise InvalidInput(f"you hold role '{role}' only in your own unit ({holder_user.unit_id})")
    target = _user(session, to, "delegate")
    if not target.active:
        raise InvalidInput(f"account '{target.username}' is disabled; enable it first")
    if holder_user is not None and target.id == holder_user.id:
        raise InvalidInput("the delegate must be someone other than the holder")
    overlapping = session.scalar(select(Delegation.id).where(
        Delegation.role == role, Delegation.delegate_id == target.id, Delegation.revoked_at.is_(None),
        (Delegation.unit_id == unit_id) if unit_id else Delegation.unit_id.is_(None),
        Delegation.starts_at < ends_at, Delegation.ends_at > starts_at).limit(1))
    if overlapping is not None:
        raise InvalidInput(f"'{target.username}' already acts as '{role}' there during that time "
                           f"(delegation {overlapping}); revoke it or choose another period")
    row = Delegation(kind=kind, role=role, unit_id=unit_id or None,
                     holder_id=holder_user.id if holder_user else None, delegate_id=target.id,
                     starts_at=starts_at, ends_at=ends_at, reason=reason,
                     created_by=(created_by or (by.name if by else "") or "sop delegate")[:64], created_at=now, revoked_at=None)
    session.add(row)
    session.flush()
    event(log, "delegation.created", delegation=row.id, role=role, unit=unit_id or "-", kind=kind,
          delegate=target.id, holder=holder_user.id if holder_user else "-")
    return row


def revoke(session: Session, delegation_id: int, by: Actor | None, now: dt.datetime | None = None) -> Delegation:
    """End a delegation at once (an admin — None: the CLI's —, or its holder). The delegate's next request no longer
    carries the role; the row stays, so history can still name both people."""
    now = now or utcnow()
    row = session.get(Delegation, delegation_id) if 0 < delegation_id < 2**31 else None
    if row is None:
        raise NotFound(f"no delegation {delegation_id}")
    if by is not None and not may_administer(by) and (by.user_id is None or by.user_id != row.holder_id):
        raise NotFound(f"no delegation {delegation_id}")  # not theirs: as if it did not exist
    if row.revoked_at is not None:
        raise InvalidInput(f"delegation {delegation_id} was already revoked")
    if _aware(row.ends_at) <= now:
        raise InvalidInput(f"delegation {delegation_id} has already ended")
    row.revoked_at = now
    session.flush()
    event(log, "delegation.revoked", delegation=row.id)
    return row


__all__ = ["DelegationRow", "KINDS", "acting_title", "delegate", "delegated_to", "list_delegations",
           "parse_time", "revoke", "role_timezone"]
