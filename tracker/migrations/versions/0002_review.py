"""review mode: a meeting's review state, deadline, default and review message

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

review_state = sa.Enum("pending", "approved", "expired", name="reviewstate")
review_default = sa.Enum("file", "drop", name="reviewdefault")


def upgrade() -> None:
    # PostgreSQL keeps enums as named types, which add_column does not create (SQLite has none: a no-op there).
    bind = op.get_bind()
    review_state.create(bind, checkfirst=True)
    review_default.create(bind, checkfirst=True)
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_state", review_state, nullable=True))
        batch_op.add_column(sa.Column("review_deadline", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("review_default", review_default, nullable=True))
        batch_op.add_column(sa.Column("review_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("review_message_id")
        batch_op.drop_column("review_default")
        batch_op.drop_column("review_deadline")
        batch_op.drop_column("review_state")
    bind = op.get_bind()
    review_default.drop(bind, checkfirst=True)
    review_state.drop(bind, checkfirst=True)
