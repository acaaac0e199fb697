"""Attachments: files of a case's fields

- ``attachments``: one row per file a step attached (``type: file`` fields). The bytes live in the
  upload directory (``SOP_UPLOADS``) under ``stored_name``; ``key`` addresses the file in links and
  in the case's data. ``(case_id, seq)`` is the history row of the step that attached it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_attachments_case", "attachments", ["case_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_attachments_case", table_name="attachments")
    op.drop_table("attachments")
