"""Full-text search over cases (SQLite FTS5, PostgreSQL tsvector)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# SQLite: an FTS5 table over case_search (external content: the text is stored once), kept in step
# by triggers, so every write of a case_search row — by the ORM listener of services.search_index or
# by hand — updates the full-text index in the same transaction. unicode61 with diacritics removed
# folds "é" to "e"; no stemming, as on PostgreSQL's 'simple' configuration.
_SQLITE = [
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(body, identity, content='case_search', "
    "content_rowid='case_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, body, identity) VALUES (new.case_id, new.body, new.identity); END",
    "CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body, identity) "
    "VALUES ('delete', old.case_id, old.body, old.identity); END",
    "CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body, identity) "
    "VALUES ('delete', old.case_id, old.body, old.identity); "
    "INSERT INTO case_search_fts(rowid, body, identity) VALUES (new.case_id, new.body, new.identity); END",
]
# PostgreSQL: the two expressions services.search matches, each with its GIN index ('simple': no
# English stemming of Indonesian words). The second one is used only where the searcher may see
# the reporter's identity.
_POSTGRES = [
    "CREATE INDEX ix_case_search_body ON case_search USING gin (to_tsvector('simple', body))",
    "CREATE INDEX ix_case_search_all ON case_search USING gin "
    "(to_tsvector('simple', body || ' ' || identity))",
]


def upgrade() -> None:
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
    )
    # The due-soonest sort of the case list pages by (due_at, id) without sorting every case.
    op.create_index("ix_cases_due", "cases", ["due_at", "id"], unique=False)
    bind = op.get_bind()
    for statement in _SQLITE if bind.dialect.name == "sqlite" else _POSTGRES if bind.dialect.name == "postgresql" \
            else []:
        op.execute(statement)
    from runner.services.search_index import backfill  # the cases already there (needs their definitions)

    backfill(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("case_search_ai", "case_search_ad", "case_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    op.drop_index("ix_cases_due", table_name="cases")
    op.drop_table("case_search")  # PostgreSQL drops its GIN indexes with it
