"""The one way a draft changes status, for the people's actions and the jobs alike."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.workflow import DraftStatus, transition
from storage import queries
from storage.models import Draft


async def move_draft(
    session: AsyncSession, draft: Draft, expected: DraftStatus, new: DraftStatus, **values: object
) -> bool:
    """The one way a draft changes status: a move the state machine allows (anything else is a developer
    error and raises), made as a compare-and-set, so of two concurrent moves exactly one wins."""
    transition(expected, new)
    return await queries.set_draft_status(session, draft.team_id, draft.id, expected, new, **values)
