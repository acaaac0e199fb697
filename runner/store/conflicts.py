"""Telling a lost race from any other integrity error.

Two people acting on a case at once both try to insert history row ``seq = version + 1``; the loser
hits ``uq_history_case_seq``. That, and only that, is a conflict the user can resolve by reloading.
Any other integrity error (a foreign key, a NOT NULL) is a fault to log, not a race to report.
PostgreSQL names the violated constraint; SQLite names its columns, which we derive from the model.
"""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError

from .models import Base


def _sqlite_message(constraint: str) -> str | None:
    for table in Base.metadata.tables.values():
        for c in table.constraints:
            if isinstance(c, UniqueConstraint) and c.name == constraint:
                return f"UNIQUE constraint failed: {', '.join(f'{table.name}.{col.name}' for col in c.columns)}"
    return None


def violates(exc: IntegrityError, constraint: str) -> bool:
    """Whether ``exc`` is a violation of the unique constraint named ``constraint``."""
    diag = getattr(exc.orig, "diag", None)  # psycopg
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return bool(name == constraint)
    expected = _sqlite_message(constraint)
    return expected is not None and expected in str(exc.orig)
