"""Every query the app makes, each scoped by the Slack team it belongs to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Approval,
    ChannelSettings,
    Draft,
    ProcessedRequest,
    Round,
    Variant,
    Vote,
    VoteReaction,
)

# Reads always see the database as it is now, not an object this session loaded before a
# compare-and-set UPDATE changed the row.
FRESH = {"populate_existing": True}


async def get_draft(session: AsyncSession, team_id: str, draft_id: int) -> Draft | None:
    return await session.scalar(
        select(Draft).where(Draft.team_id == team_id, Draft.id == draft_id).execution_options(**FRESH)
    )


async def lock_draft(session: AsyncSession, team_id: str, draft_id: int, *, shared: bool = False) -> None:
    """Hold a lock on the draft's row until the transaction ends (PostgreSQL; SQLite has one writer anyway).

    For read-then-decide steps that concurrent transactions take on one draft: once the lock is ours, the
    next statement sees what every earlier holder committed. ``FOR NO KEY UPDATE`` (one holder at a time;
    inserts that merely reference the draft are not held up), or with ``shared`` ``FOR SHARE`` (many holders,
    but none while someone holds or waits for the exclusive lock). Take it before any other lock.
    """
    await session.execute(
        select(Draft.id)
        .where(Draft.team_id == team_id, Draft.id == draft_id)
        .with_for_update(read=shared, key_share=not shared)
    )


async def channel_settings(session: AsyncSession, team_id: str, channel_id: str) -> ChannelSettings | None:
    """A channel's own settings, if anyone set any."""
    return await session.scalar(
        select(ChannelSettings)
        .where(ChannelSettings.team_id == team_id, ChannelSettings.channel_id == channel_id)
        .execution_options(**FRESH)
    )


