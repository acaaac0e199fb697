"""Time and people: acting officials, paused steps, notices, and working time per step

- ``delegations``: a holder of a role (or an admin) lets another account act in that role, in that
  unit, for a period (Plt/Plh). The access policy reads the active ones; nothing is ever deleted
  (``revoked_at`` ends one early), so history can always say who acted for whom.
- ``history.on_behalf_of``: the name of the official a delegate acted for ("atas nama").
- ``history.worked_minutes``: the working time the step took (from the previous entry), written with
  the step so the monthly recap aggregates it in SQL instead of walking calendars per row.
- ``cases.paused_at`` / ``pause_reason`` / ``remaining_minutes``: a step on hold (*Tunda*); the clock
  stops, and resuming sets the due time from the working time that was left.
- ``cases.escalate_at``: when the open step's overdue time reaches its ``escalate_after`` (computed with
  the due time), so the escalation roles' inboxes find escalated cases in SQL with no process running.
- ``notices``: messages queued for delivery (an escalation, an answer ready). Unique per case, kind
  and key, so ``sop tick`` run any number of times queues each notice once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),  # "plt" or "plh"
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(64), sa.ForeignKey("units.id"), nullable=True),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("delegate_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_delegations_delegate", "delegations", ["delegate_id", "ends_at"])
    op.add_column("history", sa.Column("on_behalf_of", sa.String(200), nullable=True))
    op.add_column("history", sa.Column("worked_minutes", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("paused_at", sa.DateTime(), nullable=True))
    op.add_column("cases", sa.Column("pause_reason", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("remaining_minutes", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("escalate_at", sa.DateTime(), nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("case_id", "kind", "key", name="uq_notices_case_kind_key"),
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_column("cases", "escalate_at")
    op.drop_column("cases", "remaining_minutes")
    op.drop_column("cases", "pause_reason")
    op.drop_column("cases", "paused_at")
    op.drop_column("history", "worked_minutes")
    op.drop_column("history", "on_behalf_of")
    op.drop_index("ix_delegations_delegate", table_name="delegations")
    op.drop_table("delegations")
