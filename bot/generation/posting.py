"""Publishing: the parent message, each image in its thread, and what a posted image settles (voting opens,
the draft is final); the parent is refreshed after each.

Each post is claimed in the database first (:mod:`storage.claims`), so of every worker and attempt that
might make it, one does, and only while it holds its job's lease; an attempt that takes over the claim of
one that vanished looks in Slack for the message before posting it again. An image made before its parent
message exists is not waited for: announcing the draft asks for its post once the parent is there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import draft_card, image_card
from bot.drafts.moves import move_draft
from bot.generation.lookup import draft_of, image_of
from bot.jobs import Doorbell, JobKind, enqueue
from bot.publisher import Publisher
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState, after_variants_settled
from storage import claims, queries
from storage.blobs import BlobStore
from storage.claims import Claim
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Variant

log = logging.getLogger(__name__)

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
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.publisher = publisher
        self.doorbell = doorbell
        self.max_attempts = max_attempts
        self.clock = clock

    async def announce(self, job: ClaimedJob) -> None:
        """Post the parent message, then ask for the post of every image that was ready before it."""
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            if draft.parent_ts:
                return
            claim = await self._claim(session, Draft, draft.id, job, parent_ts=None)
            if claim in (Claim.HELD, Claim.FENCED):
                return
            card = await draft_card(session, draft)
        ref = await self.publisher.post_parent(card, retry=claim is Claim.TAKEN_OVER)
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            await queries.lock_draft(session, draft.team_id, draft.id)  # see _post_when_ready
            recorded = await claims.record_post(
                session,
                Draft,
                draft.id,
                job_id=job.id,
                attempt=job.attempts,
                still={"parent_ts": None},
                values={"parent_channel": ref.channel, "parent_ts": ref.ts},
            )
            if not recorded:
                return
            record_for(session, draft, AuditKind.DRAFT_ANNOUNCED, SYSTEM, channel=ref.channel, ts=ref.ts)
            untold = []  # refused or failed before there was a thread to say so in
            for image in await queries.variants_of(session, draft.team_id, draft.id):
                if image.status == VariantState.GENERATED:
                    await self._ask_to_post(session, draft, Tier(image.tier), image.number)
                elif image.status in (VariantState.REFUSED, VariantState.FAILED) and image.error:
                    untold.append(image.error)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
            card = await draft_card(session, draft)
        self.doorbell.ring()
        for text in untold:
            await self.publisher.post_notice(card, text)

    async def refresh(self, job: ClaimedJob) -> None:
        async with self.sessions() as session:
            draft = await draft_of(session, job)
            if not draft.parent_ts:
                return  # announce posts the newest state and queues a refresh of its own
            card = await draft_card(session, draft)
        await self.publisher.update_parent(card)

    async def post_job(self, job: ClaimedJob) -> None:
        """The post of an image that was made before its parent message existed (queued by announce)."""
        await self.post_image(job, *image_of(job))

    async def post_image(self, job: ClaimedJob, tier: Tier, number: int) -> None:
        """Post a generated image in the draft's thread and settle what it settles. Without the parent
        message yet, do nothing: announcing the draft asks for this post when it has posted the parent."""
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number)
            if variant is None or variant.status != VariantState.GENERATED or not variant.blob_key:
                return  # posted already, or settled otherwise
            if not draft.parent_ts:
                return
            claim = await self._claim(session, Variant, variant.id, job, status=VariantState.GENERATED)
            if claim in (Claim.HELD, Claim.FENCED):
                return
            card = await draft_card(session, draft)
        image = image_card(draft, variant)
        data = await self.blobs.get(str(variant.blob_key))
        ref = await self.publisher.post_image(card, image, data, retry=claim is Claim.TAKEN_OVER)
        async with self.sessions.begin() as session:
            posted = await claims.record_post(
                session,
                Variant,
                variant.id,
                job_id=job.id,
                attempt=job.attempts,
                still={"status": VariantState.GENERATED},
                values={
                    "status": VariantState.POSTED,
                    "slack_channel": ref.channel,
                    "slack_ts": ref.ts,
                    "slack_file_id": ref.file_id,
                },
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

    async def _claim(
        self, session: AsyncSession, model: claims.Claimable, row_id: int, job: ClaimedJob, **still: object
    ) -> Claim:
        claim = await claims.claim_post(
            session,
            model,
            row_id,
            job_id=job.id,
            attempt=job.attempts,
            worker_id=job.lease_owner,
            now=self.clock(),
            **still,
        )
        if claim is Claim.HELD:
            log.info("job %s (%s): another attempt is posting this; leaving it to that one", job.id, job.kind)
        elif claim is Claim.FENCED:
            log.warning("job %s (%s) no longer holds its lease; not posting", job.id, job.kind)
        return claim

    async def _ask_to_post(self, session: AsyncSession, draft: Draft, tier: Tier, number: int) -> None:
        await enqueue(
            session, draft, JobKind.POST, max_attempts=self.max_attempts, tier=str(tier), number=number
        )


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
