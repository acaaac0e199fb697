"""The stored versions of every SOP, for the admin pages: the list, one version, and a diff of two.

The list is one query whatever the number of versions or cases: every ``definitions`` row (without
its text) with the number of its open cases, counted by an outer join and GROUP BY. Which version is
*current* (the one new cases start on) is the publishing service's rule, asked once per page.

The diff compares the stored texts line by line (difflib's unified diff) and the two definitions by
meaning (``definition.compare``); both versions are rebuilt as trusted history
(``definition.stored``), never re-validated, so an old version always diffs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..definition import Problem, Sop
from ..definition.compare import Comparison, compare
from ..errors import NotFound
from ..registry import Registry
from ..store import Case, Definition
from .publishing import current_sops, engine_of_row


_SOP_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")  # the schema's id pattern, within the column's length


@dataclass(frozen=True)
class VersionRow:
    definition_id: int
    sop_id: str
    version: str
    title: str
    source_path: str
    published_at: dt.datetime
    published_by: str | None
    effective_from: dt.datetime | None
    live_cases: int
    current: bool = False
    previous_id: int | None = None  # the version of the same SOP published before this one

    @property
    def short(self) -> str:
        return self.version[:12]


@dataclass(frozen=True)
class SopVersions:
    sop_id: str
    title: str  # the newest version's title
    versions: tuple[VersionRow, ...]  # newest first

    @property
    def live_cases(self) -> int:
        return sum(v.live_cases for v in self.versions)


def current_versions(session: Session, registry: Registry, now: dt.datetime | None = None) -> set[str]:
    """The version hashes new cases start on now, one per SOP (the publishing service's rule)."""
    return {sop.version for sop in current_sops(session, registry, now).values()}


def sop_versions(session: Session, registry: Registry, sop_id: str | None = None,
                 now: dt.datetime | None = None) -> list[SopVersions]:
    """Every SOP (or only ``sop_id``) with its stored versions, newest first, and their open cases."""
    live = func.count(Case.id)
    columns = (Definition.id, Definition.sop_id, Definition.version, Definition.title, Definition.source_path,
               Definition.published_at, Definition.published_by, Definition.effective_from)
    stmt = (select(*columns, live)
            .outerjoin(Case, and_(Case.definition_id == Definition.id, Case.closed_at.is_(None)))
            .group_by(*columns)
            .order_by(Definition.sop_id, Definition.published_at.desc(), Definition.id.desc()))
    if sop_id is not None:
        if not _SOP_ID.fullmatch(sop_id):  # no SOP has such an id (and a NUL must not reach PostgreSQL)
            raise NotFound(f"no SOP '{sop_id[:64]}' is published")
        stmt = stmt.where(Definition.sop_id == sop_id)
    current = current_versions(session, registry, now)
    grouped: dict[str, list[VersionRow]] = {}
    for d_id, s_id, version, title, path, published_at, by, effective, count in session.execute(stmt):
        grouped.setdefault(s_id, []).append(VersionRow(d_id, s_id, version, title, path, published_at, by, effective,
                                                       int(count), version in current))
    out = []
    for s_id, rows in grouped.items():
        linked = tuple(VersionRow(**{**r.__dict__, "previous_id": rows[i + 1].definition_id if i + 1 < len(rows)
                                     else None}) for i, r in enumerate(rows))
        out.append(SopVersions(s_id, rows[0].title, linked))
    if sop_id is not None and not out:
        raise NotFound(f"no SOP '{sop_id}' is published")
    return out


@dataclass(frozen=True)
class Line:
    """One numbered line of a definition's text, with the problems found at it (a check's)."""

    no: int
    text: str
    problems: tuple[Problem, ...] = ()


def numbered(text: str) -> list[Line]:
    return [Line(i, t) for i, t in enumerate(text.splitlines() or [""], start=1)]


@dataclass(frozen=True)
class VersionDetail:
    row: VersionRow
    source: str
    sop: Sop

    @property
    def lines_numbered(self) -> list[Line]:
        return numbered(self.source)


_MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL: beyond it, no such version


def _row(session: Session, definition_id: int) -> Definition:
    row = session.get(Definition, definition_id) if 0 < definition_id <= _MAX_ID else None
    if row is None:
        raise NotFound(f"no definition version {definition_id}")
    return row


def version_detail(session: Session, registry: Registry, definition_id: int) -> VersionDetail:
    """One stored version: its listing row (with the version before it), text and definition.

    StoredVersionError when its stored text cannot be read at all (the web answers 503)."""
    row = _row(session, definition_id)
    for versions in sop_versions(session, registry, row.sop_id):
        for v in versions.versions:
            if v.definition_id == definition_id:
                return VersionDetail(v, row.source, engine_of_row(registry, row).sop)
    raise NotFound(f"no definition version {definition_id}")  # pragma: no cover - the row was just read


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "same" or "hunk" (an @@ line saying where the next lines are)
    text: str
    old_no: int | None = None
    new_no: int | None = None

    @property
    def mark(self) -> str:
        return {"added": "+", "removed": "-", "same": " ", "hunk": "@@"}[self.kind]


@dataclass(frozen=True)
class VersionDiff:
    old: VersionRow
    new: VersionRow
    lines: tuple[DiffLine, ...]
    summary: Comparison
    unified: str  # the plain unified diff, for a download or a terminal

    @property
    def added(self) -> int:
        return sum(1 for d in self.lines if d.kind == "added")

    @property
    def removed(self) -> int:
        return sum(1 for d in self.lines if d.kind == "removed")


def diff_lines(old: str, new: str, context: int = 3) -> tuple[DiffLine, ...]:
    """The unified diff of two texts as numbered lines, each marked added, removed or unchanged."""
    out: list[DiffLine] = []
    a, b = old.splitlines(), new.splitlines()
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine("same", a[i], i + 1, j1 + k + 1) for k, i in enumerate(range(i1, i2)))
                continue
            out.extend(DiffLine("removed", a[i], i + 1, None) for i in range(i1, i2))
            out.extend(DiffLine("added", b[j], None, j + 1) for j in range(j1, j2))
    return tuple(out)


def diff_versions(session: Session, registry: Registry, old_id: int, new_id: int) -> VersionDiff:
    """The line diff and the summary of changes from version ``old_id`` to version ``new_id``."""
    old_detail = version_detail(session, registry, old_id)
    new_detail = version_detail(session, registry, new_id)
    unified = "".join(difflib.unified_diff(
        old_detail.source.splitlines(keepends=True), new_detail.source.splitlines(keepends=True),
        fromfile=f"{old_detail.row.sop_id}@{old_detail.row.short}", tofile=f"{new_detail.row.sop_id}@{new_detail.row.short}"))
    return VersionDiff(old_detail.row, new_detail.row, diff_lines(old_detail.source, new_detail.source),
                       compare(old_detail.sop, new_detail.sop), unified)


__all__ = ["DiffLine", "Line", "numbered", "SopVersions", "VersionDetail", "VersionDiff", "VersionRow", "current_versions", "diff_lines",
           "diff_versions", "sop_versions", "version_detail"]
