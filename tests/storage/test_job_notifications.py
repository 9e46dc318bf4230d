"""PostgreSQL: a transaction that queues a due job wakes idle workers in other processes as it commits
(LISTEN/NOTIFY), and one that rolls back wakes nobody; a job due later wakes nobody either."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.jobs.doorbell import Doorbell
from bot.jobs.wakeup import woken_by_notifications
from storage import jobqueue
from storage.db import create_engine, session_factory, upgrade

pytestmark = pytest.mark.postgres


async def rung(doorbell: Doorbell, within: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(doorbell.wait(), within)
        return True
    return False


async def test_a_committed_job_rings_another_processes_doorbell(postgres_url: str) -> None:
    await upgrade(postgres_url)
    engine = create_engine(postgres_url)  # the "server": another connection, as another process has
    sessions = session_factory(engine)
    doorbell = Doorbell()
    try:
        async with woken_by_notifications(postgres_url, doorbell):
            assert await rung(doorbell, 5)  # it rings once when it starts listening: anything queued before
            doorbell.clear()

            async def enqueue(*, commit: bool, later: bool = False) -> None:
                async with sessions() as session:
                    await session.begin()
                    await jobqueue.enqueue(
                        session,
                        team_id="T1",
                        kind="refresh_parent",
                        payload={},
                        max_attempts=3,
                        run_after=datetime.now(UTC) + timedelta(hours=1) if later else None,
                    )
                    await (session.commit() if commit else session.rollback())

            await enqueue(commit=False)
            assert not await rung(doorbell, 0.5)
            await enqueue(commit=True, later=True)
            assert not await rung(doorbell, 0.5)
            await enqueue(commit=True)
            assert await rung(doorbell, 5)
    finally:
        await engine.dispose()


async def test_sqlite_has_no_listener_and_needs_none() -> None:
    doorbell = Doorbell()
    async with woken_by_notifications("sqlite+aiosqlite:///:memory:", doorbell):
        assert not await rung(doorbell, 0.05)
