"""Initial schema: drafts, variants, votes, audit events (append-only), jobs, processed requests.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from storage.models: a migration must keep meaning what it meant.
SLACK_ID = sa.String(64)
TIMESTAMP = sa.DateTime(timezone=True)
BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY_MESSAGE = "audit_events is append-only"


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("requester_id", SLACK_ID, nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("destination_key", sa.String(100), nullable=True),
        sa.Column("destination_name", sa.String(200), nullable=False),
        sa.Column("ratio", sa.String(16), nullable=False),
        sa.Column("output_format", sa.String(8), nullable=False),
        sa.Column("safe_zone", sa.String(16), nullable=False),
        sa.Column("n_variants", sa.Integer(), nullable=False),
        sa.Column("base_seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("winner_index", sa.Integer(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("parent_channel", SLACK_ID, nullable=True),
        sa.Column("parent_ts", sa.String(32), nullable=True),
        sa.Column("hints", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index(op.f("ix_drafts_team_id"), "drafts", ["team_id"])

    op.create_table(
        "variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("blob_key", sa.String(255), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("cost_estimate_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("fit_note", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source_variant_id", sa.Integer(), nullable=True),
        sa.Column("slack_channel", SLACK_ID, nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("slack_file_id", SLACK_ID, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_variants_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_variant_id"],
            ["variants.id"],
            name=op.f("fk_variants_source_variant_id_variants"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("draft_id", "tier", "index", name=op.f("uq_variants_draft_id_tier_index")),
    )
    op.create_index(op.f("ix_variants_team_id"), "variants", ["team_id"])
    op.create_index(op.f("ix_variants_draft_id"), "variants", ["draft_id"])
    op.create_index("ix_variants_slack_message", "variants", ["team_id", "slack_channel", "slack_ts"])

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("voter_id", SLACK_ID, nullable=False),
        sa.Column("variant_number", sa.Integer(), nullable=True),
        sa.Column("cast_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_votes_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("draft_id", "voter_id", name=op.f("uq_votes_draft_id_voter_id")),
    )
    op.create_index(op.f("ix_votes_team_id"), "votes", ["team_id"])

    op.create_table(
        "vote_reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("voter_id", SLACK_ID, nullable=False),
        sa.Column("variant_number", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.String(length=32), nullable=True),
        sa.Column("removed_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote_reactions")),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_vote_reactions_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "draft_id",
            "voter_id",
            "variant_number",
            name=op.f("uq_vote_reactions_draft_id_voter_id_variant_number"),
        ),
    )
    op.create_index(op.f("ix_vote_reactions_team_id"), "vote_reactions", ["team_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", SLACK_ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_team_id"), "audit_events", ["team_id"])
    op.create_index(op.f("ix_audit_events_draft_id"), "audit_events", ["draft_id"])
    op.create_index(op.f("ix_audit_events_kind"), "audit_events", ["kind"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_jobs_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index(op.f("ix_jobs_team_id"), "jobs", ["team_id"])
    op.create_index(op.f("ix_jobs_run_after"), "jobs", ["run_after"])
    op.create_index("ix_jobs_status_run_after", "jobs", ["status", "run_after"])

    op.create_table(
        "processed_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_requests")),
        sa.UniqueConstraint("team_id", "key", name=op.f("uq_processed_requests_team_id_key")),
    )
    op.create_index(op.f("ix_processed_requests_team_id"), "processed_requests", ["team_id"])

    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END; $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        raise NotImplementedError(f"no append-only trigger for {dialect}; add one before supporting it")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    # SQLite drops a table's triggers with the table.
    for table in (
        "processed_requests",
        "jobs",
        "audit_events",
        "vote_reactions",
        "votes",
        "variants",
        "drafts",
    ):
        op.drop_table(table)
