"""history is append-only: the database itself refuses UPDATE and DELETE on history rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

The application never changes a history row, but a stray script or a bug might; an audit trail is
only worth something if the database enforces it.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE = "history is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$;
        """)
        op.execute("""CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
                      FOR EACH ROW EXECUTE FUNCTION history_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER history_no_{event.lower()} BEFORE {event} ON history
                           BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER history_append_only ON history")
        op.execute("DROP FUNCTION history_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER history_no_{event}")
