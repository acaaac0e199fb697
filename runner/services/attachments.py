"""Attachments: the files of ``type: file`` fields, kept outside the web root, part of their step.

A step's files belong to its one transaction, so a failed step leaves no file and a saved one no
row without its file:

1. ``prepare`` (before anything is written) gives each cleaned file a random ``key`` — what links
   and the case's data use — and a different random stored name; nothing the sender typed (the
   file's name) is ever part of a path. The field's value becomes a list of references
   ``{"key", "name", "mime", "size"}``, so the case's data and its history show the file names.
2. ``attach`` (inside the step's transaction) writes each file under a staging name in the upload
   directory and adds its ``attachments`` row.
3. Session events finish the job: after the outermost commit each staged file is renamed into place
   (a rename on one file system: atomic); when the transaction — or the savepoint the files were
   attached in — rolls back, the staged files are deleted.

A crash between the commit and the rename leaves a row whose file is missing and a staged file:
``sop check-db`` reports both (``problems``), as it reports a file no row names.

Who may download a file is the access policy's answer for its case (``for_staff``), or, for the
reporter, the tracking code of a case whose field is public and whose report is not confidential
(``for_reporter``): the same rule as the tracking page's answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from dataclasses import field as attribute
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from .. import access
from ..access import Actor
from ..errors import ConfigurationError, NotFound, StorageError
from ..forms import CleanFile
from ..logs import event as log_event
from ..privacy import Privacy
from ..registry import Registry
from ..store import Attachment, Case

log = logging.getLogger(__name__)

STAGING = ".staging"  # staged files, in the upload directory (same file system: rename is atomic)
STALE_STAGED = dt.timedelta(hours=1)  # a staged file older than this belongs to no running transaction
_PENDING = "sop.attachments.pending"  # Session.info key: files staged in this session's transaction
_KEY_LEN = 32  # secrets.token_hex(16)


@dataclass(frozen=True)
class Storage:
    """The upload directory (``SOP_UPLOADS``). Files sit in ``<root>/<2 chars>/<stored name>``."""

    root: Path

    def path(self, stored_name: str) -> Path:
        return self.root / stored_name[:2] / stored_name

    def staged(self, stored_name: str) -> Path:
        return self.root / STAGING / stored_name


@dataclass(frozen=True)
class Pending:
    """A cleaned file waiting to be attached: its field, references and bytes."""

    field: str
    key: str
    stored_name: str
    file: CleanFile = attribute(repr=False)


@dataclass
class _Staged:
    storage: Storage
    stored_name: str
    transaction: SessionTransaction

    def place(self) -> None:
        final = self.storage.path(self.stored_name)
        try:
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(self.storage.staged(self.stored_name), final)
        except OSError:  # the row is committed: `sop check-db` will name it as missing its file
            log.error("attachment.place_failed stored=%s", self.stored_name, exc_info=True)

    def discard(self) -> None:
        try:
            self.storage.staged(self.stored_name).unlink(missing_ok=True)
        except OSError:
            log.error("attachment.discard_failed stored=%s", self.stored_name, exc_info=True)


def ref(key: str, f: CleanFile) -> dict[str, Any]:
    """What the case's data and history hold for one attached file."""
    return {"key": key, "name": f.name, "mime": f.mime, "size": f.size}


def prepare(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Pending]]:
    """``values`` with each file field's cleaned files replaced by their references, and the files
    to ``attach``. No I/O: a step refused after this writes nothing."""
    out: dict[str, Any] = {}
    pending: list[Pending] = []
    for fid, value in values.items():
        if isinstance(value, tuple) and value and all(isinstance(v, CleanFile) for v in value):
            refs = []
            for f in value:
                item = Pending(fid, secrets.token_hex(16), secrets.token_hex(20), f)
                pending.append(item)
                refs.append(ref(item.key, f))
            out[fid] = refs
        else:
            out[fid] = value
    return out, pending


def attach(session: Session, storage: Storage | None, case_id: int, seq: int, pending: Iterable[Pending],
           now: dt.datetime) -> None:
    """Stage each file and add its row, in the session's current transaction (or savepoint)."""
    items = list(pending)
    if not items:
        return
    if storage is None:  # a caller bug (the web app and CLI always pass one), never user input
        raise ConfigurationError("files were attached but no upload directory was given",
                                 hint="set SOP_UPLOADS (default: instance/uploads)")
    staging = storage.root / STAGING
    try:
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        log.error("attachment.no_directory: %s", exc.strerror or exc)
        raise StorageError("the attached files could not be saved; nothing was written") from None
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # attach runs inside the step's unit of work
    staged: list[_Staged] = session.info.setdefault(_PENDING, [])
    for item in items:
        target = storage.staged(item.stored_name)
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(item.file.content)
        except OSError as exc:
            target.unlink(missing_ok=True)
            log.error("attachment.write_failed case=%s: %s", case_id, exc.strerror or exc)
            raise StorageError("the attached files could not be saved; nothing was written") from None
        staged.append(_Staged(storage, item.stored_name, transaction))
        session.add(Attachment(
            key=item.key, case_id=case_id, seq=seq, field=item.field, name=item.file.name[:200],
            mime=item.file.mime, size=item.file.size, sha256=hashlib.sha256(item.file.content).hexdigest(),
            stored_name=item.stored_name, created_at=now,
        ))
    log_event(log, "attachment.staged", case=case_id, seq=seq, files=len(items))


