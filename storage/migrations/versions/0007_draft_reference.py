"""A draft's own reference image (Draft from this image): where it is stored, its type and its Slack file.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("drafts", sa.Column("reference_key", sa.String(255), nullable=True))
    op.add_column("drafts", sa.Column("reference_type", sa.String(64), nullable=True))
    op.add_column("drafts", sa.Column("reference_file", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        for column in ("reference_file", "reference_type", "reference_key"):
            batch.drop_column(column)
