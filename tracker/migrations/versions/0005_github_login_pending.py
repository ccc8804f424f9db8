"""a GitHub login claimed with /link github waits for an organizer's confirmation

Revision ID: 0005_github_login_pending
Revises: 0004_projects
Create Date: 2026-12-05 17:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_github_login_pending"
down_revision = "0004_projects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("github_login_pending", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("github_login_pending")
