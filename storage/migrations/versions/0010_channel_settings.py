"""Channel settings: who approves (people and Slack user groups), how many approvals, self-approval, the
channel's defaults, brand notes, provider and quality, and a monthly budget; and the brand notes, provider
and quality a draft was made with (kept on the draft, so a later change of the settings does not change it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=True),
        sa.Column("approver_groups", sa.JSON(), nullable=True),
        sa.Column("owners", sa.JSON(), nullable=True),
        sa.Column("required_approvals", sa.Integer(), nullable=True),
        sa.Column("allow_self_approval", sa.Boolean(), nullable=True),
        sa.Column("default_destination", sa.String(100), nullable=True),
        sa.Column("default_variants", sa.Integer(), nullable=True),
        sa.Column("vote_window_seconds", sa.Integer(), nullable=True),
        sa.Column("brand_notes", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("quality", sa.String(16), nullable=True),
        sa.Column("monthly_budget_usd", sa.Float(), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_settings")),
        sa.UniqueConstraint("team_id", "channel_id", name=op.f("uq_channel_settings_team_id_channel_id")),
    )
    op.add_column("drafts", sa.Column("brand_notes", sa.Text(), nullable=True))
    op.add_column("drafts", sa.Column("provider", sa.String(32), nullable=True))
    op.add_column("drafts", sa.Column("quality", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("quality")
        batch.drop_column("provider")
        batch.drop_column("brand_notes")
    op.drop_table("channel_settings")
