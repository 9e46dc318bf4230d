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
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import imaging
from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import Pricing, draft_card, image_card, lost_image
from bot.drafts.closing import schedule_close
from bot.drafts.home import HomeRefresh
from bot.drafts.moves import move_draft
from bot.faces import face_of
from bot.generation.lineage import lineage_of
from bot.generation.lookup import draft_of, image_of
from bot.generation.sheets import sheet_when_settled
from bot.generation.timers import schedule_reminder
from bot.jobs import Doorbell, JobKind, enqueue
from bot.publisher import DraftCard, Publisher, ThreadMessage
from bot.tiers import Tier
from bot.workflow import DraftStatus, Policy, VariantState, after_variants_settled
from storage import claims, queries
from storage.blobs import BlobNotFound, BlobStore
from storage.claims import Claim
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Variant

log = logging.getLogger(__name__)

_POSTABLE = {VariantState.GENERATED, VariantState.FAILED, VariantState.REFUSED}
_REFRESH_ROUNDS = 3

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
        pool: imaging.ImagingPool,
        max_pixels: int,
        max_attempts: int,
        clock: Callable[[], datetime],
        policy: Policy | None = None,
        review_reminder: timedelta | None = None,
        homes: HomeRefresh | None = None,
        prices: Pricing | None = None,
    ) -> None:
        self.sessions = sessions
        self.homes = homes  # the App Homes to refresh when a draft changes (None: no Slack, no Homes)
        self.prices = prices  # what the Approve button says the 4K costs
        self.review_reminder = review_reminder  # DRAFTBOT_REVIEW_REMINDER: a 2K review's one reminder
        self.policy = policy  # what the cards it publishes offer (another round, while one fits)
        self.blobs = blobs
        self.publisher = publisher
        self.doorbell = doorbell
        self.pool = pool
        self.max_pixels = max_pixels
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
            card = await draft_card(session, draft, policy=self.policy, prices=self.prices)
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
            for image in await queries.variants_of(session, draft.team_id, draft.id):
                # made, or lost, before there was a thread to post it in
                if image.status in _POSTABLE:
                    await ask_to_post(session, draft, image, self.max_attempts)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        self.doorbell.ring()

    async def refresh(self, job: ClaimedJob) -> None:
        """Bring the parent up to date (:meth:`refresh_parent`), then ask for the Homes showing the draft."""
        await self.refresh_parent(job)
        if self.homes is not None:
            async with self.sessions.begin() as session:
                await self.homes.draft_changed(session, await draft_of(session, job))
            self.doorbell.ring()

    async def refresh_parent(self, job: ClaimedJob) -> None:
        """Bring the parent up to date, and every thread message whose face the draft's state changed.

        Two refreshes may run at once and finish in either order; each reads the draft again after
        publishing and goes on until what it published is still the newest, and what a message shows is
        recorded only if no other refresh recorded something meanwhile (else it is forgotten and drawn
        again), so the last word in Slack is always the newest state."""
        for _ in range(_REFRESH_ROUNDS):
            async with self.sessions() as session:
                draft = await draft_of(session, job)
                if not draft.parent_ts:
                    return  # announce posts the newest state and queues a refresh of its own
                card = await draft_card(session, draft, policy=self.policy, prices=self.prices)
            await self.publisher.update_parent(card)
            raced = False
            for message in card.messages:
                face = face_of(card, message)
                if face.key != message.shown:
                    await self.publisher.update_message(card, message, face)
                    async with self.sessions.begin() as session:
                        raced |= not await queries.mark_shown(
                            session,
                            message.variant_id,
                            notice=message.image is None,
                            face=face.key,
                            expected=message.shown,
                        )
            async with self.sessions() as session:
                if (
                    not raced
                    and await draft_card(
                        session, await draft_of(session, job), policy=self.policy, prices=self.prices
                    )
                    == card
                ):
                    return
        async with self.sessions.begin() as session:  # still changing: leave the rest to a new refresh
            await enqueue(
                session, await draft_of(session, job), JobKind.REFRESH, max_attempts=self.max_attempts
            )
        self.doorbell.ring()

    async def post_job(self, job: ClaimedJob) -> None:
        """The post of an image that was made before its parent message existed (queued by announce)."""
        await self.post_image(job, *image_of(job))

    async def post_image(self, job: ClaimedJob, tier: Tier, number: int, version: int = 1) -> None:
        """Post a generated image in the draft's thread and settle what it settles. Without the parent
        message yet, do nothing: announcing the draft asks for this post when it has posted the parent."""
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number, version)
            if variant is None or not draft.parent_ts or draft.status == DraftStatus.CANCELLED:
                return  # nothing to post, nowhere yet, or the draft was stopped
            if variant.status in (VariantState.FAILED, VariantState.REFUSED):
                lost = variant
            elif variant.status != VariantState.GENERATED or not variant.blob_key:
                return  # posted already, or settled otherwise
            else:
                lost = None
            still = {"status": variant.status, "notice_ts": None} if lost else {"status": variant.status}
            if lost and variant.notice_ts:
                return  # told already
            claim = await self._claim(session, Variant, variant.id, job, **still)
            if claim in (Claim.HELD, Claim.FENCED):
                return
            card = await draft_card(session, draft, policy=self.policy, prices=self.prices)
            beside = (
                (await lineage_of(session, variant)).compared_with
                if variant.compare_label and not variant.compare_file
                else None
            )
        if lost is not None:
            await self._post_loss(job, card, lost, claim)
            return
        if beside is not None:
            variant.compare_file = await self._upload_compare(card, draft, variant, beside)
        image = image_card(draft, variant, card.rounds, drift_threshold=self._drift_threshold)
        face = face_of(
            card, ThreadMessage(variant.id, tier, number, VariantState.POSTED, image, version=version)
        )
        data = await self.blobs.get(str(variant.preview_key or variant.blob_key))
        ref = await self.publisher.post_image(card, image, data, face, retry=claim is Claim.TAKEN_OVER)
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
                    "shown": face.key,
                    "compare_file": variant.compare_file,
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
                await settle_variants(session, draft, max_attempts=self.max_attempts)
                await sheet_when_settled(session, draft, variant.round, self.max_attempts)
            elif tier is Tier.REVIEW:
                await schedule_reminder(
                    session,
                    draft,
                    variant,
                    now=self.clock(),
                    after=self.review_reminder,
                    max_attempts=self.max_attempts,
                )
            elif tier is Tier.FINAL:
                await move_draft(session, draft, DraftStatus.APPROVED, DraftStatus.FINAL)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        if tier is Tier.EXPLORE:
            try:
                await self.publisher.invite_votes(card, ref)
            except Exception:  # a convenience: people can still add the reaction themselves
                log.warning("could not add the vote emoji to variant %s of draft %s", number, job.payload)
        self.doorbell.ring()

    @property
    def _drift_threshold(self) -> float:
        return (self.policy or Policy()).drift_threshold

    async def _upload_compare(
        self, card: DraftCard, draft: Draft, variant: Variant, beside: Variant
    ) -> str | None:
        """The side-by-side its message shows (the version it revises, or the 1K it drifted from) in Slack.
        Made again from the two stored images if an attempt died before posting the message; none when
        image retention deleted the 1K (the image is posted without it)."""
        try:
            left = await self.blobs.get(str(beside.blob_key))
        except BlobNotFound:
            if beside.image_deleted_at is None:
                raise
            log.info("variant %s: no side-by-side, its %s was deleted by retention", variant.id, beside.tier)
            return None
        right = await self.blobs.get(str(variant.blob_key))
        labels = (_compare_name(beside), _compare_name(variant))
        data = await self.pool.run(
            imaging.side_by_side, left, right, labels=labels, max_pixels=self.max_pixels
        )
        return await self.publisher.upload_compare(card, image_card(draft, variant, card.rounds), data)

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

    async def _post_loss(self, job: ClaimedJob, card: DraftCard, variant: Variant, claim: Claim) -> None:
        """Say in the thread that an image was lost, why, and what can be done (Retry, where allowed)."""
        message = lost_image(variant)
        face = face_of(card, message)
        ref = await self.publisher.post_loss(card, message, face, retry=claim is Claim.TAKEN_OVER)
        async with self.sessions.begin() as session:
            await claims.record_post(
                session,
                Variant,
                variant.id,
                job_id=job.id,
                attempt=job.attempts,
                still={"notice_ts": None},
                values={"notice_ts": ref.ts, "notice_shown": face.key},
            )
            await enqueue(
                session, await draft_of(session, job), JobKind.REFRESH, max_attempts=self.max_attempts
            )
        self.doorbell.ring()


def _compare_name(image: Variant) -> str:
    """An image as a side-by-side captions it: "1K #2", "2K v1", "4K"."""
    if image.tier == Tier.EXPLORE:
        return f"1K #{image.number}"
    return f"{image.tier} v{image.version}" if image.tier == Tier.REVIEW else str(image.tier)


async def ask_to_post(session: AsyncSession, draft: Draft, image: Variant, max_attempts: int) -> None:
    """Queue the post of an image, or of the notice that it was lost, in the draft's thread."""
    await enqueue(
        session,
        draft,
        JobKind.POST,
        max_attempts=max_attempts,
        tier=image.tier,
        number=image.number,
        version=image.version,
    )


async def settle_variants(session: AsyncSession, draft: Draft, *, max_attempts: int) -> None:
    """When the last 1K variant settles (posted, refused or failed), open voting, or fail the draft if none
    made it. Voting that opens after its deadline passed closes at once."""
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
        if outcome is DraftStatus.VOTING:
            await schedule_close(session, draft, max_attempts)
