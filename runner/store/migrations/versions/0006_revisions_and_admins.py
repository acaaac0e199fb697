"""definitions.effective_from / published_by / migrated_at and users.is_admin: revisions and admins

A revision may be published ahead of the date it takes effect: new cases start on the newest
published version whose ``effective_from`` has come, and the running cases of older versions are
moved to it (``migrated_at`` records that this was done, so it is done once). ``published_by`` names
the admin (or "cli" / the start-up import). ``users.is_admin`` is the capability to publish SOPs and
manage accounts, kept apart from the SOPs' own roles so no definition can grant it.

Existing versions take effect when they were published.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("definitions", sa.Column("effective_from", sa.DateTime(), nullable=True))
    op.execute("UPDATE definitions SET effective_from = published_at")
    op.add_column("definitions", sa.Column("published_by", sa.String(64), nullable=True))
    op.add_column("definitions", sa.Column("migrated_at", sa.DateTime(), nullable=True))
    op.add_column("users", sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), as in 0004 and 0005.
    op.drop_column("users", "is_admin")
    op.drop_column("definitions", "migrated_at")
    op.drop_column("definitions", "published_by")
    op.drop_column("definitions", "effective_from")
