"""Erasing one team's data on request: every row that names the team, its installation included, in one
transaction; the images go after it commits (see :mod:`bot.teams`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import CursorResult, MetaData, delete, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AcceptedRequest,
    Approval,
    AuditEvent,
    ChannelSettings,
    Draft,
    HomeTab,
    Job,
    OrgTeam,
    ProcessedRequest,
    Round,
    TeamErasure,
    Variant,
    Vote,
    VoteReaction,
)

_SLACK = MetaData()
_STORE = AsyncSQLAlchemyInstallationStore
INSTALLATIONS = _STORE.build_installations_table(_SLACK, _STORE.default_installations_table_name)
BOTS = _STORE.build_bots_table(_SLACK, _STORE.default_bots_table_name)

# Children before parents; the audit trail last of the team's own rows.
_TEAM_TABLES: tuple[Any, ...] = (
    Vote,
    VoteReaction,
    Approval,
    Job,
    Variant,
    Round,
    Draft,
    ChannelSettings,
    HomeTab,
    ProcessedRequest,
    AcceptedRequest,
    OrgTeam,
    AuditEvent,
)


async def image_keys(session: AsyncSession, team_id: str) -> set[str]:
    """Every blob key the team's drafts and variants name."""
    query = union(
        select(Variant.blob_key).where(Variant.team_id == team_id, Variant.blob_key.is_not(None)),
        select(Variant.preview_key).where(Variant.team_id == team_id, Variant.preview_key.is_not(None)),
        select(Draft.reference_key).where(Draft.team_id == team_id, Draft.reference_key.is_not(None)),
    )
    return {str(key) for key in (await session.execute(query)).scalars()}


async def still_used(session: AsyncSession, keys: set[str]) -> set[str]:
    """Those of ``keys`` that a draft or variant (of any team) still names: the same bytes, stored once."""
    if not keys:
        return set()
    listed = list(keys)
    query = union(
        select(Variant.blob_key).where(Variant.blob_key.in_(listed)),
        select(Variant.preview_key).where(Variant.preview_key.in_(listed)),
        select(Draft.reference_key).where(Draft.reference_key.in_(listed)),
    )
    return {str(key) for key in (await session.execute(query)).scalars()}


async def erase_team(session: AsyncSession, team_id: str, *, by: str, now: datetime) -> dict[str, int]:
    """In the caller's transaction: delete every row of ``team_id``; the number deleted, by table."""
    session.add(TeamErasure(team_id=team_id, requested_by=by, started_at=now))
    await session.flush()
    counts: dict[str, int] = {}
    for model in _TEAM_TABLES:
        counts[model.__tablename__] = await _delete(session, delete(model).where(model.team_id == team_id))
    for table in (INSTALLATIONS, BOTS):
        counts[table.name] = await _delete(session, delete(table).where(table.c.team_id == team_id))
    await session.execute(delete(TeamErasure).where(TeamErasure.team_id == team_id))
    return {name: n for name, n in counts.items() if n}


async def _delete(session: AsyncSession, statement: Any) -> int:
    result = cast(
        "CursorResult[Any]", await session.execute(statement.execution_options(synchronize_session=False))
    )
    return int(result.rowcount)
