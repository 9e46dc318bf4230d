"""The schema, as typed ORM models. Status values are plain strings here; ``bot`` defines the enums."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so later Alembic migrations can refer to (and drop) them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; elsewhere the audit trail wants 64 bits.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite stores no offset and hands back naive datetimes, and comparing those with aware ones raises; so
    values are normalised to UTC going in and tagged as UTC coming out. Naive values (a bug) are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    destination_key: Mapped[str | None] = mapped_column(String(100))
    destination_name: Mapped[str] = mapped_column(String(200))
    ratio: Mapped[str] = mapped_column(String(16))  # "9:16"
    output_format: Mapped[str] = mapped_column(String(8))  # "jpeg" | "png"
    safe_zone: Mapped[str] = mapped_column(String(16), default="top")  # where a headline will go later
    n_variants: Mapped[int] = mapped_column(Integer)
    base_seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), default="generating")
    winner_index: Mapped[int | None] = mapped_column(Integer)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    parent_channel: Mapped[str | None] = mapped_column(String(64))
    parent_ts: Mapped[str | None] = mapped_column(String(32))  # the Slack parent message
    # The job attempt posting the parent message (storage.claims): one poster at a time.
    post_claim_job: Mapped[int | None] = mapped_column(Integer)
    post_claim_attempt: Mapped[int | None] = mapped_column(Integer)
    hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Who moved it on, for what the thread says ("Picked #3 by @ann", "Approved by @kim").
    upgraded_by: Mapped[str | None] = mapped_column(String(64))
    winner_picked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # a tie pick
    decided_by: Mapped[str | None] = mapped_column(String(64))  # approved or rejected the review
    tie_asked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When voting closes by itself (`--vote 2h`, or the default window), and why the review was rejected.
    vote_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # What the channel's settings said when it was drafted: brand notes added to every prompt, and the
    # provider and quality it is made with (None: the workspace's).
    brand_notes: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[str | None] = mapped_column(String(16))
    # The team's own image its first round is made from (Draft from this image): blob key, type, Slack file.
    reference_key: Mapped[str | None] = mapped_column(String(255))
    reference_type: Mapped[str | None] = mapped_column(String(64))
    reference_file: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChannelSettings(Base):
    """A channel's own settings; each None falls back to the workspace's (the environment)."""

    __tablename__ = "channel_settings"
    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    approvers: Mapped[list[str] | None] = mapped_column(JSON)  # Slack user ids
    approver_groups: Mapped[list[str] | None] = mapped_column(JSON)  # Slack user group ids (S…)
    owners: Mapped[list[str] | None] = mapped_column(JSON)  # who besides workspace admins may change these
    required_approvals: Mapped[int | None] = mapped_column(Integer)
    allow_self_approval: Mapped[bool | None] = mapped_column(Boolean)
    default_destination: Mapped[str | None] = mapped_column(String(100))
    default_variants: Mapped[int | None] = mapped_column(Integer)
    vote_window_seconds: Mapped[int | None] = mapped_column(Integer)
    brand_notes: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[str | None] = mapped_column(String(16))
    monthly_budget_usd: Mapped[float | None] = mapped_column(Float)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HomeTab(Base):
    """Someone who opened the bot's App Home: only their Home is refreshed when a draft changes, and at the
    page of their drafts they last chose."""

    __tablename__ = "home_tabs"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    page: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Variant(Base):
    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("draft_id", "tier", "index", "version"),
        # Maps an emoji reaction on a Slack message back to its variant.
        Index("ix_variants_slack_message", "team_id", "slack_channel", "slack_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(8))  # "1K" | "2K" | "4K"
    number: Mapped[int] = mapped_column("index", Integer)  # 1-based, as shown to people
    # A 2K: its review version (v1; v2 after Request changes…). A 4K: 1 the final, 2… its other shapes.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), default="pending")
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    # The measured size of what we stored, never what the provider claimed.
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(Integer)
    blob_key: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(64))
    cost_estimate_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    fit_note: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # The round of 1K variants it belongs to, and the prompt it was made with (None: the draft's first).
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    prompt: Mapped[str | None] = mapped_column(Text)
    # The image a variant was made from: the winner of a 2K/4K, the source of a More-like-this variant.
    source_variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    # The change request a review version answers; what became of a review (changes_requested, rejected,
    # approved), by whom and why.
    feedback: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_by: Mapped[str | None] = mapped_column(String(64))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    # A final's own shape ("Also as…"); None: the draft's.
    ratio: Mapped[str | None] = mapped_column(String(16))
    destination_key: Mapped[str | None] = mapped_column(String(100))
    destination_name: Mapped[str | None] = mapped_column(String(200))
    # How far its composition moved from the 1K it came from (0 same … 1 unrelated); None: not measured.
    drift: Mapped[float | None] = mapped_column(Float)
    # The preview posted in Slack (guides overlaid), when it is not the clean stored image.
    preview_key: Mapped[str | None] = mapped_column(String(255))
    # When image retention (bot.retention) deleted its image and preview from the blob store; the row stays.
    image_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A side-by-side shown with it (v1 beside v2; the 1K beside a drifted upgrade), and what it compares.
    compare_file: Mapped[str | None] = mapped_column(String(64))
    compare_label: Mapped[str | None] = mapped_column(String(64))
    # The reminder posted in the thread about a review no approver decided.
    reminder_ts: Mapped[str | None] = mapped_column(String(32))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_file_id: Mapped[str | None] = mapped_column(String(64))
    # What the image's message shows (bot.faces): it is updated when the draft's state changes that.
    shown: Mapped[str | None] = mapped_column(String(64))
    # The thread message telling that this image was lost (failed or refused), and what it shows.
    notice_ts: Mapped[str | None] = mapped_column(String(32))
    notice_shown: Mapped[str | None] = mapped_column(String(64))
    # The job attempt posting this image's message (storage.claims): one poster at a time.
    post_claim_job: Mapped[int | None] = mapped_column(Integer)
    post_claim_attempt: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Round(Base):
    """One round of 1K variants in a draft's thread: the first (the command), or one started later."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    reason: Mapped[str] = mapped_column(String(32))  # draft | more_like_this | new_round | edit_prompt
    prompt: Mapped[str] = mapped_column(Text)
    source_number: Mapped[int | None] = mapped_column(Integer)  # the 1K variant it was made from
    started_by: Mapped[str] = mapped_column(String(64))
    first_number: Mapped[int] = mapped_column(Integer)  # its variants are first_number ... + size - 1
    size: Mapped[int] = mapped_column(Integer)
    # Its contact sheet in Slack, once every variant settled, and the variants it shows (a late one: again).
    sheet_file: Mapped[str | None] = mapped_column(String(64))
    sheet_numbers: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Approval(Base):
    """One approver's yes to one review version; the 4K starts when enough distinct approvers said it."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("variant_id", "approver_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    approver_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vote(Base):
    __tablename__ = "votes"
    # One vote per person per draft: a new vote moves it.
    __table_args__ = (UniqueConstraint("draft_id", "voter_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    voter_id: Mapped[str] = mapped_column(String(64))
    # Derived from the person's vote_reactions; None when they have no vote (the row stays).
    variant_number: Mapped[int | None] = mapped_column(Integer)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VoteReaction(Base):
    """One person's vote emoji on one variant: when Slack says it was last added and last removed.

    Events arrive late, twice or out of order; keeping the latest times per variant makes the vote the same
    whatever the order (see ``bot.workflow.current_vote``).
    """

    __tablename__ = "vote_reactions"
    __table_args__ = (UniqueConstraint("draft_id", "voter_id", "variant_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    voter_id: Mapped[str] = mapped_column(String(64))
    variant_number: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[str | None] = mapped_column(String(32))  # Slack event_ts
    removed_at: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """Append-only: nothing updates or deletes these rows, and database triggers refuse it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    # Deliberately not a foreign key: the trail must outlive (and never cascade with) the draft it tells of.
    draft_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "draftbot" / "system"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Job(Base):
    """A durable unit of slow work; see :mod:`storage.jobqueue` for its life cycle."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # jobqueue.ASAP: due at once
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set only while queued: claiming releases it, so the same work may be asked for again while it runs.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when the job has been waiting out an outage (Slack or the database away): its outage budget.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedRequest(Base):
    """A Slack request (event id, action id...) already handled, so retried deliveries are dropped."""

    __tablename__ = "processed_requests"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AcceptedRequest(Base):
    """A signed HTTP request already accepted (see :mod:`storage.replays`), kept until its signature expires.

    ``key`` is the hex sha256 of the request's timestamp and signature; replaying them is refused.
    """

    __tablename__ = "accepted_requests"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OrgTeam(Base):
    """A workspace of an Enterprise Grid organisation, as its requests name it: a job has only its draft's
    team, and finds the token of an org-wide (or an org's workspace) installation through this. The
    installations themselves are slack_sdk's tables (``slack_installations``, ``slack_bots``)."""

    __tablename__ = "slack_org_teams"

    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64))
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean)


class TeamErasure(Base):
    """A team whose data is being erased, only for as long as the erasing transaction runs: while its row
    is here, the audit trail lets that team's events be deleted (see migration 0014)."""

    __tablename__ = "team_erasures"

    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
