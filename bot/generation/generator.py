"""The generation jobs, by kind: which handler runs each, and who hears when one gives up.

A variant's path reads top to bottom: :meth:`Generator.generate` reads the job's image, the maker makes
and stores it (or hands back a refusal for the failure policy), and the poster posts it and settles
what it settles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.drafts.home import HomeRefresh
from bot.errors import PermanentFailure
from bot.generation.failures import Failures
from bot.generation.lineage import lineage_of
from bot.generation.lookup import draft_of, image_of
from bot.generation.making import Maker
from bot.generation.posting import Poster
from bot.generation.sheets import Sheets
from bot.imaging import ImagingPool
from bot.jobs import Doorbell, Handler, JobKind
from bot.metrics import Metrics
from bot.providers import Providers
from bot.publisher import Publisher
from bot.tiers import Tier
from bot.workflow import DraftStatus, Policy, VariantState
from storage import queries
from storage.blobs import BlobStore
from storage.jobqueue import ClaimedJob


class Generator:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        providers: Providers,
        blobs: BlobStore,
        pool: ImagingPool,
        publisher: Publisher,
        doorbell: Doorbell,
        *,
        provider_concurrency: int,
        images_per_minute: int = 0,
        max_pixels: int,
        max_attempts: int,
        clock: Callable[[], datetime],
        policy: Policy | None = None,
        review_reminder: timedelta | None = None,
        homes: HomeRefresh | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.making = Maker(
            sessions,
            providers,
            blobs,
            pool,
            provider_concurrency=provider_concurrency,
            images_per_minute=images_per_minute,
            max_pixels=max_pixels,
            drift_threshold=(policy or Policy()).drift_threshold,
            metrics=metrics,
        )
        self.posting = Poster(
            sessions,
            blobs,
            publisher,
            doorbell,
            pool=pool,
            max_pixels=max_pixels,
            max_attempts=max_attempts,
            clock=clock,
            policy=policy,
            review_reminder=review_reminder,
            homes=homes,
            prices=providers.estimate_usd,
        )
        self.failures = Failures(sessions, doorbell, max_attempts=max_attempts)
        self.sheets = Sheets(
            sessions, blobs, pool, publisher, doorbell, max_attempts=max_attempts, max_pixels=max_pixels
        )

    @property
    def handlers(self) -> dict[str, Handler]:
        return {
            JobKind.ANNOUNCE: self.posting.announce,
            JobKind.GENERATE: self.generate,
            JobKind.REFRESH: self.posting.refresh,
            JobKind.POST: self.posting.post_job,
            JobKind.SHEET: self.sheets.make,
        }

    async def generate(self, job: ClaimedJob) -> None:
        """One image: made (unless a previous attempt made it), then posted. Re-running it is safe."""
        tier, number, version = image_of(job)
        async with self.sessions() as session:
            draft = await draft_of(session, job)
            variant = await queries.get_variant(session, draft.team_id, draft.id, tier, number, version)
            if variant is None:
                raise PermanentFailure(f"draft {draft.id} has no {tier} image {number}")
            status = DraftStatus(draft.status)
            other_shape = tier is Tier.FINAL and status is DraftStatus.FINAL  # Also as…, after the final
            if VariantState(variant.status).is_settled or (status.is_terminal and not other_shape):
                return
            lineage = await lineage_of(session, variant)
        if variant.status == VariantState.PENDING:
            refusal = await self.making.make(draft, variant, lineage)
            if refusal is not None:
                await self.failures.refused(draft, variant, refusal)
                return  # refused: told and recorded
        await self.posting.post_image(job, tier, number, version)

    async def give_up(self, job: ClaimedJob, reason: str) -> None:
        """The job runner's give-up hook: the failure policy decides what it means for the draft."""
        await self.failures.give_up(job, reason)
