"""Rounds: a draft explores in several rounds of 1K variants in one thread, numbered across the draft.

Each round keeps who started it, why, its prompt and the variant it was made from (More like this); each
variant keeps its round and the prompt it was made with. Existing drafts get their first round.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("source_number", sa.Integer(), nullable=True),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("first_number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_rounds_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("draft_id", "number", name=op.f("uq_rounds_draft_id_number")),
    )
    op.create_index(op.f("ix_rounds_team_id"), "rounds", ["team_id"])
    op.add_column("variants", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("variants", sa.Column("prompt", sa.Text(), nullable=True))
    op.execute(
        "INSERT INTO rounds (team_id, draft_id, number, reason, prompt, started_by, first_number, size, "
        "created_at) SELECT team_id, id, 1, 'draft', prompt, requester_id, 1, n_variants, created_at "
        "FROM drafts"
    )


def downgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        batch.drop_column("prompt")
        batch.drop_column("round")
    op.drop_index(op.f("ix_rounds_team_id"), table_name="rounds")
    op.drop_table("rounds")
