"""What was spent: sums of the audit trail's generation events (their ``cost_estimate_usd``), by team,
channel, person and tier, over a span of time. The trail is the one record of spend, so `/draft spend`,
`draftbot spend` and the budget checks agree with `draftbot audit export` by construction.

A generation's channel and person are its draft's (``audit_events.draft_id`` → ``drafts``): the channel
it was drafted in and the person who asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Float, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, ChannelSettings, Draft, Variant

GENERATION = "generation"  # bot.audit.AuditKind.GENERATION (storage does not import the bot)
PENDING = "pending"  # bot.workflow.VariantState.PENDING
# Drafts whose pending images will not be made (their jobs were dropped or gave up).
_ENDED = ("cancelled", "failed", "rejected")


def _cost() -> ColumnElement[float]:
    return cast(AuditEvent.details["cost_estimate_usd"].as_float(), Float)


def _generations(team_id: str, since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [
        AuditEvent.team_id == team_id,
        AuditEvent.kind == GENERATION,
        AuditEvent.at >= since,
        AuditEvent.at < until,
    ]


async def spent_usd(
    session: AsyncSession, team_id: str, *, since: datetime, until: datetime, channel_id: str | None = None
) -> float:
    """The estimated cost of everything generated for ``team_id`` (in ``channel_id``, when given)."""
    query = select(func.coalesce(func.sum(_cost()), 0.0)).where(*_generations(team_id, since, until))
    if channel_id is not None:
        query = query.join(Draft, and_(Draft.id == AuditEvent.draft_id, Draft.team_id == team_id)).where(
            Draft.channel_id == channel_id
        )
    return float(await session.scalar(query) or 0.0)


@dataclass(frozen=True)
class SpentRow:
    channel_id: str  # "" when the draft is not known
    user_id: str
    tier: str
    images: int
    usd: float


async def spend_rows(
    session: AsyncSession, team_id: str, *, since: datetime, until: datetime
) -> list[SpentRow]:
    """Generated images and their cost, grouped by channel, person (the requester) and tier."""
    tier = AuditEvent.details["tier"].as_string()
    query = (
        select(
            Draft.channel_id, Draft.requester_id, tier, func.count(), func.coalesce(func.sum(_cost()), 0.0)
        )
        .select_from(AuditEvent)
        .outerjoin(Draft, and_(Draft.id == AuditEvent.draft_id, Draft.team_id == AuditEvent.team_id))
        .where(*_generations(team_id, since, until))
        .group_by(Draft.channel_id, Draft.requester_id, tier)
    )
    return [
        SpentRow(channel or "", user or "", str(tier_of or "?"), int(count), float(cost))
        for channel, user, tier_of, count, cost in (await session.execute(query)).all()
    ]


@dataclass(frozen=True)
class PendingImages:
    """Images asked for and not made yet, of one provider, quality, ratio and tier."""

    provider: str | None
    quality: str | None
    ratio: str
    tier: str
    images: int


async def pending_images(
    session: AsyncSession, team_id: str, *, channel_id: str | None = None
) -> list[PendingImages]:
    """What is on its way (queued, not yet in the trail), so two requests close together can't both take
    what is left of a budget."""
    ratio = func.coalesce(Variant.ratio, Draft.ratio)
    query = (
        select(Draft.provider, Draft.quality, ratio, Variant.tier, func.count())
        .select_from(Variant)
        .join(Draft, and_(Draft.id == Variant.draft_id, Draft.team_id == Variant.team_id))
        .where(Variant.team_id == team_id, Variant.status == PENDING, Draft.status.not_in(_ENDED))
        .group_by(Draft.provider, Draft.quality, ratio, Variant.tier)
    )
    if channel_id is not None:
        query = query.where(Draft.channel_id == channel_id)
    return [
        PendingImages(provider, quality, str(shape), str(tier), int(count))
        for provider, quality, shape, tier, count in (await session.execute(query)).all()
    ]


async def teams_with_spend(session: AsyncSession, *, since: datetime, until: datetime) -> list[str]:
    """Every team that generated something in the span (for the CLI, which serves every workspace)."""
    query = (
        select(AuditEvent.team_id)
        .where(AuditEvent.kind == GENERATION, AuditEvent.at >= since, AuditEvent.at < until)
        .distinct()
        .order_by(AuditEvent.team_id)
    )
    return list((await session.scalars(query)).all())


async def channel_budgets(session: AsyncSession, team_id: str) -> dict[str, float]:
    """Every channel of ``team_id`` with a monthly budget of its own, and that budget in USD."""
    rows = await session.execute(
        select(ChannelSettings.channel_id, ChannelSettings.monthly_budget_usd).where(
            ChannelSettings.team_id == team_id, ChannelSettings.monthly_budget_usd.is_not(None)
        )
    )
    return {channel: float(budget) for channel, budget in rows.all() if budget is not None}
