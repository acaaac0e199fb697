"""Publishing definitions: every distinct YAML text becomes a stored, immutable version.

A stored version is trusted history: it records the definition format it was written in and is
rebuilt as such for its running cases (``runner.definition.stored``), never re-validated.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..definition import Sop
from ..definition.stored import FORMAT, load_stored
from ..engine import Engine
from ..errors import ConfigurationError, StorageError, StoredVersionError
from ..logs import event
from ..registry import Registry
from ..store import Definition, violates

log = logging.getLogger(__name__)
_reported: set[str] = set()  # unreadable stored versions already logged by this process


def publish(session: Session, sop: Sop, source: str, now: dt.datetime | None = None, *, by: str = "startup",
            effective: dt.datetime | None = None) -> Definition:
    """Store this version if it is new; return its row. Idempotent, so every start may call it.

    ``by`` names who published it ("startup" for the start-up import of a new file, "cli", or an
    admin's username); ``effective`` (default: now) is when new cases start on it. Storing a version
    moves no case: that is ``services.revisions``' work."""
    row = session.scalar(select(Definition).where(Definition.sop_id == sop.id, Definition.version == sop.version))
    if row is None:
        now = now or dt.datetime.now(dt.timezone.utc)
        row = Definition(sop_id=sop.id, version=sop.version, title=str(sop.title)[:300], source_path=sop.source_path,
                         source=source, format=FORMAT, published_at=now, published_by=by[:64],
                         effective_from=max(effective or now, now))
        try:
            with session.begin_nested():  # several app workers may start at once
                session.add(row)
        except IntegrityError as exc:
            if not violates(exc, "uq_definitions_sop_version"):
                raise StorageError(f"definition '{sop.id}' could not be published") from exc
            row = session.scalar(select(Definition).where(Definition.sop_id == sop.id,
                                                          Definition.version == sop.version))
            assert row is not None  # the concurrent insert that beat ours
        else:
            event(log, "definition.published", sop=sop.id, version=sop.version[:12], by=by[:64])
    return row


@dataclass(frozen=True)
class StoredVersion:
    """The columns of a stored version that say whether it is current (never its text)."""

    id: int
    sop_id: str
    version: str
    published_at: dt.datetime
    effective_from: dt.datetime


def effective_versions(session: Session, now: dt.datetime) -> dict[str, list[StoredVersion]]:
    """Per SOP id, its stored versions whose effective date has come, newest first (by published_at,
    then id): the first is the current version. One query on five small columns.

    A version effective from its publication (``effective_from`` empty, or not after
    ``published_at``) counts as effective at any ``now``, so a case opened "in the past" (an import,
    a test) still finds one; only a version dated ahead waits for its date."""
    effective = func.coalesce(Definition.effective_from, Definition.published_at)
    rows = session.execute(select(Definition.id, Definition.sop_id, Definition.version, Definition.published_at,
                                  effective).where(or_(effective <= Definition.published_at, effective <= now))
                           .order_by(Definition.published_at.desc(), Definition.id.desc()))
    found: dict[str, list[StoredVersion]] = {}
    for row_id, sop_id, version, published_at, since in rows:
        found.setdefault(sop_id, []).append(StoredVersion(row_id, sop_id, version, published_at, since))
    return found


def current_sops(session: Session, registry: Registry, now: dt.datetime | None = None) -> dict[str, Sop]:
    """THE current version of every SOP: the newest published version whose effective date has come.

    The database is the source of truth, not the files: a version published by ``sop publish`` (or
    an admin's page, in any worker process) is current for every process at its next request, even
    though the file on disk is older. Each request asks this once; only a version whose engine this
    process has not built yet has its text read. A version that cannot be read is skipped (logged
    once), so its SOP runs on the newest version that can."""
    now = now or dt.datetime.now(dt.timezone.utc)
    current: dict[str, Sop] = {}
    for sop_id, versions in effective_versions(session, now).items():
        for stored in versions:
            engine = registry.cached(stored.version)
            if engine is None:
                row = session.get(Definition, stored.id)
                assert row is not None  # just listed; definitions are never deleted
                try:
                    engine = engine_of_row(registry, row)
                except StoredVersionError as exc:
                    _report_unreadable(row, exc)
                    continue
            current[sop_id] = engine.sop
            break
    return dict(sorted(current.items()))  # a stable order for lists of SOPs and flows


def current_sop(session: Session, registry: Registry, sop_id: str, now: dt.datetime | None = None) -> Sop | None:
    return current_sops(session, registry, now).get(sop_id)


def _report_unreadable(row: Definition, exc: StoredVersionError) -> None:
    if row.version not in _reported:  # once per process, not on every request
        _reported.add(row.version)
        event(log, "definition.unreadable", logging.ERROR, sop=row.sop_id, version=row.version[:12],
              problem=exc.problems[0].message if exc.problems else "")


def publish_all(session: Session, registry: Registry) -> list[Definition]:
    return [publish(session, sop, registry.source(sop)) for sop in registry.current()]


def unpublished(session: Session, sops: list[Sop]) -> list[Sop]:
    """Those of ``sops`` whose version is not stored (a read-only database cannot publish them)."""
    rows = session.execute(select(Definition.sop_id, Definition.version)
                           .where(Definition.version.in_([sop.version for sop in sops])))
    stored = {(sop_id, version) for sop_id, version in rows}
    return [sop for sop in sops if (sop.id, sop.version) not in stored]


def current_row(session: Session, sop: Sop) -> Definition:
    row = session.scalar(select(Definition).where(Definition.sop_id == sop.id, Definition.version == sop.version))
    if row is None:
        raise ConfigurationError(f"definition '{sop.id}' version {sop.version[:12]} is not published",
                                 hint="run `sop load` (the app publishes its definitions when it starts)")
    return row


def engine_of_row(registry: Registry, row: Definition) -> Engine:
    """The engine of a stored version; StoredVersionError when its text cannot be read at all."""
    return registry.engine_for_version(row.version, row.source, row.source_path, row.format)


def stored_versions(session: Session, registry: Registry) -> Iterator[tuple[int, Sop]]:
    """Every stored version as (definitions.id, Sop), for the access policy's list criteria.

    A version that cannot be read is left out of lists (and logged) rather than hiding every other
    case; its own case pages say what is wrong."""
    for row in session.scalars(select(Definition).order_by(Definition.id)):
        try:
            yield row.id, engine_of_row(registry, row).sop
        except StoredVersionError as exc:
            _report_unreadable(row, exc)


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
            found.append((load_stored(row.source, row.format, path), row.source))
    return found
