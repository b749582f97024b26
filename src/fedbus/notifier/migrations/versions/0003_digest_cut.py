"""destinations.digest_cut: digests resumed after a crash with the same items

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("destinations") as batch_op:
        batch_op.add_column(sa.Column("digest_cut", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("destinations") as batch_op:
        batch_op.drop_column("digest_cut")
