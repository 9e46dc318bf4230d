"""The emulator's settable clock, for tests: ``clock = ManualClock(1_700_000_000); clock.advance(1800)``."""

from __future__ import annotations


class ManualClock:
    """A settable clock for tests: ``clock = ManualClock(1_700_000_000); clock.advance(1800)``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
