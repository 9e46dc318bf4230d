"""The jobs that make and publish images: provider -> imaging -> blob store -> publisher.

Every handler is idempotent: it reads the state first and skips what is already done, so a retried
or re-claimed job (a crashed worker) finishes the work exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import imaging
from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import draft_card, image_card
from bot.destinations import ImageFormat, SafeZone
from bot.drafts.moves import move_draft
from bot.jobs import Doorbell, Handler, JobKind, PermanentFailure, RetryLater, enqueue
from bot.providers.base import BadOutput as ProviderBadOutput
from bot.providers.base import GenerationRequest, ImageProvider, Refused
from bot.providers.limits import PerMinute
from bot.publisher import DraftCard, Publisher
from bot.tiers import Ratio, Size, Tier
from bot.workflow import DraftStatus, VariantState, after_variants_settled
from storage import queries
from storage.blobs import BlobNotFound, BlobStore
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Variant

log = logging.getLogger(__name__)

PARENT_WAIT_SECONDS, PARENT_WAIT_STEPS = 3.0, 30


@dataclass(frozen=True)
class Prepared:
    encoded: imaging.EncodedImage
    fit: imaging.FitReport


def prepare(data: bytes, target: Size, fmt: ImageFormat, tier: Tier, *, max_pixels: int) -> Prepared:
    """Decode, fit to the exact target, encode under the tier's ceiling. CPU work: runs in the pool."""
    try:
        img = imaging.decode(data, max_pixels=max_pixels)
    except imaging.BadImage as err:
        raise ProviderBadOutput(f"the provider returned an unusable image: {err}") from err
    fitted, report = imaging.fit(img, target)
    return Prepared(imaging.encode(fitted, fmt, ceiling_bytes=tier.jpeg_ceiling_bytes), report)


