"""Demo data for `make run`: a few units, one account per role and one admin, all with a known password.

Only the demo start calls this. A production start (`sop db upgrade`, `sop load`, `sop user add`)
never creates an account with a known password.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definition import display
from ..registry import Registry
from ..store import User
from .accounts import create_user, ensure_unit
from .publishing import current_sops

DEMO_PASSWORD = "demo-sop-2026"
# The demo's administrator: the admin capability (publishing SOPs) and no SOP role, so the admin
# pages can be tried without an account that also works cases.
DEMO_ADMIN = "admin_sop"
DEMO_UNITS = (
    ("dinkes", "Dinas Kesehatan"),
    ("disdik", "Dinas Pendidikan dan Kebudayaan"),
    ("dpupr", "Dinas Pekerjaan Umum dan Penataan Ruang"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    unit: str | None


def seed(session: Session, registry: Registry) -> list[DemoAccount]:
    """Create what is missing and return every demo account (existing ones included)."""
    for unit_id, name in DEMO_UNITS:
        ensure_unit(session, unit_id, name)
    accounts: list[DemoAccount] = []
    seen: set[str] = set()
    for sop in current_sops(session, registry).values():
        for role in sop.roles:
            if role.external or role.id in seen:
                continue
            seen.add(role.id)
            targets: list[tuple[str, str | None, str | None]] = (
                [(f"{role.id}.{u}", u, n) for u, n in DEMO_UNITS] if role.unit_scoped else [(role.id, None, None)])
            for username, unit, unit_name in targets:
                if session.scalar(select(User).where(User.username == username)) is None:
                    create_user(session, username, DEMO_PASSWORD, roles=[role.id], unit_id=unit,
                                full_name=f"{role.name} ({unit_name})" if unit_name else f"{role.name} (demo)")
                accounts.append(DemoAccount(username, DEMO_PASSWORD, display(role.name), unit_name))
    if session.scalar(select(User).where(User.username == DEMO_ADMIN)) is None:
        create_user(session, DEMO_ADMIN, DEMO_PASSWORD, roles=[], admin=True, full_name="Administrator SOP (demo)")
    accounts.append(DemoAccount(DEMO_ADMIN, DEMO_PASSWORD, "admin: publishes SOP versions (no SOP role)", None))
    return accounts
