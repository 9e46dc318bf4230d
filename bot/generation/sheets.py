"""Contact sheets: once every variant of a round has settled, one image of the round's variants side by side,
numbered, uploaded once and shown on the parent, so the team compares without scrolling the thread. A
variant that arrives late (after a Retry) makes the sheet once more."""

from __future__ import annotations

import io
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import imaging
from bot.cards import draft_card
from bot.generation.lookup import draft_of
from bot.jobs import Doorbell, JobKind, enqueue
from bot.publisher import Publisher
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState
from storage import queries
from storage.blobs import BlobStore
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Round

CELL_LONG_EDGE = 360  # pixels per variant: a sheet of eight stays small enough for Slack to show well


def sheet_jpeg(images: Sequence[bytes], labels: Sequence[str], *, max_pixels: int) -> bytes:
    """The contact sheet as a JPEG. CPU work: runs in the pool."""
    decoded = [imaging.decode(data, max_pixels=max_pixels) for data in images]
    sheet = imaging.contact_sheet(decoded, labels=labels, cell_long_edge=CELL_LONG_EDGE)
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


class Sheets:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        pool: imaging.ImagingPool,
        publisher: Publisher,
        doorbell: Doorbell,
        *,
        max_attempts: int,
        max_pixels: int,
    ) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.pool = pool
        self.publisher = publisher
        self.doorbell = doorbell
        self.max_attempts = max_attempts
        self.max_pixels = max_pixels

    async def make(self, job: ClaimedJob) -> None:
        number = int(str(job.payload["round"]))
        async with self.sessions() as session:
            draft = await draft_of(session, job)
            if not draft.parent_ts or draft.status == DraftStatus.CANCELLED:
                return
            round_ = next(
                (r for r in await queries.rounds_of(session, draft.team_id, draft.id) if r.number == number),
                None,
            )
            explore = await queries.variants_of(session, draft.team_id, draft.id, Tier.EXPLORE)
            posted = [
                v for v in explore if v.round == number and v.status == VariantState.POSTED and v.blob_key
            ]
            numbers = [v.number for v in posted]
            if round_ is None or not numbers or (round_.sheet_numbers or []) == numbers:
                return  # nothing to show, or shown already
            card = await draft_card(session, draft)
        if any(v.image_deleted_at is not None for v in posted):
            return  # image retention deleted the round's 1Ks: the draft finished long ago
        images = [await self.blobs.get(str(v.blob_key)) for v in posted]
        data = await self.pool.run(sheet_jpeg, images, [f"#{n}" for n in numbers], max_pixels=self.max_pixels)
        file_id = await self.publisher.upload_sheet(card, number, data)
        async with self.sessions.begin() as session:
            await session.execute(
                update(Round)
                .where(Round.id == round_.id)
                .values(sheet_file=file_id, sheet_numbers=numbers)
                .execution_options(synchronize_session=False)
            )
            await enqueue(
                session, await draft_of(session, job), JobKind.REFRESH, max_attempts=self.max_attempts
            )
        self.doorbell.ring()


async def sheet_when_settled(
    session: AsyncSession, draft: Draft, round_number: int, max_attempts: int
) -> None:
    """Ask for the round's contact sheet once each of its variants has settled (posted, failed, refused)."""
    explore = await queries.variants_of(session, draft.team_id, draft.id, Tier.EXPLORE)
    mine = [VariantState(v.status) for v in explore if v.round == round_number]
    if mine and all(state.is_settled for state in mine):
        await enqueue(session, draft, JobKind.SHEET, max_attempts=max_attempts, round=round_number)
