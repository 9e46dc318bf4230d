"""Images-per-minute limits: providers rate-limit by images, so pace requests before they say 429."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class PerMinute:
    """At most ``limit`` starts in any 60-second window; ``limit=0`` means no limit."""

    def __init__(
        self,
        limit: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    async def wait_turn(self) -> None:
        if self.limit <= 0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= 60.0:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                await self._sleep(60.0 - (now - self._starts[0]))
