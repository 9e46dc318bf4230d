"""Publishing: the parent message, each image in its thread, and what a posted image settles (voting opens,
the draft is final); the parent is refreshed after each.

Handlers here are idempotent: they read the state first and skip what is already posted.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import draft_card, image_card
from bot.drafts.moves import move_draft
from bot.errors import RetryLater
from bot.generation.lookup import draft_of
from bot.jobs import Doorbell, JobKind, enqueue
from bot.publisher import DraftCard, Publisher
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState, after_variants_settled
from storage import queries
from storage.blobs import BlobStore
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Variant

log = logging.getLogger(__name__)

PARENT_WAIT_SECONDS, PARENT_WAIT_STEPS = 3.0, 30

_POSTED = {
    Tier.EXPLORE: AuditKind.VARIANT_POSTED,
    Tier.REVIEW: AuditKind.REVIEW_POSTED,
    Tier.FINAL: AuditKind.FINAL_POSTED,
}


class Poster:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        publisher: Publisher,
        doorbell: Doorbell,
        *,
        max_attempts: int,
    ) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.publisher = publisher
        self.doorbell = doorbell
        self.max_attempts = max_attempts

    async def announce(self, job: ClaimedJob) -> None:
        async with self.sessions() as session:
            draft = await draft_of(session, job)
            if draft.parent_ts:
                return
            card = await draft_card(session, draft)
        ref = await self.publisher.post_parent(card, retry=job.attempts > 1)
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            draft.parent_channel, draft.parent_ts = ref.channel, ref.ts
            record_for(
                session,
                draft,
                AuditKind.DRAFT_ANNOUNCED,
                SYSTEM,
                channel=ref.channel,
                ts=ref.ts,
            )
            # Variants finished before the parent existed could not say so on it.
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        self.doorbell.ring()

    async def refresh(self, job: ClaimedJob) -> None:
        async with self.sessions() as session:
            draft = await draft_of(session, job)
            if not draft.parent_ts:
                return  # announce posts the newest state and queues a refresh of its own
            card = await draft_card(session, draft)
        await self.publisher.update_parent(card)

    async def post_image(self, job: ClaimedJob, tier: Tier, number: int) -> None:
        """Post a generated image in the draft's thread and settle what it settles."""
        ready = await self._ready_to_post(job, tier, number)
        if ready is None:
            return
        card, variant = ready
        async with self.sessions() as session:
            draft = await draft_of(session, job)
        image = image_card(draft, variant)
        data = await self.blobs.get(str(variant.blob_key))
        ref = await self.publisher.post_image(card, image, data, retry=job.attempts > 1)
        async with self.sessions.begin() as session:
            posted = await queries.set_variant(
                session,
                variant.id,
                VariantState.GENERATED,
                status=VariantState.POSTED,
                slack_channel=ref.channel,
                slack_ts=ref.ts,
                slack_file_id=ref.file_id,
            )
            if not posted:
                return
            draft = await draft_of(session, job)
            record_for(
                session,
                draft,
                _POSTED[tier],
                SYSTEM,
                tier=tier,
                number=number,
                channel=ref.channel,
                ts=ref.ts,
                file_id=ref.file_id,
            )
            if tier is Tier.EXPLORE:
                await settle_variants(session, draft)
            elif tier is Tier.FINAL:
                await move_draft(session, draft, DraftStatus.APPROVED, DraftStatus.FINAL)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        if tier is Tier.EXPLORE:
            try:
                await self.publisher.invite_votes(ref)
            except Exception:  # a convenience: people can still add the reaction themselves
                log.warning("could not add the vote emoji to variant %s of draft %s", number, job.payload)
        self.doorbell.ring()

    async def _ready_to_post(
        self, job: ClaimedJob, tier: Tier, number: int
    ) -> tuple[DraftCard, Variant] | None:
        """The draft and the stored image, once the parent exists to thread under; None if already posted."""
        for waited in range(PARENT_WAIT_STEPS + 1):
            async with self.sessions() as session:
                draft = await draft_of(session, job)
                variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number)
                if variant is None or variant.status != VariantState.GENERATED or not variant.blob_key:
                    return None
                if draft.parent_ts:
                    return await draft_card(session, draft), variant
            # A fast image can be ready before the announce job has posted the parent it threads under.
            if waited < PARENT_WAIT_STEPS:
                await asyncio.sleep(PARENT_WAIT_SECONDS / PARENT_WAIT_STEPS)
        raise RetryLater("waiting for the parent message", retry_after=1.0)


async def settle_variants(session: AsyncSession, draft: Draft) -> None:
    """When the last 1K variant settles (posted, refused or failed), open voting, or fail the draft if none
    made it."""
    # Variants settling at once (PostgreSQL) would each see the others unsettled and nobody would open
    # voting: take turns, so the last to get the lock sees every other variant settled.
    await queries.lock_draft(session, draft.team_id, draft.id)
    explore = await queries.variants_of(session, draft.team_id, draft.id, Tier.EXPLORE)
    outcome = after_variants_settled(VariantState(v.status) for v in explore)
    if outcome is None:
        return
    reason = None if outcome is DraftStatus.VOTING else "no variant could be generated"
    values = {"failure_reason": reason} if reason else {}
    if await move_draft(session, draft, DraftStatus.GENERATING, outcome, **values):
        kind = AuditKind.VOTING_OPENED if outcome is DraftStatus.VOTING else AuditKind.DRAFT_FAILED
        posted = [v.number for v in explore if v.status == VariantState.POSTED]
        record_for(
            session,
            draft,
            kind,
            SYSTEM,
            posted=posted,
            reason=reason,
        )
