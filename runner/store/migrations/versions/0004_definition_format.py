"""definitions.format: the definition format each stored version was written in

Stored versions are trusted history: a case's version is rebuilt as the format it was published in,
never re-validated by a newer, stricter loader. Every version published so far is format 1.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("definitions", sa.Column("format", sa.Integer(), nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    op.drop_column("definitions", "format")
