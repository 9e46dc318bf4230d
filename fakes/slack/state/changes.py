"""The workspace's change feed: a version number, a bounded log of changes, and whoever waits for one.

Every mutation of the workspace goes through :meth:`ChangeFeed.changed`, so a page can long-poll the
state (:meth:`ChangeFeed.wait_for_change`) and tests can listen synchronously (:meth:`add_listener`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from fakes.slack.state.records import Change


class ChangeFeed:
    def __init__(self, max_changes: int = 10_000) -> None:
        self.version = 0
        self.changes: deque[Change] = deque(maxlen=max_changes)
        self._waiters: list[asyncio.Future[int]] = []
        self._listeners: list[Callable[[Change], None]] = []

    def changed(self, kind: str, **data: Any) -> Change:
        """Record a change: bump the version, log it, wake the waiters, call the listeners."""
        self.version += 1
        change = Change(self.version, kind, data)
        self.changes.append(change)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(self.version)
        for listener in list(self._listeners):
            listener(change)
        return change

    def add_listener(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener(change)`` synchronously on every change; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def changes_since(self, version: int) -> tuple[list[Change], bool]:
        """Changes newer than ``version``, and whether older ones were dropped from the bounded log."""
        truncated = bool(self.changes) and self.changes[0].version > version + 1
        return [c for c in self.changes if c.version > version], truncated

    async def wait_for_change(self, since: int, max_wait: float | None = None) -> int:
        """Return as soon as ``version > since`` (or after ``max_wait`` seconds); returns the version."""
        if self.version > since:
            return self.version
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max_wait)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return self.version

    def restore(self, version: int, changes: Iterable[Change]) -> None:
        """Continue from a saved version and log (nobody waits on a workspace being loaded)."""
        self.version = version
        self.changes.clear()
        self.changes.extend(changes)
