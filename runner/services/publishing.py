"""Publishing definitions: every distinct YAML text becomes a stored, immutable version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..definition import Sop
from ..registry import Registry
from ..store import Definition


def publish(session: Session, sop: Sop, source: str, now: dt.datetime | None = None) -> Definition:
    """Store this version if it is new; return its row. Idempotent, so every start may call it."""
    row = session.scalar(select(Definition).where(Definition.sop_id == sop.id, Definition.version == sop.version))
    if row is None:
        row = Definition(sop_id=sop.id, version=sop.version, title=sop.title, source_path=sop.source_path,
                         source=source, published_at=now or dt.datetime.now(dt.timezone.utc))
        try:
            with session.begin_nested():  # several app workers may start at once
                session.add(row)
        except IntegrityError:
            row = session.scalar(select(Definition).where(Definition.sop_id == sop.id,
                                                          Definition.version == sop.version))
    return row


def publish_all(session: Session, registry: Registry) -> list[Definition]:
    return [publish(session, sop, registry.source(sop)) for sop in registry.current()]


def current_row(session: Session, sop: Sop) -> Definition:
    row = session.scalar(select(Definition).where(Definition.sop_id == sop.id, Definition.version == sop.version))
    if row is None:
        raise LookupError(f"definition '{sop.id}' version {sop.version[:12]} is not published; run `sop load`")
    return row
