"""Persistence: SQLAlchemy 2.0 models, engines and sessions, Alembic migrations."""

from .db import default_url, make_engine, read_only, session_factory, transaction, upgrade
from .conflicts import violates
from .models import ApiToken, Attachment, Base, Case, Definition, Delegation, HistoryEntry, Notice, OutboxMessage, Unit, User, UserRole

__all__ = [
    "ApiToken", "Attachment", "Base", "Case", "Definition", "Delegation", "HistoryEntry", "Notice", "OutboxMessage", "Unit", "User", "UserRole",
    "default_url", "make_engine", "read_only", "session_factory", "transaction", "upgrade", "violates",
]
