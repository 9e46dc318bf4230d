"""Across processes: a worker on PostgreSQL LISTENs for the notification that every transaction queueing
a due job sends as it commits (:data:`storage.jobqueue.NOTIFY_CHANNEL`), and rings its doorbell, so a job
queued by a server starts on an idle worker at once rather than at the worker's next poll. The poll stays
as the fallback: a lost connection is reconnected quietly, and nothing depends on a notification arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import make_url

from bot.jobs.doorbell import Doorbell
from storage.jobqueue import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 2.0


@contextlib.asynccontextmanager
async def woken_by_notifications(database_url: str, doorbell: Doorbell) -> AsyncIterator[None]:
    """For the length of the block, ring ``doorbell`` on every job notification (PostgreSQL only)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    task = asyncio.create_task(_listen(dsn, doorbell), name="draftbot-job-notifications")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _listen(dsn: str, doorbell: Doorbell) -> None:
    import asyncpg

    def rang(*_: Any) -> None:
        doorbell.ring()

    while True:
        connection = None
        try:
            connection = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            connection.add_termination_listener(lambda *_, lost=lost: lost.set())
            await connection.add_listener(NOTIFY_CHANNEL, rang)
            doorbell.ring()  # anything queued while we were not listening
            await lost.wait()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            log.debug("not listening for job notifications (%s); polling meanwhile", type(err).__name__)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 2)
        await asyncio.sleep(RECONNECT_SECONDS)
