"""The failure policy: what a refused image, or a job that gave up, means for its draft, and who is told.

A lost 1K variant may still leave voting to open (or fail the draft when it was the last); a lost 2K review
or 4K final fails the draft. Either way the parent is refreshed and the thread says why.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import SYSTEM, AuditKind, record_for
from bot.drafts.moves import move_draft
from bot.generation.lookup import image_of
from bot.generation.posting import ask_to_post, settle_variants
from bot.generation.sheets import sheet_when_settled
from bot.jobs import Doorbell, JobKind, enqueue
from bot.providers.base import Refused
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState
from storage import queries
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Variant

log = logging.getLogger(__name__)


class Failures:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        doorbell: Doorbell,
        *,
        max_attempts: int,
    ) -> None:
        self.sessions = sessions
        self.doorbell = doorbell
        self.max_attempts = max_attempts

    async def refused(self, draft: Draft, variant: Variant, refusal: Refused) -> None:
        """The provider's safety system refused the image: record it, settle the draft, say why."""
        what = Tier(variant.tier).image_name(variant.number)
        category = f" (category: {refusal.category})" if refusal.category else ""
        text = (
            f"{what} was refused by {refusal.provider or 'the provider'}'s safety system{category}: "
            f"{refusal.message} Edit the prompt and try again with a new `/draft`."
        )
        async with self.sessions.begin() as session:
            if not await queries.set_variant(
                session, variant.id, VariantState.PENDING, status=VariantState.REFUSED, error=text
            ):
                return
            record_for(
                session,
                draft,
                AuditKind.GENERATION_REFUSED,
                SYSTEM,
                tier=variant.tier,
                number=variant.number,
                provider=refusal.provider,
                category=refusal.category,
                stage=refusal.stage,
                message=refusal.message,
            )
            await self._after_variant_lost(session, draft, variant, text)
        self.doorbell.ring()

    async def give_up(self, job: ClaimedJob, reason: str) -> None:
        """The job runner ran out of attempts (or met a permanent error): record it and say so."""
        if "draft_id" not in job.payload:  # a job of no draft (a Home's publish): nothing of a draft to fail
            log.warning("job %s (%s) gave up: %s", job.id, job.kind, reason)
            return
        async with self.sessions.begin() as session:
            draft = await queries.get_draft(session, job.team_id, int(str(job.payload["draft_id"])))
            if draft is None:
                return
            if job.kind in (JobKind.GENERATE, JobKind.POST):
                tier, number, version = image_of(job)
                variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number, version)
                if variant is None or VariantState(variant.status).is_settled:
                    return
                text = f"{tier.image_name(number)} could not be made: {reason}"
                await queries.set_variant(
                    session, variant.id, variant.status, status=VariantState.FAILED, error=text
                )
                record_for(
                    session,
                    draft,
                    AuditKind.GENERATION_FAILED,
                    SYSTEM,
                    tier=tier,
                    number=number,
                    version=version,
                    reason=reason,
                    attempts=job.attempts,
                )
                await self._after_variant_lost(session, draft, variant, text)
            elif job.kind == JobKind.ANNOUNCE:
                text = f"The draft could not be posted: {reason}"
                if await move_draft(
                    session,
                    draft,
                    DraftStatus.GENERATING,
                    DraftStatus.FAILED,
                    failure_reason=text,
                ):
                    record_for(
                        session,
                        draft,
                        AuditKind.DRAFT_FAILED,
                        SYSTEM,
                        reason=reason,
                    )
                return
            else:
                log.warning("job %s (%s) for draft %s gave up: %s", job.id, job.kind, draft.id, reason)
                return
        self.doorbell.ring()

    async def _after_variant_lost(
        self, session: AsyncSession, draft: Draft, lost: Variant, text: str
    ) -> None:
        """Settle the draft, and say in the thread what was lost (a job: it survives a crash, and waits for
        the parent message when there is none yet). A lost final in another shape (Also as…) leaves the
        draft final: only its notice is posted."""
        tier = Tier(lost.tier)
        if tier is Tier.EXPLORE:
            await settle_variants(session, draft, max_attempts=self.max_attempts)
            await sheet_when_settled(session, draft, lost.round, self.max_attempts)
        else:
            stage = DraftStatus.REVIEWING if tier is Tier.REVIEW else DraftStatus.APPROVED
            if await move_draft(session, draft, stage, DraftStatus.FAILED, failure_reason=text):
                record_for(
                    session,
                    draft,
                    AuditKind.DRAFT_FAILED,
                    SYSTEM,
                    reason=text,
                )
        await ask_to_post(session, draft, lost, self.max_attempts)
        await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