@event.listens_for(Session, "after_commit")
def _placed(session: Session) -> None:
    for item in session.info.pop(_PENDING, ()):
        item.place()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    staged: list[_Staged] | None = session.info.get(_PENDING)
    if not staged:
        return
    keep = []
    for item in staged:
        if _within(item.transaction, previous):
            item.discard()
        else:
            keep.append(item)
    session.info[_PENDING] = keep


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """A session closed without commit or rollback: its staged files go too."""
    if transaction.parent is None and transaction.nested is False:
        for item in session.info.pop(_PENDING, ()):
            item.discard()


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


# -- downloads ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    name: str
    mime: str
    size: int
    path: Path


def _download(storage: Storage, row: Attachment) -> Download:
    path = storage.path(row.stored_name)
    if not path.is_file():
        log.error("attachment.missing attachment=%s case=%s", row.id, row.case_id)
        raise NotFound("the file is missing")  # `sop check-db` names it
    return Download(row.name, row.mime, row.size, path)


def _row(session: Session, key: str, case_id: int | None = None) -> Attachment:
    well_formed = len(key) == _KEY_LEN and all(c in "0123456789abcdef" for c in key)
    row = session.scalar(select(Attachment).where(Attachment.key == key)) if well_formed else None
    if row is None or (case_id is not None and row.case_id != case_id):
        raise NotFound("no such attachment")
    return row


def for_staff(session: Session, registry: Registry, storage: Storage, key: str, actor: Actor) -> Download:
    """The file, for someone the access policy lets see its case (NotFound otherwise, as for a case
    that does not exist); a file of an identifying field of an anonymous report only for those who
    see the identity."""
    from .cases import _visible_case  # the same check as the case page

    row = _row(session, key)
    case, engine = _visible_case(session, registry, row.case_id, actor)
    sop = engine.sop
    if row.field in sop.identity_fields() and not access.sees_identity(sop, actor, Privacy.of(case.data).anonymous):
        raise NotFound("no such attachment")
    log_event(log, "attachment.downloaded", case=case.id, attachment=row.id)
    return _download(storage, row)


def for_reporter(session: Session, registry: Registry, storage: Storage, code: str, key: str) -> Download:
    """The file, for whoever holds the report's tracking code, when the tracking page shows it: its
    field is public, the report is not confidential, and the file is the field's current value."""
    from .cases import engine_of, normalise_code

    normalised = normalise_code(code)
    case = session.scalar(select(Case).where(Case.tracking_code == normalised)) if normalised else None
    if case is None:
        raise NotFound("no report has this tracking code")
    row = _row(session, key, case.id)
    sop = engine_of(registry, case).sop
    public = {f.id for f in sop.public_fields() if f.type == "file"}
    current = case.data.get(row.field)
    shown = isinstance(current, list) and any(isinstance(r, dict) and r.get("key") == key for r in current)
    if row.field not in public or not shown or Privacy.of(case.data).confidential:
        raise NotFound("no such attachment")
    log_event(log, "attachment.downloaded", case=case.id, attachment=row.id, by="reporter")
    return _download(storage, row)


# -- sop check-db ---------------------------------------------------------------------------------
def problems(session: Session, storage: Storage, now: dt.datetime | None = None) -> list[str]:
    """Rows whose file is missing, files no row names, and staged files no transaction finished."""
    now = now or dt.datetime.now(dt.timezone.utc)
    found: list[str] = []
    rows = {stored: (aid, case_id) for aid, case_id, stored in
            session.execute(select(Attachment.id, Attachment.case_id, Attachment.stored_name))}
    on_disk: set[str] = set()
    if storage.root.is_dir():
        for sub in sorted(storage.root.iterdir()):
            if sub.name == STAGING or not sub.is_dir():
                continue
            on_disk.update(p.name for p in sub.iterdir() if p.is_file() and p.name[:2] == sub.name)
            found.extend(f"uploads: {p.relative_to(storage.root)} is not named by any attachment row"
                         for p in sorted(sub.iterdir()) if p.is_file() and p.name not in rows)
        staging = storage.root / STAGING
        if staging.is_dir():
            cutoff = time.time() - STALE_STAGED.total_seconds()
            for p in sorted(staging.iterdir()):
                if p.is_file() and p.stat().st_mtime < cutoff:
                    found.append(f"uploads: {p.relative_to(storage.root)} was staged but never saved or discarded")
    for stored, (aid, case_id) in sorted(rows.items(), key=lambda item: item[1]):
        if stored not in on_disk:
            found.append(f"attachment {aid} of case {case_id}: its file is missing from the upload directory")
    return found
