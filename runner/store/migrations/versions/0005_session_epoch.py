"""users.session_epoch: signing out and disabling an account end every session of that user

A session's login token is "{user id}:{session_epoch}"; bumping the number makes every token issued
before it (a cookie copied before sign-out, the session of an account being disabled) worthless.
Existing accounts start at 0, so sessions made before this migration (token without an epoch) are
simply asked to sign in again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("session_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), as in 0004: a batch rebuild of `users` would drop the table
    # that user_roles cascades from.
    op.drop_column("users", "session_epoch")
