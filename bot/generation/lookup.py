"""What a generation job is about: its draft and its image, read for the job at hand."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import PermanentFailure
from bot.tiers import Tier
from storage import queries
from storage.jobqueue import ClaimedJob
from storage.models import Draft


def image_of(job: ClaimedJob) -> tuple[Tier, int, int]:
    """The tier, number and version of the image a generate (or post) job is about."""
    version = int(str(job.payload.get("version", 1)))  # jobs queued before versions existed: the first
    return Tier(str(job.payload["tier"])), int(str(job.payload["number"])), version


async def draft_of(session: AsyncSession, job: ClaimedJob) -> Draft:
    draft = await queries.get_draft(session, job.team_id, int(str(job.payload["draft_id"])))
    if draft is None:
        raise PermanentFailure(f"draft {job.payload['draft_id']} does not exist in team {job.team_id}")
    return draft


async def reloaded(session: AsyncSession, draft: Draft) -> Draft:
    """The draft as this session sees it now, after compare-and-set updates that bypass the ORM."""
    fresh = await session.get(Draft, draft.id, populate_existing=True)
    if fresh is None:
        raise PermanentFailure(f"draft {draft.id} disappeared")
    return fresh
