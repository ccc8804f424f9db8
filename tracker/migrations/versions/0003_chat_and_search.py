"""follow-through: the call's chat, full-text search, items reported done, issue updates in the outbox

Revision ID: 0003_chat_and_search
Revises: 0002
Create Date: 2026-12-05 16:40:00

SQLite: an FTS5 table `search_fts` over search_doc (external content, porter stemming), kept in step by triggers.
PostgreSQL: a generated tsvector column `search_tsv` (to_tsvector('english', text)) with a GIN index. Neither is in tracker/models.py (tracker/db.py's
`include_object` leaves them out of the model comparison). Existing transcripts and minutes summaries are indexed
here; `wgbot search --reindex` rebuilds everything.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_chat_and_search"
down_revision = "0002"
branch_labels = None
depends_on = None

FTS_TRIGGERS = [
    """CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN
        INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN
        INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN
        INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text);
    END""",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # SQLite stores the enum as text
        op.execute("ALTER TYPE publicationkind ADD VALUE IF NOT EXISTS 'issue_update'")
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_in_meeting_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("done_note", sa.Text(), nullable=True))

    op.create_table(
        "chat_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("discord_message_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("author_discord_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("posted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("edited_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("discord_message_id"),
    )
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_message_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_message_author_discord_id"), ["author_discord_id"], unique=False)

    op.create_table(
        "search_doc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("speaker", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("author_discord_id", sa.BigInteger(), nullable=True),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("search_doc", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_doc_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_doc_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_doc_author_discord_id"), ["author_discord_id"], unique=False)

    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_doc', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        for trigger in FTS_TRIGGERS:
            op.execute(trigger)
    elif bind.dialect.name == "postgresql":
        # Stored, so ranking reads the vector instead of parsing every matching text again.
        op.execute(
            "ALTER TABLE search_doc ADD COLUMN search_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        op.execute("CREATE INDEX search_doc_tsv ON search_doc USING gin (search_tsv)")

    # What is already stored: the transcript lines and the minutes' summaries.
    op.execute(
        "INSERT INTO search_doc (meeting_id, kind, ref_id, speaker, member_id, start, text) "
        "SELECT meeting_id, 'transcript', id, speaker, member_id, start, text FROM transcript_segment"
    )
    op.execute(
        "INSERT INTO search_doc (meeting_id, kind, text) "
        "SELECT meeting_id, 'minutes', summary FROM minutes WHERE summary <> ''"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("search_doc_ai", "search_doc_ad", "search_doc_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_doc_tsv")
    with op.batch_alter_table("search_doc", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_doc_author_discord_id"))
        batch_op.drop_index(batch_op.f("ix_search_doc_member_id"))
        batch_op.drop_index(batch_op.f("ix_search_doc_meeting_id"))
    op.drop_table("search_doc")
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_message_author_discord_id"))
        batch_op.drop_index(batch_op.f("ix_chat_message_meeting_id"))
    op.drop_table("chat_message")
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_column("done_note")
        batch_op.drop_column("done_in_meeting_id")
    # PostgreSQL cannot drop an enum value; 'issue_update' stays in the type, unused.
