"""Database tables: published definitions, units, accounts, running cases and their history.

The *definition* table stores the exact YAML text of every published version, so a case always
runs under the rules it started with even after the file on disk is revised. A case is mutable
state guarded by an optimistic ``version`` column; history rows are only ever inserted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and hands back naive values; storing naive UTC and re-attaching the
    zone on the way out keeps the rest of the code free of "is this local or UTC?" guesses.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Definition(Base):
    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("sop_id", "version", name="uq_definitions_sop_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    source_path: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    # The definition format the text was written in (runner.definition.stored.FORMAT at publication):
    # a stored version is rebuilt as that format, never re-validated under newer rules.
    format: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    published_at: Mapped[dt.datetime]
    # New cases start on the newest version whose effective_from has come (None: from publication).
    effective_from: Mapped[dt.datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(64))
    # When the running cases of older versions were moved to this one (done once, when it takes effect).
    migrated_at: Mapped[dt.datetime | None]


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session's login token ("{id}:{epoch}"): bumping it (sign-out, disabling the
    # account) ends every session of this user, cookies copied earlier included.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Publishing SOPs and managing accounts: a capability of the application, never an SOP role.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where new work and escalations are emailed (services.outbox); None: this account gets no email.
    email: Mapped[str | None] = mapped_column(String(254))
    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_ids(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)

    @property
    def role_units(self) -> tuple[tuple[str, str], ...]:
        """The roles held in a unit of their own (not the account's ``unit_id``), as (role, unit)."""
        return tuple(sorted((r.role, r.unit_id) for r in self.roles if r.unit_id is not None))


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The unit this (unit-scoped) role is held in, when not the account's own unit: one person can be
    # operator of one OPD and verifier of another. NULL: the account's unit (users.unit_id).
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("sop_id", "flow", "period", name="uq_cases_scheduled_period"),
        Index("ix_cases_inbox", "definition_id", "state", "unit_id"),
        # Open cases only: lists of open cases stay as fast when finished ones pile up by the million.
        Index("ix_cases_open", "definition_id", "id", sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
        Index("ix_cases_due", "due_at", "id"),  # the case list sorted by due time, paged by keyset
        # Cases that can escalate (few): the escalation inboxes and `sop tick` find them by range.
        Index("ix_cases_escalate", "escalate_at", sqlite_where=text("escalate_at IS NOT NULL"),
              postgresql_where=text("escalate_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    sop_id: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    tracking_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    period: Mapped[str | None] = mapped_column(String(7))
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    updated_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime | None]
    due_advisory: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None]
    # A step on hold (Tunda): the clock stops at paused_at; resuming sets due_at from remaining_minutes.
    paused_at: Mapped[dt.datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(Text)
    remaining_minutes: Mapped[int | None] = mapped_column(Integer)
    # When the open step counts as escalated (due time + its escalate_after in working time), or None.
    escalate_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    definition: Mapped[Definition] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class CaseSearch(Base):
    """What staff search finds a case by (services.search_index writes it with the case, in the same
    flush): ``body`` is text anyone who may see the case may search, ``identity`` the reporter's
    identifying fields, searchable only by whom ``access.sees_identity`` allows for an anonymous
    report. The full-text indexes over these columns are the migration's (0009): on SQLite an FTS5
    table ``case_search_fts`` kept in step by triggers, on PostgreSQL GIN indexes on
    ``to_tsvector('simple', …)``; neither is expressible in this metadata."""

    __tablename__ = "case_search"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body: Mapped[str] = mapped_column(Text, default="")
    identity: Mapped[str] = mapped_column(Text, default="")


class HistoryEntry(Base):
    __tablename__ = "history"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_history_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int]
    at: Mapped[dt.datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    activity: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[dt.datetime | None]
    # The official a delegate (Plt/Plh) acted for: "Plh. Kadis: <actor_name>, atas nama <on_behalf_of>".
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    # Working minutes the step took since the entry before it (written with the step, for the recap).
    worked_minutes: Mapped[int | None] = mapped_column(Integer)


class Delegation(Base):
    """A role lent for a period (Plt/Plh): ``delegate`` acts as ``role`` (in ``unit``) from starts_at
    until ends_at, unless revoked. Rows are never deleted, so history can always name both people."""

    __tablename__ = "delegations"
    __table_args__ = (Index("ix_delegations_delegate", "delegate_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "plt" or "plh"
    role: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class Notice(Base):
    """The record that something happened once to a case (an escalation), one per (case, kind, key):
    the idempotency key of ``sop tick``. The emails it causes are ``outbox`` rows (OutboxMessage)."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("case_id", "kind", "key", name="uq_notices_case_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class Attachment(Base):
    """A file attached to a case by the step that wrote history row ``seq`` (``services.attachments``).

    The file lives outside the web root (``SOP_UPLOADS``) under ``stored_name``, a random name with
    nothing of what the sender typed; ``key`` (random too, and different) is what addresses use; the
    case's data and history refer to the row by ``key`` with the display name, type and size."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_case", "case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A per-user token for the JSON API (``services.tokens``). Only the SHA-256 of the secret is
    stored; ``prefix`` (its first characters) lets a person tell their tokens apart. Revoking sets
    ``revoked_at``; rows stay, so a log's token id always names one."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class OutboxMessage(Base):
    """One email to deliver, written in the transaction of the step that causes it (services.outbox).

    ``status``: pending (due at ``next_attempt_at``), sending (claimed by the worker holding ``claim``
    until ``claimed_until``), sent, or failed (gave up; ``last_error`` says why). The ``payload``
    holds the texts the message is made from, already in the recipient's language."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    lang: Mapped[str] = mapped_column(String(8))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
