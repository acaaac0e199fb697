"""Accounts and organisational units; turning a stored user into an engine Actor."""

from __future__ import annotations

import functools
import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..access import Actor
from ..errors import InvalidInput, NotFound
from ..logs import event
from ..registry import Registry
from ..store import Unit, User, UserRole

log = logging.getLogger(__name__)

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


@functools.cache
def _dummy_hash() -> str:
    """A hash to compare against when the username is unknown, so a login takes as long either way
    (made on first use, not at import: every process, the CLI included, would pay for it)."""
    return generate_password_hash("not a real password")


def actor_for(user: User) -> Actor:
    return Actor(user.id, user.full_name or user.username, user.role_ids, user.unit_id)


def check_roles(registry: Registry, roles: list[str]) -> None:
    """Every role must be an internal role of some loaded SOP (reporters have no accounts)."""
    known = {r.id for sop in registry.current() for r in sop.roles if not r.external}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


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
    unit_id: str | None = None,
) -> User:
    username = username.strip().lower()
    if not _USERNAME_RE.match(username):
        raise InvalidInput(f"username '{username}' must be 2-64 lowercase letters, digits, '.', '_' or '-'")
    if len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(f"user '{username}' already exists")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit '{unit_id}' (add it first with `sop unit add`)")
    user = User(username=username, password_hash=generate_password_hash(password),
                full_name=full_name or username, unit_id=unit_id, active=True,
                roles=[UserRole(role=r) for r in sorted(set(roles))])
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active account with these credentials, or None. Logged either way, without the typed
    name when no account has it (it may be a password typed into the wrong box)."""
    user = session.scalar(select(User).where(User.username == (username or "").strip().lower()))
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
