"""How work that enqueues jobs tells the job runner so, without knowing the runner."""

from __future__ import annotations

import asyncio


class Doorbell:
    """Rung after a commit that enqueued jobs; the runner waits on it between claims.

    Built once and handed to the runner and to everything that enqueues, so none of them needs the other
    to exist first. A ring while the runner is busy is kept until it next looks (it clears the bell just
    before it claims, so a ring during the claim is not lost).
    """

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    def clear(self) -> None:
        self._rung.clear()

    async def wait(self) -> None:
        await self._rung.wait()
