"""Post claims: which job attempt is posting a message, so that only one ever does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_ID = sa.Integer()  # as jobs.id


def upgrade() -> None:
    for table in ("variants", "drafts"):
        op.add_column(table, sa.Column("post_claim_job", JOB_ID, nullable=True))
        op.add_column(table, sa.Column("post_claim_attempt", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ("variants", "drafts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("post_claim_attempt")
            batch.drop_column("post_claim_job")
