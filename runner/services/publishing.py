"""Publishing definitions: every distinct YAML text becomes a stored, immutable version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..definition import Sop, load_text
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


def last_good_versions(session: Session, broken: list[tuple[str, str | None]]) -> list[tuple[Sop, str]]:
    """For definition files that no longer load, the newest version published of the same SOP.

    An admin saving a broken revision must not take the service down: the app keeps running the
    last version that was sound (and says so), while ``sop validate`` shows what to fix. The SOP is
    found by the ``id`` the file declares, or by its path when even that cannot be read.
    """
    found = []
    for path, sop_id in broken:
        where = Definition.sop_id == sop_id if sop_id else Definition.source_path == path
        row = session.scalar(select(Definition).where(where)
                             .order_by(Definition.published_at.desc(), Definition.id.desc()).limit(1))
        if row is not None:
            found.append((load_text(row.source, path), row.source))
    return found
