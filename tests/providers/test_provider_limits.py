from __future__ import annotations

import asyncio

from bot.providers.limits import PerMinute


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_paces_starts_to_the_limit_per_minute() -> None:
    clock = Clock()
    limiter = PerMinute(3, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(7):
        await limiter.wait_turn()
        starts.append(clock.now)
        clock.now += 1  # each request takes a second to send
    assert starts == [1000, 1001, 1002, 1060, 1061, 1062, 1120]
    for i in range(len(starts)):
        window = [s for s in starts if starts[i] <= s < starts[i] + 60]
        assert len(window) <= 3


async def test_no_limit_never_waits() -> None:
    clock = Clock()
    limiter = PerMinute(0, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(limiter.wait_turn() for _ in range(50)))
    assert clock.slept == []
