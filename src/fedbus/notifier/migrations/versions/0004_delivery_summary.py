"""deliveries.topic, .summary, .url: what each notification was about (the web UI lists it)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: the rows written before stay as they are (the UI shows their message id)
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("url")
        batch_op.drop_column("summary")
        batch_op.drop_column("topic")
