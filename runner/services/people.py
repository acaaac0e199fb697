"""Units and accounts as an administrator manages them: the admin pages and the CLI both call these.

Everything an admin can change about people goes through here so that both front ends refuse the
same things with the same messages (InvalidInput / NotFound, worded for the person typing):
creating and renaming units; creating, disabling and re-enabling accounts (disabling ends every
session at once, ``accounts.set_active``); resetting a password (typed, checked against the
password policy, or generated and shown once); and setting an account's roles.

Roles and units: an account has a unit (``users.unit_id``) its unit-scoped roles are held in, and
any role may be held in a unit of its own instead (``role@unit``, ``user_roles.unit_id``), so one
person can be the operator of one OPD and the verifier of another. A delegation (Plt/Plh) carries
its own unit too.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..definition import Text
from ..errors import InvalidInput, NotFound
from ..forms import has_control_chars
from ..logs import event
from ..registry import Registry
from ..store import Unit, User, UserRole
from .accounts import (check_password, check_roles, create_user, end_sessions, normalise_username, role_rows,
                       set_active, split_role, unit_of_role)
from .delegations import DelegationRow, list_delegations
from .publishing import current_sops

log = logging.getLogger(__name__)

_UNIT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_NAME = 200
_GENERATED_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no l/1, O/0


def _name(text: str | None, what: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise InvalidInput(f"give the {what}")
    if len(name) > MAX_NAME or has_control_chars(name):
        raise InvalidInput(f"the {what} must be at most {MAX_NAME} characters of ordinary text")
    return name


def create_unit(session: Session, unit_id: str, name: str) -> Unit:
    """A new unit (OPD); refused when the id is taken (renaming is ``rename_unit``)."""
    unit_id = (unit_id or "").strip().lower()
    if not _UNIT_ID_RE.match(unit_id):
        raise InvalidInput("a unit id is 1-64 lowercase letters, digits, '.', '_' or '-' (e.g. dinkes)")
    name = _name(name, "unit's name")
    if session.get(Unit, unit_id) is not None:
        raise InvalidInput(f"unit '{unit_id}' already exists; rename it instead")
    unit = Unit(id=unit_id, name=name)
    session.add(unit)
    session.flush()
    event(log, "unit.created", unit=unit_id)
    return unit


def rename_unit(session: Session, unit_id: str, name: str) -> Unit:
    unit = session.get(Unit, unit_id) if unit_id and len(unit_id) <= 64 else None
    if unit is None:
        raise NotFound(f"no unit '{(unit_id or '')[:64]}'")
    unit.name = _name(name, "unit's name")
    session.flush()
    event(log, "unit.renamed", unit=unit.id)
    return unit


def find_user(session: Session, username: str) -> User:
    name = normalise_username(username)
    user = session.scalar(select(User).where(User.username == name)) \
        if name and len(name) <= 64 and not has_control_chars(name) else None
    if user is None:
        raise NotFound(f"no user '{name[:64]}'")
    return user


def _unit_or_none(unit_id: str | None) -> str | None:
    return (unit_id or "").strip() or None


def create_account(
    session: Session, registry: Registry, username: str, password: str, *, roles: list[str],
    full_name: str = "", unit_id: str | None = None, admin: bool = False,
) -> User:
    """``accounts.create_user`` after the role checks the CLI makes (known roles; the unit exactly
    when a role is unit-scoped)."""
    unit_id = _unit_or_none(unit_id)
    roles = sorted({r.strip() for r in roles if r and r.strip()})
    if full_name:
        full_name = _name(full_name, "full name")
    if roles:
        check_roles(session, registry, roles, unit_id)
    elif unit_id is not None:
        raise InvalidInput("a unit is only for accounts with a unit-scoped role")
    return create_user(session, username, password, roles=roles, full_name=full_name, unit_id=unit_id, admin=admin)


def set_roles(session: Session, registry: Registry, username: str, roles: list[str],
              unit_id: str | None = None) -> User:
    """Replace the account's roles (and unit) with these; the checks are ``create_account``'s. The
    account's next request already acts with them (its Actor is built per request)."""
    user = find_user(session, username)
    unit_id = _unit_or_none(unit_id)
    roles = sorted({r.strip() for r in roles if r and r.strip()})
    if not roles and not user.is_admin:
        raise InvalidInput("an account needs at least one role (or the admin capability)")
    if roles:
        check_roles(session, registry, roles, unit_id)
    elif unit_id is not None:
        raise InvalidInput("a unit is only for accounts with a unit-scoped role")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit '{unit_id[:64]}'")
    user.roles = role_rows(roles)
    user.unit_id = unit_id
    session.flush()
    event(log, "account.roles_set", user=user.id, roles=",".join(roles), unit=unit_id or "-")
    return user


