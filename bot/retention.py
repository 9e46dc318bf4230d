"""Image retention: with ``DRAFTBOT_IMAGE_RETENTION_DAYS=N``, the 1K variants (and their previews) of drafts
finished more than N days ago are deleted from the blob store. Finals (the 2K review, the 4K and its other
shapes), every row and the audit trail stay; each variant records when (``variants.image_deleted_at``) and
each draft gets an ``images_deleted`` audit event with the numbers and the bytes freed.

"Finished" is a terminal status (final, rejected, cancelled) and "when" is the draft's last change, so a
draft touched again (a late refresh, say) only waits longer. A key is content-addressed, so the same bytes
may belong to several variants: a blob still referenced by any variant not being deleted, or by a draft's
own reference image, is kept.

The sweep is a durable job (:data:`JobKind.PRUNE_IMAGES`) that queues the next one an hour ahead under one
dedupe key, so however many workers run there is one queued sweep, and one that finds another finished
less than half an hour ago does nothing. It is SIGKILL-safe: a draft's blobs are deleted first, then its
rows are marked and its audit event written in one transaction; a rerun deletes the same keys again (a
missing key is fine) and marks them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.audit import SYSTEM, AuditKind, record_for
from bot.jobs import Handler, JobKind
from bot.tiers import Tier
from bot.workflow import DraftStatus
from storage import jobqueue, queries
from storage.blobs import BlobStore
from storage.jobqueue import ClaimedJob
from storage.models import Draft, Job, Variant

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(hours=1)
SWEEP_KEY = "prune-images"  # the one queued sweep, across every worker
ALL_TEAMS = "*"  # the sweep's job belongs to no one team
FINISHED = tuple(str(status) for status in DraftStatus if status.is_terminal)


@dataclass(frozen=True)
class Pruned:
    """What one draft lost (or, in a dry run, would lose)."""

    team_id: str
    draft_id: int
    numbers: list[int]  # the 1K variants' numbers
    blobs: int  # blobs deleted (images and previews)
    bytes: int  # the images' bytes freed (previews are not measured)
    kept: list[str] = field(default_factory=list)  # keys still used elsewhere, so not deleted


class Retention:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        days: int | None,
        *,
        clock: Callable[[], datetime],
        max_attempts: int = 3,
        every: timedelta = SWEEP_EVERY,
    ) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.days = days
        self.clock = clock
        self.max_attempts = max_attempts
        self.every = every

    @property
    def handlers(self) -> dict[str, Handler]:
        return {JobKind.PRUNE_IMAGES: self.sweep_job}

    async def schedule(self, *, at: datetime | None = None) -> None:
        """Queue a sweep (due now, unless ``at``) if none is queued; nothing when retention is off."""
        if self.days is None:
            return
        async with self.sessions.begin() as session:
            await self._schedule(session, at)

    async def _schedule(self, session: AsyncSession, at: datetime | None) -> None:
        await jobqueue.enqueue(
            session,
            team_id=ALL_TEAMS,
            kind=JobKind.PRUNE_IMAGES,
            payload={},
            max_attempts=self.max_attempts,
            run_after=at,
            dedupe_key=SWEEP_KEY,
        )

    async def sweep_job(self, job: ClaimedJob) -> None:
        """The scheduled sweep: the next one is queued first, so a sweep that fails does not end the chain."""
        if self.days is None:
            return  # retention was turned off since it was queued: the chain ends here
        now = self.clock()
        async with self.sessions.begin() as session:
            await self._schedule(session, now + self.every)
            recent = await session.scalar(
                select(func.max(Job.finished_at)).where(
                    Job.kind == JobKind.PRUNE_IMAGES, Job.status == jobqueue.DONE, Job.id != job.id
                )
            )
        if recent is not None and recent > now - self.every / 2:
            log.info("images were swept at %s already; the next sweep is in %s", recent, self.every)
            return
        pruned = await self.sweep()
        if pruned:
            freed = sum(p.bytes for p in pruned)
            log.info("image retention: deleted the 1K images of %d drafts (%d bytes)", len(pruned), freed)

    async def sweep(self, *, dry_run: bool = False, days: int | None = None) -> list[Pruned]:
        """Delete the 1K images of every draft finished more than ``days`` (default: the setting) ago."""
        days = days if days is not None else self.days
        if days is None:
            return []
        cutoff = self.clock() - timedelta(days=days)
        async with self.sessions() as session:
            due = await session.execute(
                select(Draft.team_id, Draft.id)
                .where(_due(cutoff), exists(select(Variant.id).where(_kept_images(Draft.id))))
                .order_by(Draft.id)
            )
            drafts = [(team_id, draft_id) for team_id, draft_id in due]
        pruned = []
        for team_id, draft_id in drafts:
            done = await self._prune(team_id, draft_id, cutoff, days, dry_run=dry_run)
            if done is not None:
                pruned.append(done)
        return pruned

    async def _prune(
        self, team_id: str, draft_id: int, cutoff: datetime, days: int, *, dry_run: bool
    ) -> Pruned | None:
        async with self.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # one sweep of a draft at a time
            draft = await session.scalar(select(Draft).where(Draft.id == draft_id, _due(cutoff)))
            if draft is None:
                return None  # changed since (say, retried): not finished any more
            variants = list(
                await session.scalars(select(Variant).where(_kept_images(draft.id)).order_by(Variant.id))
            )
            if not variants:
                return None
            ids = [v.id for v in variants]
            keys = {k for v in variants for k in (v.blob_key, v.preview_key) if k}
            kept = await _still_used(session, keys, ids)
            gone = sorted(keys - kept)
            if not dry_run:
                for key in gone:
                    await self.blobs.delete(key)
            sizes = {v.blob_key: v.bytes or 0 for v in variants if v.blob_key in gone}
            result = Pruned(
                draft.team_id,
                draft.id,
                sorted({v.number for v in variants}),
                len(gone),
                sum(sizes.values()),
                sorted(kept),
            )
            if dry_run:
                return result
            await session.execute(
                update(Variant)
                .where(Variant.id.in_(ids), Variant.image_deleted_at.is_(None))
                .values(image_deleted_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            record_for(
                session,
                draft,
                AuditKind.IMAGES_DELETED,
                SYSTEM,
                tier=Tier.EXPLORE,
                numbers=result.numbers,
                blobs=result.blobs,
                bytes=result.bytes,
                kept_shared=len(kept),
                retention_days=days,
            )
            return result


def _due(cutoff: datetime) -> ColumnElement[bool]:
    return and_(Draft.status.in_(FINISHED), Draft.updated_at < cutoff)


def _kept_images(draft_id: int | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """The draft's 1K variants whose image (or preview) is still in the blob store."""
    return and_(
        Variant.draft_id == draft_id,
        Variant.tier == Tier.EXPLORE,
        Variant.image_deleted_at.is_(None),
        or_(Variant.blob_key.is_not(None), Variant.preview_key.is_not(None)),
    )


async def _still_used(session: AsyncSession, keys: set[str], leaving: list[int]) -> set[str]:
    """Those of ``keys`` another live variant, or a draft's reference image, still uses."""
    if not keys:
        return set()
    others = and_(Variant.id.not_in(leaving), Variant.image_deleted_at.is_(None))
    used = set(await session.scalars(select(Variant.blob_key).where(others, Variant.blob_key.in_(keys))))
    used |= set(
        await session.scalars(select(Variant.preview_key).where(others, Variant.preview_key.in_(keys)))
    )
    used |= set(await session.scalars(select(Draft.reference_key).where(Draft.reference_key.in_(keys))))
    return {key for key in used if key}
