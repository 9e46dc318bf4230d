"""The App Home: who opened it (their Home is refreshed when a draft they care about changes) and the page
of their drafts they are on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_tabs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("page", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_tabs")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_home_tabs_team_id_user_id")),
    )


def downgrade() -> None:
    op.drop_table("home_tabs")
