"""web_rate_events (login and verification limits), web_session_epochs (revocable sessions)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_rate_events_key", "web_rate_events", ["key"])
    op.create_index("ix_web_rate_events_at", "web_rate_events", ["at"])
    op.create_table(
        "web_session_epochs",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("web_session_epochs")
    op.drop_index("ix_web_rate_events_at", table_name="web_rate_events")
    op.drop_index("ix_web_rate_events_key", table_name="web_rate_events")
    op.drop_table("web_rate_events")
