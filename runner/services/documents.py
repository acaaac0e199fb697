"""The official document of a stored version, and a case's path on its SOP's flowchart (the case map).

The document page answers for a *stored* version (a ``definitions`` row), not for the file on disk:
what an official prints for a case must be the procedure that case runs under, even after the YAML
was revised. The case map marks what a case's history says it went through; it is computed here so
the view only passes it to the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definition import Sop
from ..document import Highlight, flowchart_svgs
from ..errors import NotFound
from ..registry import Registry
from ..store import Case, Definition, HistoryEntry
from .publishing import engine_of_row

_MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL

__all__ = ["StoredSop", "case_map", "case_path", "stored_sop"]


@dataclass(frozen=True)
class StoredSop:
    definition_id: int
    sop: Sop
    published_at: str

    @property
    def filename(self) -> str:
        """A download's name: the SOP id and the first 12 hex digits of its version (ASCII only)."""
        return f"{self.sop.id}-{self.sop.version[:12]}"


def stored_sop(session: Session, registry: Registry, definition_id: int) -> StoredSop:
    """The stored version ``definition_id`` rebuilt as a Sop. ``NotFound`` for an id with no row
    (or outside the column's range); ``StoredVersionError`` when its text cannot be read."""
    row = session.get(Definition, definition_id) if 0 < definition_id <= _MAX_ID else None
    if row is None:
        raise NotFound(f"no stored definition {definition_id}")
    return StoredSop(row.id, engine_of_row(registry, row).sop, row.published_at.isoformat())


def case_path(session: Session, case: Case) -> Highlight:
    """Where ``case`` has been: every state its history entered or left, every move it made (a move
    from ``None`` is its opening), and the state it is in now."""
    moves = session.execute(select(HistoryEntry.from_state, HistoryEntry.to_state)
                            .where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq)).all()
    visited = {to for _f, to in moves} | {f for f, _t in moves if f is not None}
    return Highlight(current=case.state, visited=frozenset(visited - {case.state}),
                     taken=frozenset((f, t) for f, t in moves))


def case_map(session: Session, case: Case, sop: Sop, locale: str | None = None) -> list[str]:
    """The compact flowchart of the case's flow (No, Kegiatan and the roles), one ``<svg>`` element,
    with its path and current step marked by classes and by ``▶`` / ``✓`` in the No column."""
    return flowchart_svgs(sop, flow_id=case.flow, locale=locale, compact=True, highlight=case_path(session, case),
                          xmlns=False)
