"""Running the CPU-bound imaging functions off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ImagingPool:
    """Runs CPU-bound imaging functions in threads, at most ``threads`` at once.

    The pool owns its executor rather than sharing the loop's default one (which DNS lookups and other
    ``to_thread`` users need), and queues waiting jobs on a semaphore in the event loop, so a job cancelled
    while waiting never starts. Pillow releases the GIL in its C code, so the threads really run in parallel.
    Use one pool per event loop.
    """

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imaging")
        self._semaphore = asyncio.Semaphore(threads)
        self._closed = False

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise RuntimeError("ImagingPool is closed")
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop accepting work; jobs already running finish in their threads, queued ones are dropped."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
