"""The app factory: build every service from :class:`Settings`, once, and hand them down.

Nothing is created at import time, so tests, the playground and production each choose their own
database, provider and publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.drafts import DraftService
from bot.generation import Generator
from bot.imaging import ImagingPool
from bot.jobs import Doorbell, JobRunner, default_worker_id
from bot.providers import build_provider
from bot.providers.base import ImageProvider
from bot.publisher import Publisher
from bot.workflow import Policy
from storage import db, jobqueue
from storage.blobs import BlobStore, FileBlobStore
from storage.models import utcnow


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    provider: ImageProvider
    imaging: ImagingPool
    publisher: Publisher
    generator: Generator
    drafts: DraftService
    runner: JobRunner

    async def drain(
        self, *, wait: Callable[[float], Awaitable[None]] = asyncio.sleep, max_rounds: int = 10_000
    ) -> None:
        """Run jobs in this process until none is left unfinished (for the demo and tests; servers run
        :meth:`JobRunner.run_forever`). ``wait`` sleeps until a retry's backoff is over."""
        for _ in range(max_rounds):
            await self.runner.run_until_idle()
            due = await jobqueue.next_due(self.sessions)
            if due is None:
                return
            await wait(max(0.01, (due - self.runner.clock()).total_seconds()))
        raise RuntimeError("jobs are still unfinished after draining")

    async def aclose(self) -> None:
        await self.provider.aclose()
        self.imaging.close()
        await self.engine.dispose()


async def build_runtime(
    settings: Settings,
    publisher: Publisher,
    *,
    provider: ImageProvider | None = None,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    engine = db.create_engine(settings.resolved_database_url)
    if migrate:
        await db.upgrade(engine)
    sessions = db.session_factory(engine)
    pool = ImagingPool(settings.imaging_threads)
    provider = provider or build_provider(settings, pool)
    blobs = FileBlobStore(settings.blob_dir)
    doorbell = Doorbell()  # rung by whatever enqueues jobs, waited on by the runner
    generator = Generator(
        sessions,
        provider,
        blobs,
        pool,
        publisher,
        doorbell,
        provider_concurrency=settings.provider_concurrency,
        images_per_minute=settings.images_per_minute,
        max_pixels=settings.max_reference_pixels,
        max_attempts=settings.job_max_attempts,
    )
    runner = JobRunner(
        sessions,
        generator.handlers,
        worker_id=default_worker_id(),
        lease_seconds=settings.job_lease_seconds,
        concurrency=settings.job_concurrency,
        on_give_up=generator.give_up,
        clock=clock or utcnow,
        doorbell=doorbell,
    )
    drafts = DraftService(
        sessions,
        doorbell,
        publisher,
        Policy(approvers=settings.approvers, allow_self_approval=settings.allow_self_approval),
        max_attempts=settings.job_max_attempts,
        vote_emoji=settings.vote_emoji,
        approve_emoji=settings.approve_emoji,
    )
    return Runtime(settings, engine, sessions, blobs, provider, pool, publisher, generator, drafts, runner)


@contextlib.asynccontextmanager
async def running_worker(runtime: Runtime) -> AsyncIterator[asyncio.Task[None]]:
    """Run the job worker in the background for as long as the block lasts."""
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.runner.run_forever(stop), name="draftbot-worker")
    try:
        yield task
    finally:
        stop.set()
        await task
