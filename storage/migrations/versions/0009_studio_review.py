"""Studio review: versions of the 2K review (Request changes), decisions with reasons, several approvals,
voting deadlines and review reminders, finals in other shapes, and the composition drift of each upgrade.

- ``variants.version``: a 2K's review version of its variant (v1, v2 after Request changes); a 4K's 1 for
  the final, 2… for the same final in other shapes ("Also as…"). Unique with draft, tier and number.
- ``variants.feedback``: the change request a review version answers; ``outcome``/``outcome_by``/
  ``outcome_reason``: what became of a review (changes requested, rejected, approved).
- ``variants.ratio``/``destination_key``/``destination_name``: a final's own shape (None: the draft's).
- ``variants.drift``: how far the image's composition moved from the 1K it came from (0 to 1).
- ``variants.preview_key``: the preview posted in Slack (guides overlaid) when it is not the clean image.
- ``variants.compare_file``/``compare_label``: a side-by-side shown with it (v1 beside v2, 1K beside a drift).
- ``variants.reminder_ts``: the reminder posted about a review nobody decided.
- ``drafts.vote_deadline``: when voting closes by itself; ``drafts.decision_reason``: why it was rejected.
- ``approvals``: one row per approver and review version.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VARIANT_COLUMNS: list[sa.Column[object]] = [
    sa.Column("feedback", sa.Text(), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("outcome_by", sa.String(64), nullable=True),
    sa.Column("outcome_reason", sa.Text(), nullable=True),
    sa.Column("ratio", sa.String(16), nullable=True),
    sa.Column("destination_key", sa.String(100), nullable=True),
    sa.Column("destination_name", sa.String(200), nullable=True),
    sa.Column("drift", sa.Float(), nullable=True),
    sa.Column("preview_key", sa.String(255), nullable=True),
    sa.Column("compare_file", sa.String(64), nullable=True),
    sa.Column("compare_label", sa.String(64), nullable=True),
    sa.Column("reminder_ts", sa.String(32), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        for column in _VARIANT_COLUMNS:
            batch.add_column(column)
        batch.drop_constraint("uq_variants_draft_id_tier_index", type_="unique")
        batch.create_unique_constraint(
            "uq_variants_draft_id_tier_index_version", ["draft_id", "tier", "index", "version"]
        )
    op.add_column("drafts", sa.Column("vote_deadline", sa.DateTime(timezone=True), nullable=True))
    op.add_column("drafts", sa.Column("decision_reason", sa.Text(), nullable=True))
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_approvals_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_approvals_variant_id_variants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("variant_id", "approver_id", name=op.f("uq_approvals_variant_id_approver_id")),
    )
    op.create_index(op.f("ix_approvals_team_id"), "approvals", ["team_id"])
    op.create_index(op.f("ix_approvals_draft_id"), "approvals", ["draft_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_draft_id"), table_name="approvals")
    op.drop_index(op.f("ix_approvals_team_id"), table_name="approvals")
    op.drop_table("approvals")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("decision_reason")
        batch.drop_column("vote_deadline")
    with op.batch_alter_table("variants") as batch:
        batch.drop_constraint("uq_variants_draft_id_tier_index_version", type_="unique")
        batch.create_unique_constraint("uq_variants_draft_id_tier_index", ["draft_id", "tier", "index"])
        for column in reversed(_VARIANT_COLUMNS):
            batch.drop_column(column.name)
        batch.drop_column("version")