async def set_draft_status(
    session: AsyncSession,
    team_id: str,
    draft_id: int,
    expected: str | tuple[str, ...],
    new: str,
    **values: Any,
) -> bool:
    """Compare-and-set: move the draft to ``new`` only if it is still in ``expected``.

    Two jobs finishing at once both ask; exactly one wins, on SQLite and PostgreSQL alike.
    """
    expected = (expected,) if isinstance(expected, str) else expected
    result = await session.execute(
        update(Draft)
        .where(Draft.team_id == team_id, Draft.id == draft_id, Draft.status.in_(expected))
        .values(status=new, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def variants_of(
    session: AsyncSession, team_id: str, draft_id: int, tier: str | None = None
) -> list[Variant]:
    query = select(Variant).where(Variant.team_id == team_id, Variant.draft_id == draft_id)
    if tier is not None:
        query = query.where(Variant.tier == tier)
    query = query.order_by(Variant.tier, Variant.number, Variant.version).execution_options(**FRESH)
    return list((await session.scalars(query)).all())


async def get_variant(
    session: AsyncSession, team_id: str, draft_id: int, tier: str, number: int, version: int = 1
) -> Variant | None:
    return await session.scalar(
        select(Variant)
        .where(
            Variant.team_id == team_id,
            Variant.draft_id == draft_id,
            Variant.tier == tier,
            Variant.number == number,
            Variant.version == version,
        )
        .execution_options(**FRESH)
    )


async def latest_of_tier(session: AsyncSession, team_id: str, draft_id: int, tier: str) -> Variant | None:
    """The draft's newest image of ``tier``: for the 2K, the review version under way."""
    return await session.scalar(
        select(Variant)
        .where(Variant.team_id == team_id, Variant.draft_id == draft_id, Variant.tier == tier)
        .order_by(Variant.id.desc())
        .limit(1)
        .execution_options(**FRESH)
    )


async def next_version(session: AsyncSession, draft_id: int, tier: str, number: int) -> int:
    """The version the next image of ``tier`` made from variant ``number`` gets (1 for the first)."""
    latest = await session.scalar(
        select(func.max(Variant.version)).where(
            Variant.draft_id == draft_id, Variant.tier == tier, Variant.number == number
        )
    )
    return int(latest or 0) + 1


async def approvers_of(session: AsyncSession, variant_id: int) -> tuple[str, ...]:
    """Who approved a review version, in the order they did."""
    rows = await session.scalars(
        select(Approval.approver_id).where(Approval.variant_id == variant_id).order_by(Approval.id)
    )
    return tuple(rows.all())


async def add_approval(session: AsyncSession, variant: Variant, approver: str) -> None:
    await session.execute(
        insert(Approval).values(
            team_id=variant.team_id, draft_id=variant.draft_id, variant_id=variant.id, approver_id=approver
        )
    )


async def variant_by_message(session: AsyncSession, team_id: str, channel: str, ts: str) -> Variant | None:
    """The image a Slack message shows: how a reaction finds what it votes for."""
    return await session.scalar(
        select(Variant).where(
            Variant.team_id == team_id, Variant.slack_channel == channel, Variant.slack_ts == ts
        )
    )


async def set_variant(session: AsyncSession, variant_id: int, expected_status: str, **values: Any) -> bool:
    """Update a variant only if it is still in ``expected_status`` (idempotent job steps)."""
    result = await session.execute(
        update(Variant).where(Variant.id == variant_id, Variant.status == expected_status).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_outcome(
    session: AsyncSession, variant_id: int, outcome: str, *, by: str, reason: str | None = None
) -> bool:
    """Record what became of a review version, once: False if something else became of it first."""
    result = await session.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.outcome.is_(None))
        .values(outcome=outcome, outcome_by=by, outcome_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def rounds_of(session: AsyncSession, team_id: str, draft_id: int) -> list[Round]:
    """A draft's rounds of 1K variants, first to latest."""
    query = select(Round).where(Round.team_id == team_id, Round.draft_id == draft_id).order_by(Round.number)
    return list(await session.scalars(query.execution_options(**FRESH)))


async def mark_shown(
    session: AsyncSession, variant_id: int, *, notice: bool, face: str, expected: str | None
) -> bool:
    """Keep what an image's message (or its lost-image notice) now shows, if it still shows ``expected``.

    False when another refresh recorded something meanwhile: then what Slack shows is unknown (the two
    updates may have landed in either order), so it is forgotten and the next refresh draws it again."""
    column = Variant.notice_shown if notice else Variant.shown
    result = await session.execute(
        update(Variant)
        .where(Variant.id == variant_id, column.is_(None) if expected is None else column == expected)
        .values({column.key: face})
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    await session.execute(update(Variant).where(Variant.id == variant_id).values({column.key: None}))
    return False


async def votes_of(session: AsyncSession, team_id: str, draft_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Vote.voter_id, Vote.variant_number).where(
            Vote.team_id == team_id, Vote.draft_id == draft_id, Vote.variant_number.is_not(None)
        )
    )
    return {voter: number for voter, number in rows.all() if number is not None}


async def get_vote(session: AsyncSession, team_id: str, draft_id: int, voter: str) -> Vote | None:
    """A person's vote row, locked for the rest of the transaction (PostgreSQL; SQLite is one writer)."""
    return await session.scalar(
        select(Vote)
        .where(Vote.team_id == team_id, Vote.draft_id == draft_id, Vote.voter_id == voter)
        .with_for_update()
        .execution_options(**FRESH)
    )


async def reactions_of(session: AsyncSession, team_id: str, draft_id: int, voter: str) -> list[VoteReaction]:
    """A person's vote reactions on a draft's variants, locked for the transaction (PostgreSQL)."""
    query = (
        select(VoteReaction)
        .where(
            VoteReaction.team_id == team_id, VoteReaction.draft_id == draft_id, VoteReaction.voter_id == voter
        )
        .with_for_update()
        .execution_options(**FRESH)
    )
    return list((await session.scalars(query)).all())


async def already_processed(session: AsyncSession, team_id: str, key: str) -> bool:
    """Whether a Slack delivery with this key (e.g. ``event:Ev123``) was handled before."""
    found = await session.scalar(
        select(ProcessedRequest.id).where(ProcessedRequest.team_id == team_id, ProcessedRequest.key == key)
    )
    return found is not None