class Generator:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        provider: ImageProvider,
        blobs: BlobStore,
        pool: imaging.ImagingPool,
        publisher: Publisher,
        doorbell: Doorbell,
        *,
        provider_concurrency: int,
        images_per_minute: int = 0,
        max_pixels: int,
        max_attempts: int,
    ) -> None:
        self.sessions = sessions
        self.provider = provider
        self.blobs = blobs
        self.pool = pool
        self.publisher = publisher
        self.max_pixels = max_pixels
        self.max_attempts = max_attempts
        self.doorbell = doorbell
        self._provider_slots = asyncio.Semaphore(provider_concurrency)
        self._pace = PerMinute(images_per_minute)

    @property
    def handlers(self) -> dict[str, Handler]:
        return {
            JobKind.ANNOUNCE: self.announce,
            JobKind.GENERATE: self.generate,
            JobKind.REFRESH: self.refresh,
        }

    # --- jobs --------------------------------------------------------------------------------------

    async def announce(self, job: ClaimedJob) -> None:
        async with self.sessions() as session:
            draft = await self._draft(session, job)
            if draft.parent_ts:
                return
            card = await draft_card(session, draft)
        ref = await self.publisher.post_parent(card, retry=job.attempts > 1)
        async with self.sessions.begin() as session:
            draft = await self._draft(session, job)
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
            draft = await self._draft(session, job)
            if not draft.parent_ts:
                return  # announce posts the newest state and queues a refresh of its own
            card = await draft_card(session, draft)
        await self.publisher.update_parent(card)

    async def generate(self, job: ClaimedJob) -> None:
        tier, number = Tier(str(job.payload["tier"])), int(str(job.payload["number"]))
        async with self.sessions() as session:
            draft = await self._draft(session, job)
            variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number)
            if variant is None:
                raise PermanentFailure(f"draft {draft.id} has no {tier} image {number}")
            if VariantState(variant.status).is_settled or DraftStatus(draft.status).is_terminal:
                return
            source = (
                await session.get(Variant, variant.source_variant_id) if variant.source_variant_id else None
            )

        made = variant.status != VariantState.PENDING or await self._make_image(draft, variant, source)
        if not made:
            return  # refused: told and recorded
        await self._post_image(job, tier, number)

    async def _make_image(self, draft: Draft, variant: Variant, source: Variant | None) -> bool:
        tier = Tier(variant.tier)
        references = (await self._reference(source),) if source is not None else ()
        ratio = Ratio.parse(draft.ratio)
        fmt = ImageFormat(draft.output_format)
        request = GenerationRequest(
            prompt=draft.prompt,
            ratio=ratio,
            tier=tier,
            seed=variant.seed,
            size=self.provider.target_size(ratio, tier),
            references=references,
            transparent=fmt is ImageFormat.PNG,
            safe_zone=SafeZone(draft.safe_zone),
        )
        try:
            async with self._provider_slots:
                await self._pace.wait_turn()
                started = time.monotonic()  # the provider's time, not the wait for a slot
                output = await self.provider.generate(request)
                latency_ms = round((time.monotonic() - started) * 1000)
        except Refused as refusal:
            await self._refused(draft, variant, refusal)
            return False
        prepared = await self.pool.run(
            prepare, output.data, request.size, fmt, tier, max_pixels=self.max_pixels
        )
        encoded, fit = prepared.encoded, prepared.fit
        key = await self.blobs.put(encoded.data, content_type=encoded.content_type)
        fit_note = None if fit.action == "none" else fit.describe()
        notes = [*output.notes, *([fit_note] if fit_note else [])]
        async with self.sessions.begin() as session:
            stored = await queries.set_variant(
                session,
                variant.id,
                VariantState.PENDING,
                status=VariantState.GENERATED,
                provider=output.provider,
                model=output.model,
                width=encoded.size.width,
                height=encoded.size.height,
                bytes=len(encoded.data),
                blob_key=key,
                sha256=encoded.sha256,
                content_type=encoded.content_type,
                cost_estimate_usd=output.cost_estimate_usd,
                latency_ms=latency_ms,
                fit_note="; ".join(notes) or None,
            )
            if stored:
                record_for(
                    session,
                    draft,
                    AuditKind.GENERATION,
                    SYSTEM,
                    tier=tier,
                    number=variant.number,
                    provider=output.provider,
                    model=output.model,
                    seed=variant.seed,
                    requested=str(request.size),
                    width=encoded.size.width,
                    height=encoded.size.height,
                    bytes=len(encoded.data),
                    sha256=encoded.sha256,
                    quality=encoded.quality,
                    latency_ms=latency_ms,
                    cost_estimate_usd=output.cost_estimate_usd,
                    source_variant_id=variant.source_variant_id,
                    request_id=output.request_id,
                    notes=notes,
                )
        return True

    async def _reference(self, source: Variant) -> bytes:
        """The stored image an upgrade starts from, checked before any provider sees it. A missing,
        damaged or unreadable file can't get better by trying again: the upgrade fails at once, saying why."""
        what = f"the {source.tier} image {source.number} this upgrade starts from"
        again = "start a new `/draft` to make it again"
        if not source.blob_key:
            raise PermanentFailure(f"{what} is missing")
        try:
            data = await self.blobs.get(source.blob_key)
        except BlobNotFound:
            raise PermanentFailure(f"{what} is missing from the image store; {again}") from None
        if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
            damaged = "is damaged (its stored file no longer matches its checksum)"
            raise PermanentFailure(f"{what} {damaged}; {again}")
        try:
            await self.pool.run(imaging.decode, data, max_pixels=self.max_pixels)
        except imaging.BadImage:  # its message speaks to someone uploading a file; this one is ours
            raise PermanentFailure(f"{what} can't be read as an image any more; {again}") from None
        return data

    async def _ready_to_post(
        self, job: ClaimedJob, tier: Tier, number: int
    ) -> tuple[DraftCard, Variant] | None:
        """The draft and the stored image, once the parent exists to thread under; None if already posted."""
        for waited in range(PARENT_WAIT_STEPS + 1):
            async with self.sessions() as session:
                draft = await self._draft(session, job)
                variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number)
                if variant is None or variant.status != VariantState.GENERATED or not variant.blob_key:
                    return None
                if draft.parent_ts:
                    return await draft_card(session, draft), variant
            # A fast image can be ready before the announce job has posted the parent it threads under.
            if waited < PARENT_WAIT_STEPS:
                await asyncio.sleep(PARENT_WAIT_SECONDS / PARENT_WAIT_STEPS)
        raise RetryLater("waiting for the parent message", retry_after=1.0)

    async def _post_image(self, job: ClaimedJob, tier: Tier, number: int) -> None:
        ready = await self._ready_to_post(job, tier, number)
        if ready is None:
            return
        card, variant = ready
        async with self.sessions() as session:
            draft = await self._draft(session, job)
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
            draft = await self._draft(session, job)
            kind = {
                Tier.EXPLORE: AuditKind.VARIANT_POSTED,
                Tier.REVIEW: AuditKind.REVIEW_POSTED,
                Tier.FINAL: AuditKind.FINAL_POSTED,
            }[tier]
            record_for(
                session,
                draft,
                kind,
                SYSTEM,
                tier=tier,
                number=number,
                channel=ref.channel,
                ts=ref.ts,
                file_id=ref.file_id,
            )
            if tier is Tier.EXPLORE:
                await self._settle_variants(session, draft)
            elif tier is Tier.FINAL:
                await move_draft(session, draft, DraftStatus.APPROVED, DraftStatus.FINAL)
            await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)
        if tier is Tier.EXPLORE:
            try:
                await self.publisher.invite_votes(ref)
            except Exception:  # a convenience: people can still add the reaction themselves
                log.warning("could not add the vote emoji to variant %s of draft %s", number, job.payload)
        self.doorbell.ring()

    async def _settle_variants(self, session: AsyncSession, draft: Draft) -> None:
        """When the last 1K variant settles, open voting (or fail the draft if none made it)."""
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

    async def _refused(self, draft: Draft, variant: Variant, refusal: Refused) -> None:
        what = _describe(Tier(variant.tier), variant.number)
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
            await self._after_variant_lost(session, draft, Tier(variant.tier), text)
            card = await draft_card(session, await self._reload(session, draft))
        await self.publisher.post_notice(card, text)
        self.doorbell.ring()

    async def give_up(self, job: ClaimedJob, reason: str) -> None:
        """The job runner ran out of attempts (or met a permanent error): record it and say so."""
        async with self.sessions.begin() as session:
            draft = await queries.get_draft(session, job.team_id, int(str(job.payload["draft_id"])))
            if draft is None:
                return
            if job.kind == JobKind.GENERATE:
                tier, number = Tier(str(job.payload["tier"])), int(str(job.payload["number"]))
                variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number)
                if variant is None or VariantState(variant.status).is_settled:
                    return
                text = f"{_describe(tier, number)} could not be made: {reason}"
                await queries.set_variant(
                    session, variant.id, variant.status, status=VariantState.FAILED, error=reason
                )
                record_for(
                    session,
                    draft,
                    AuditKind.GENERATION_FAILED,
                    SYSTEM,
                    tier=tier,
                    number=number,
                    reason=reason,
                    attempts=job.attempts,
                )
                await self._after_variant_lost(session, draft, tier, text)
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
            card = await draft_card(session, await self._reload(session, draft))
        if card.parent:
            await self.publisher.post_notice(card, text)
        self.doorbell.ring()

    async def _after_variant_lost(self, session: AsyncSession, draft: Draft, tier: Tier, text: str) -> None:
        if tier is Tier.EXPLORE:
            await self._settle_variants(session, draft)
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
        await enqueue(session, draft, JobKind.REFRESH, max_attempts=self.max_attempts)

    # --- helpers -----------------------------------------------------------------------------------

    async def _draft(self, session: AsyncSession, job: ClaimedJob) -> Draft:
        draft = await queries.get_draft(session, job.team_id, int(str(job.payload["draft_id"])))
        if draft is None:
            raise PermanentFailure(f"draft {job.payload['draft_id']} does not exist in team {job.team_id}")
        return draft

    async def _reload(self, session: AsyncSession, draft: Draft) -> Draft:
        """The draft as this session sees it now, after compare-and-set updates that bypass the ORM."""
        fresh = await session.get(Draft, draft.id, populate_existing=True)
        if fresh is None:
            raise PermanentFailure(f"draft {draft.id} disappeared")
        return fresh


def _describe(tier: Tier, number: int) -> str:
    return {Tier.EXPLORE: f"Variant {number}", Tier.REVIEW: "The 2K review", Tier.FINAL: "The 4K final"}[tier]
