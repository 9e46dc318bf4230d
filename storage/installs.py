"""What draftbot keeps about its installations beside slack_sdk's own tables: the Enterprise Grid
organisation of each workspace that has sent a request from one (see :mod:`bot.slack_workspaces`)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OrgTeam


async def org_of(sessions: async_sessionmaker[AsyncSession], team_id: str) -> OrgTeam | None:
    async with sessions() as session:
        return await session.get(OrgTeam, team_id)


async def remember_org(
    sessions: async_sessionmaker[AsyncSession], team_id: str, enterprise_id: str, *, org_wide: bool
) -> None:
    """Record (or correct) the organisation ``team_id`` belongs to and whether the org installed the app."""
    async with sessions() as session, session.begin():
        row = await session.get(OrgTeam, team_id, with_for_update=True)
        if row is None:
            session.add(OrgTeam(team_id=team_id, enterprise_id=enterprise_id, is_enterprise_install=org_wide))
        else:
            row.enterprise_id, row.is_enterprise_install = enterprise_id, org_wide
    return None


async def remember_org_once(
    sessions: async_sessionmaker[AsyncSession], team_id: str, enterprise_id: str, *, org_wide: bool
) -> None:
    """:func:`remember_org`, where two processes may record the same new team at once (one wins)."""
    try:
        await remember_org(sessions, team_id, enterprise_id, org_wide=org_wide)
    except IntegrityError:
        await remember_org(sessions, team_id, enterprise_id, org_wide=org_wide)


async def forget_org(session: AsyncSession, team_id: str) -> None:
    row = await session.get(OrgTeam, team_id)
    if row is not None:
        await session.delete(row)


__all__ = ["forget_org", "org_of", "remember_org", "remember_org_once"]
