"""Each round's contact sheet: the Slack file showing its variants side by side, and which variants it shows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rounds", sa.Column("sheet_file", sa.String(64), nullable=True))
    op.add_column("rounds", sa.Column("sheet_numbers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("sheet_numbers")
        batch.drop_column("sheet_file")
