"""Replay protection for signed HTTP requests, in the database, so that it holds across `draftbot serve`s.

A Slack signature is valid for 5 minutes after its timestamp; anyone who has seen a request could send it
again in that time. So the first request with a given (timestamp, signature) **claims** it: a row whose
primary key is the sha256 of the two, inserted and committed before the request is dispatched. Exactly one
claim can win, on SQLite and PostgreSQL alike (the primary key; the loser's ``IntegrityError`` is the answer
"replayed"), so concurrent copies are refused too, not only later ones.

A claim is made *before* the request is handled (recording only successes would let concurrent copies all
through), and :func:`release` takes it back when the request was not handled after all (the bot answered
non-2xx, or raised): Slack redelivers a request it got an error for, and that delivery must not be refused.

Rows are useless once the signature has expired, and are purged by :class:`Replays` at most once a
:data:`PURGE_EVERY`, in the transaction of a claim (an indexed range delete, normally of a few rows).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AcceptedRequest, utcnow

# How long a signature is valid either side of its timestamp (Slack's window), plus room for clock skew
# between the machines running the bot.
SIGNATURE_WINDOW = timedelta(minutes=5)
SKEW = timedelta(minutes=1)
PURGE_EVERY = 60.0  # seconds


def request_key(timestamp: str, signature: str) -> str:
    """The claim's key: hex sha256 of the timestamp and signature as sent."""
    return hashlib.sha256(f"{timestamp}:{signature}".encode("utf-8", "surrogatepass")).hexdigest()


class Replays:
    """Claims and releases accepted requests; one per web app (it remembers when it last purged)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.monotonic = monotonic
        self._purged_at: float | None = None

    async def claim(self, key: str, *, signed_at: datetime, team_id: str | None = None) -> bool:
        """Record the request as accepted; False if it already was (a replay, or a copy racing this one)."""
        now = self.clock()
        async with self.sessions() as session:
            try:
                if self._purged_at is None or self.monotonic() - self._purged_at >= PURGE_EVERY:
                    self._purged_at = self.monotonic()
                    await session.execute(delete(AcceptedRequest).where(AcceptedRequest.expires_at < now))
                session.add(
                    AcceptedRequest(key=key, team_id=team_id, expires_at=signed_at + SIGNATURE_WINDOW + SKEW)
                )
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
        return True

    async def release(self, key: str) -> None:
        """Forget the claim: the request was not handled, and a redelivery of it must be accepted."""
        async with self.sessions() as session:
            await session.execute(delete(AcceptedRequest).where(AcceptedRequest.key == key))
            await session.commit()
