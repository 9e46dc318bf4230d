"""Accepted signed requests, so a replayed signature is refused across every ``draftbot serve``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accepted_requests",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_accepted_requests")),
    )
    op.create_index(op.f("ix_accepted_requests_expires_at"), "accepted_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_table("accepted_requests")
