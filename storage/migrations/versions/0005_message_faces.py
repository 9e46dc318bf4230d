"""What each thread message shows (to update those whose controls no longer apply), who decided, the tie.

Also: who moved a draft on (for "Approved by @kim"), whether a tie was put to the requester, and the thread
message that tells of a lost image.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("drafts", sa.Column("upgraded_by", sa.String(64), nullable=True))
    op.add_column(
        "drafts", sa.Column("winner_picked", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("drafts", sa.Column("decided_by", sa.String(64), nullable=True))
    op.add_column("drafts", sa.Column("tie_asked", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("variants", sa.Column("shown", sa.String(64), nullable=True))
    op.add_column("variants", sa.Column("notice_ts", sa.String(32), nullable=True))
    op.add_column("variants", sa.Column("notice_shown", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        for column in ("notice_shown", "notice_ts", "shown"):
            batch.drop_column(column)
    with op.batch_alter_table("drafts") as batch:
        for column in ("tie_asked", "decided_by", "winner_picked", "upgraded_by"):
            batch.drop_column(column)
