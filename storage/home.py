"""The queries behind a person's App Home and the `/draft status` and `history` commands, each scoped by
the Slack team it belongs to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Draft, HomeTab, Variant, Vote

FRESH = {"populate_existing": True}


async def opened(session: AsyncSession, team_id: str, user_id: str, at: datetime) -> int:
    """Note that ``user_id`` opened the Home (now, or again); the page of their drafts they are on."""
    tab = await session.scalar(
        select(HomeTab)
        .where(HomeTab.team_id == team_id, HomeTab.user_id == user_id)
        .execution_options(**FRESH)
    )
    if tab is not None:
        tab.opened_at = at
        return tab.page
    try:
        async with session.begin_nested():
            session.add(HomeTab(team_id=team_id, user_id=user_id, page=0, opened_at=at))
    except IntegrityError:  # opened twice at once: the other insert stands
        pass
    return 0


async def set_page(session: AsyncSession, team_id: str, user_id: str, page: int) -> None:
    await session.execute(
        update(HomeTab).where(HomeTab.team_id == team_id, HomeTab.user_id == user_id).values(page=page)
    )


async def page_of(session: AsyncSession, team_id: str, user_id: str) -> int | None:
    """The page of drafts someone's Home shows, or None if they never opened it."""
    return await session.scalar(
        select(HomeTab.page).where(HomeTab.team_id == team_id, HomeTab.user_id == user_id)
    )


async def homes_of(session: AsyncSession, team_id: str, users: Collection[str] | None) -> list[str]:
    """Of ``users`` (None: everyone), who opened the Home, so has one to refresh."""
    query = select(HomeTab.user_id).where(HomeTab.team_id == team_id)
    if users is not None:
        query = query.where(HomeTab.user_id.in_(sorted(users)))
    return list(await session.scalars(query.order_by(HomeTab.user_id)))


async def voters_of(session: AsyncSession, team_id: str, draft_id: int) -> set[str]:
    rows = await session.scalars(
        select(Vote.voter_id).where(Vote.team_id == team_id, Vote.draft_id == draft_id)
    )
    return set(rows)


async def drafters_in(session: AsyncSession, team_id: str, channel_id: str) -> set[str]:
    """Everyone who drafted in a channel: its finals are on their Home."""
    rows = await session.scalars(
        select(Draft.requester_id).where(Draft.team_id == team_id, Draft.channel_id == channel_id).distinct()
    )
    return set(rows)


async def channels_of(session: AsyncSession, team_id: str, user_id: str) -> list[str]:
    """The channels someone drafted in."""
    rows = await session.scalars(
        select(Draft.channel_id).where(Draft.team_id == team_id, Draft.requester_id == user_id).distinct()
    )
    return sorted(rows)


async def in_status(
    session: AsyncSession, team_id: str, status: str, *, requester: str | None = None, limit: int = 200
) -> list[Draft]:
    """Drafts in ``status`` (of ``requester``, if given), newest first."""
    query = select(Draft).where(Draft.team_id == team_id, Draft.status == status)
    if requester is not None:
        query = query.where(Draft.requester_id == requester)
    query = query.order_by(Draft.id.desc()).limit(limit)
    return list(await session.scalars(query.execution_options(**FRESH)))


def _drafts(
    team_id: str, *, requester: str | None, channel: str | None, since: datetime | None
) -> Select[Any]:
    query = select(Draft).where(Draft.team_id == team_id)
    if requester is not None:
        query = query.where(Draft.requester_id == requester)
    if channel is not None:
        query = query.where(Draft.channel_id == channel)
    if since is not None:
        query = query.where(Draft.created_at >= since)
    return query


async def drafts(
    session: AsyncSession,
    team_id: str,
    *,
    requester: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[Draft], int]:
    """A page of drafts, newest first, and how many there are in all."""
    query = _drafts(team_id, requester=requester, channel=channel, since=since)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = (
        query.order_by(Draft.created_at.desc(), Draft.id.desc())
        .offset(offset)
        .limit(limit)
        .execution_options(**FRESH)
    )
    return list(await session.scalars(page)), int(total or 0)


async def latest_in(session: AsyncSession, team_id: str, channel_id: str) -> Draft | None:
    """The newest draft in a channel (what `/draft status` with no id is about)."""
    found, _ = await drafts(session, team_id, channel=channel_id, limit=1)
    return found[0] if found else None


async def finals_in(
    session: AsyncSession, team_id: str, channels: Collection[str], *, limit: int
) -> tuple[list[tuple[Draft, Variant | None]], int]:
    """The newest final drafts in ``channels`` with each one's 4K final (its first shape), and how many."""
    if not channels:
        return [], 0
    query = select(Draft).where(
        Draft.team_id == team_id, Draft.status == "final", Draft.channel_id.in_(sorted(channels))
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    found = list(await session.scalars(query.order_by(Draft.id.desc()).limit(limit)))
    finals: dict[int, Variant] = {}
    if found:
        rows = await session.scalars(
            select(Variant).where(
                Variant.team_id == team_id,
                Variant.draft_id.in_([d.id for d in found]),
                Variant.tier == "4K",
                Variant.version == 1,
            )
        )
        finals = {v.draft_id: v for v in rows}
    return [(d, finals.get(d.id)) for d in found], int(total or 0)