def generate_password() -> str:
    """A random password that meets the policy (16 characters from 56: about 93 bits)."""
    while True:
        candidate = "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(16))
        if len(set(candidate)) >= 4:
            return candidate


def reset_password(session: Session, username: str, password: str | None = None) -> str:
    """Set a new password (``password``, checked against the policy, or a generated one) and end
    the account's sessions; returns the password so a generated one can be shown once."""
    user = find_user(session, username)
    new = password if password is not None else generate_password()
    check_password(new, user.username)
    user.password_hash = generate_password_hash(new)
    session.flush()
    end_sessions(session, user.id)
    event(log, "account.password_reset", user=user.id, generated=password is None)
    return new


def set_account_active(session: Session, username: str, active: bool) -> User:
    return set_active(session, find_user(session, username).username, active)


# -- the overview ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    unit_id: str | None
    unit_name: str | None
    roles: tuple[str, ...]
    active: bool
    admin: bool


@dataclass(frozen=True)
class Holding:
    """Who holds one role in one unit (unit None: the role is not unit-scoped)."""

    role: str
    role_name: Text | str
    unit_id: str | None
    unit_name: str | None
    holders: tuple[str, ...]  # full names of the active accounts holding it
    acting: tuple[DelegationRow, ...]  # delegations of it running now


@dataclass(frozen=True)
class People:
    units: tuple[tuple[str, str, int], ...]  # (id, name, active accounts in it)
    accounts: tuple[Account, ...]
    holdings: tuple[Holding, ...]
    delegations: tuple[DelegationRow, ...]  # running or to come
    roles: tuple[tuple[str, Text | str, bool], ...]  # (id, name, unit-scoped) of every internal role


def internal_roles(session: Session, registry: Registry) -> tuple[tuple[str, Text | str, bool], ...]:
    """(id, name, unit-scoped) of every internal role of the current SOPs, by id."""
    roles: dict[str, tuple[Text | str, bool]] = {}
    for sop in current_sops(session, registry).values():
        for role in sop.roles:
            if not role.external:
                roles.setdefault(role.id, (role.name, role.unit_scoped))
    return tuple((rid, name, scoped) for rid, (name, scoped) in sorted(roles.items()))


def people(session: Session, registry: Registry, now: dt.datetime | None = None) -> People:
    """Everything the admin's people page shows, in a handful of queries."""
    unit_rows = list(session.scalars(select(Unit).order_by(Unit.name)))
    counts: dict[str | None, int] = {unit: n for unit, n in session.execute(
        select(User.unit_id, func.count()).where(User.active.is_(True)).group_by(User.unit_id))}
    unit_names = {u.id: u.name for u in unit_rows}
    users = list(session.scalars(select(User).order_by(User.username)))
    roles: dict[str, tuple[Text | str, bool]] = {}
    for sop in current_sops(session, registry).values():
        for role in sop.roles:
            if not role.external:
                roles.setdefault(role.id, (role.name, role.unit_scoped))
    delegations = tuple(list_delegations(session, registry, now=now, current_only=True))
    holdings = []
    for role_id, (role_name, scoped) in roles.items():
        places: list[str | None] = list(unit_names) if scoped else [None]
        for unit_id in places:
            holders = tuple(u.full_name for u in users if u.active and role_id in u.role_ids
                            and (not scoped or unit_of_role(u, role_id) == unit_id))
            acting = tuple(d for d in delegations if d.role == role_id and d.unit_id == unit_id and d.status == "active")
            if holders or acting or not scoped:
                holdings.append(Holding(role_id, role_name, unit_id, unit_names.get(unit_id) if unit_id else None,
                                        holders, acting))
    return People(
        units=tuple((u.id, u.name, counts.get(u.id, 0)) for u in unit_rows),
        accounts=tuple(Account(u.username, u.full_name, u.unit_id, unit_names.get(u.unit_id) if u.unit_id else None,
                               tuple(f"{r.role}@{r.unit_id}" if r.unit_id else r.role
                                     for r in sorted(u.roles, key=lambda r: r.role)),
                               bool(u.active), bool(u.is_admin)) for u in users),
        holdings=tuple(holdings), delegations=delegations,
        roles=tuple((rid, name, scoped) for rid, (name, scoped) in sorted(roles.items())),
    )


__all__ = ["Account", "Holding", "People", "create_account", "create_unit", "find_user", "generate_password",
           "internal_roles", "people", "rename_unit", "reset_password", "set_account_active", "set_roles"]
