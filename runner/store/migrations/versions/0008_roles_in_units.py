"""Each role of a person in its own unit (user_roles.unit_id)

A unit-scoped role was held in the account's one unit (users.unit_id). With ``user_roles.unit_id`` a
role can be held in a unit of its own, so one person can be the operator of one OPD and act in
another role for a second one. NULL keeps the old meaning (the account's unit), so existing rows
need no change.

Also ``ix_cases_escalate``: a partial index on ``cases.escalate_at`` (set only at steps that escalate),
so the escalation inboxes and ``sop tick`` find escalated cases by range at a million cases.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_roles") as batch:
        batch.add_column(sa.Column("unit_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_user_roles_unit_id_units", "units", ["unit_id"], ["id"])
    op.create_index("ix_cases_escalate", "cases", ["escalate_at"], unique=False,
                    sqlite_where=sa.text("escalate_at IS NOT NULL"), postgresql_where=sa.text("escalate_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_cases_escalate", table_name="cases")
    with op.batch_alter_table("user_roles") as batch:
        batch.drop_constraint("fk_user_roles_unit_id_units", type_="foreignkey")
        batch.drop_column("unit_id")
