"""Accounts and organisational units; turning a stored user into an engine Actor.

Passwords: at least ``MIN_PASSWORD_LENGTH`` characters, not only spaces, not the username (nor
containing it), at least four different characters, and not one of the ~10,000 most common
passwords (``runner/data/common-passwords.txt``, shipped in the package).

Sessions: a session's login token is ``"{user id}:{session_epoch}"``. ``end_sessions`` bumps the
number, so every token issued before it — a cookie copied before sign-out included — stops working;
disabling an account does the same.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from importlib import resources

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from ..access import Actor
from ..errors import InvalidInput, NotFound
from ..logs import event
from ..registry import Registry
from ..store import Unit, User, UserRole
from .publishing import current_sops

log = logging.getLogger(__name__)

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    """A hash to compare against when the username is unknown, so a login takes as long either way
    (made on first use, not at import: every process, the CLI included, would pay for it)."""
    return generate_password_hash("not a real password")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercase (read once per process, on first use)."""
    text = resources.files("runner").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password(password: str, username: str) -> None:
    """Raise InvalidInput, saying why, when ``password`` is too weak for the account ``username``."""
    if not password.strip():
        raise InvalidInput("a password cannot be empty or only spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    name = normalise_username(username)
    parts = {name} | {p for p in re.split(r"[._-]", name) if len(p) >= 4}
    if lowered == name or (len(name) >= 3 and any(p in lowered for p in parts)):
        raise InvalidInput("a password must not be or contain the username")
    if len(set(password)) < 4:
        raise InvalidInput("a password needs at least 4 different characters")
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        raise InvalidInput("that password is on the list of the most common passwords; choose another")


def unit_of_role(user: User, role_id: str) -> str | None:
    """The unit ``user`` holds ``role_id`` in: the role's own, else the account's."""
    own = next((r.unit_id for r in user.roles if r.role == role_id and r.unit_id), None)
    return own or user.unit_id


def actor_for(user: User, now: dt.datetime | None = None) -> Actor:
    """The Actor of ``user`` at ``now``: their own roles and unit, plus the roles delegated to them
    right now (Plt/Plh, each in its unit; see ``services.delegations``), read through the session
    the user was loaded in (none for a detached user: no delegations)."""
    from .delegations import delegated_to  # delegations uses this module's helpers

    session = object_session(user)
    delegated = delegated_to(session, user.id, now) if session is not None and user.id is not None else ()
    return Actor(user.id, user.full_name or user.username, user.role_ids, user.unit_id, admin=bool(user.is_admin),
                 delegated=delegated, role_units=user.role_units)


def normalise_username(text: str | None) -> str:
    """A username as accounts store and look it up (surrounding spaces and case do not count): the
    one rule the login, the throttle that counts failed logins per account, and account creation share."""
    return (text or "").strip().lower()


def split_role(spec: str) -> tuple[str, str | None]:
    """``"operator_opd@dinkes"`` → ("operator_opd", "dinkes"): a role held in a unit of its own; a
    bare role id is held in the account's unit. The one spelling the CLI and the admin page share."""
    role, _, unit = spec.strip().partition("@")
    return role.strip(), (unit.strip() or None)


def role_rows(specs: list[str]) -> list[UserRole]:
    """The ``user_roles`` rows of these role specs (see ``split_role``); a role given twice is refused,
    since a person holds a role once (in one unit)."""
    rows: dict[str, UserRole] = {}
    for spec in specs:
        role, unit = split_role(spec)
        if role in rows:
            raise InvalidInput(f"role {role} is given twice; a person holds a role in one unit")
        rows[role] = UserRole(role=role, unit_id=unit)
    return [rows[r] for r in sorted(rows)]


def check_roles(session: Session, registry: Registry, roles: list[str], unit_id: str | None = None) -> None:
    """Every role must be an internal role of some loaded SOP (reporters have no accounts); a
    unit-scoped role needs a unit — its own (``role@unit``) or the account's — and a unit is only
    for unit-scoped roles, and must exist."""
    current = current_sops(session, registry).values()  # the roles of the versions cases start on
    known = {r.id for sop in current for r in sop.roles if not r.external}
    pairs = [split_role(spec) for spec in roles]
    unknown = [r for r, _ in pairs if r not in known]
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    scoped = {r.id for sop in current for r in sop.roles if r.unit_scoped}
    for role, own in pairs:
        if own is None:
            continue
        if role not in scoped:
            raise InvalidInput(f"role {role} is not scoped to a unit: write it without @{own}")
        if session.get(Unit, own) is None:
            raise NotFound(f"no unit '{own[:64]}' (for role {role}; add it first with `sop unit add`)")
    needing = sorted({r for r, own in pairs if own is None} & scoped)
    if needing and unit_id is None:
        raise InvalidInput(f"role(s) {', '.join(needing)} belong to one unit: give the unit with --unit UNIT "
                           "(units: `sop unit add ID NAME`)")
    if unit_id is not None and not needing:
        raise InvalidInput(f"role(s) {', '.join(sorted(set(roles)))} are not scoped to a unit: leave out "
                           f"--unit {unit_id}")


def ensure_unit(session: Session, unit_id: str, name: str) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        unit = Unit(id=unit_id, name=name)
        session.add(unit)
        session.flush()
    else:
        unit.name = name
    return unit


def units(session: Session) -> dict[str, str]:
    return {u.id: u.name for u in session.scalars(select(Unit).order_by(Unit.name))}


def create_user(
    session: Session, username: str, password: str, *, roles: list[str], full_name: str = "",
    unit_id: str | None = None, admin: bool = False,
) -> User:
    """A new active account. ``admin`` gives the admin capability (``access.may_administer``); an
    account needs it or at least one role, since an account with neither could do nothing."""
    username = normalise_username(username)
    if not roles and not admin:
        raise InvalidInput("an account needs at least one role (--role) or the admin capability (--admin)")
    if not _USERNAME_RE.match(username):
        raise InvalidInput(f"username '{username}' must be 2-64 lowercase letters, digits, '.', '_' or '-'")
    check_password(password, username)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(f"user '{username}' already exists")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit '{unit_id}' (add it first with `sop unit add`)")
    user = User(username=username, password_hash=generate_password_hash(password),
                full_name=full_name or username, unit_id=unit_id, active=True, is_admin=admin,
                roles=role_rows(roles))
    session.add(user)
    session.flush()
    if admin:
        event(log, "account.admin_created", user=user.id)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active account with these credentials, or None. Logged either way, without the typed
    name when no account has it (it may be a password typed into the wrong box).

    A NUL byte can be in no username or password and PostgreSQL refuses it in a query parameter:
    such input is answered None without asking the database (after the same hash work as ever)."""
    if "\x00" in (username or "") or "\x00" in (password or ""):
        check_password_hash(_dummy_hash(), "")
        event(log, "login.failed", logging.WARNING, user="-", reason="unreadable input")
        return None
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password or "")
        event(log, "login.failed", logging.WARNING, user=user.id if user else "-",
              reason="inactive account" if user else "unknown username")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        event(log, "login.failed", logging.WARNING, user=user.id, reason="wrong password")
        return None
    event(log, "login.ok", user=user.id)
    return user


def get_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def session_token(user: User) -> str:
    """What a login session remembers of its user: valid until ``end_sessions`` for that user."""
    return f"{user.id}:{user.session_epoch}"


def user_for_session(session: Session, token: str) -> User | None:
    """The active user a session token was issued to, or None when the token is malformed, the
    account is gone or disabled, or its sessions were ended since (sign-out, disabling)."""
    user_id, sep, epoch = (token or "").partition(":")
    if not (sep and user_id.isdecimal() and epoch.isdecimal()):
        return None
    user = get_user(session, int(user_id))
    return user if user is not None and user.session_epoch == int(epoch) else None


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of this user, on every device (one atomic increment, safe under races)."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_epoch=User.session_epoch + 1))
    event(log, "sessions.ended", user=user_id)


def set_active(session: Session, username: str, active: bool) -> User:
    """Enable or disable the account ``username``; disabling also ends its sessions at once."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"no user '{username}'")
    user.active = active
    session.flush()
    if not active:
        end_sessions(session, user.id)
    event(log, "account.enabled" if active else "account.disabled", user=user.id)
    return user


def user_id_for(session: Session, username: str) -> int | None:
    """The id of the account a login with this username would check (active or not), or None: what
    a log line may say about an attempt instead of the typed name."""
    name = normalise_username(username)
    if not _USERNAME_RE.match(name):  # no account has such a name (and a NUL must not reach PostgreSQL)
        return None
    return session.scalar(select(User.id).where(User.username == name))
