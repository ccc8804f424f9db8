"""timers as database rows

Revision ID: 0006_timers
Revises: 0005_github_login_pending
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_timers"
down_revision = "0005_github_login_pending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timer",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("deadline", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("fired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_timer_run_at"), "timer", ["run_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_timer_run_at"), table_name="timer")
    op.drop_table("timer")
