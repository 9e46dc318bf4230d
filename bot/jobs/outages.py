"""Outages: Slack or the database away is waited out, not failed, and said once, not per retry.

A job that meets an outage goes back to the queue without spending an attempt, with capped exponential
backoff and jitter, for up to the outage budget (minutes, ``DRAFTBOT_OUTAGE_BUDGET_SECONDS``); only then
is it given up, saying what was away and for how long. Meanwhile the runner stops claiming for a while as
a whole, so that one outage does not run every job into it in turn. The log says once when a dependency
goes away and once when it is back, with the count of retries in between; no traceback per retry.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.errors import DATABASE, SLACK, Outage

log = logging.getLogger(__name__)

BACKOFF_BASE, BACKOFF_CAP = 1.0, 10.0  # seconds: a try every 10 s at most, so work resumes soon after


def dependency_of(exc: BaseException) -> str | None:
    """Which dependency being away ``exc`` says (``SLACK``, ``DATABASE``), or None for any other failure."""
    if isinstance(exc, Outage):
        return exc.dependency
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return SLACK if status >= 500 or status == 429 else None
    if isinstance(exc, aiohttp.ClientError | TimeoutError):  # slack_sdk's transport; providers use httpx
        return SLACK
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return DATABASE
    if isinstance(exc, ConnectionError):  # refused or reset on the way to the database
        return DATABASE
    if isinstance(exc, DBAPIError) and _server_away(exc):
        return DATABASE
    return None


# PostgreSQL's SQLSTATEs for "the server is not there for you now": class 08 (connection exceptions) and
# 57P01–57P03 (shutting down, crashed, not accepting connections yet), whatever the driver wraps them in.
_AWAY_STATES = ("08", "57P01", "57P02", "57P03")


def _server_away(exc: BaseException) -> bool:
    """Whether the chain of causes under ``exc`` holds a driver error saying the server is away (a
    connection refused while PostgreSQL shuts down arrives as a plain DBAPIError, not invalidated)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_AWAY_STATES):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(dependency: str, seconds: float) -> str:
    """``Slack was unreachable for 4 minutes``."""
    span = f"{max(1, round(seconds))} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"
    return f"{dependency} was unreachable for {span}"


@dataclass
class _Away:
    since: float
    retries: int = 0
    paused_until: float = 0.0


@dataclass
class OutageWatch:
    """What is away now, for one runner: when it went, how many retries waited on it, when to try again."""

    rng: random.Random = field(default_factory=random.Random)
    effect: str = "jobs wait until it is back"  # what the warning says happens meanwhile
    _away: dict[str, _Away] = field(default_factory=dict)

    def delay(self, dependency: str) -> float:
        """Seconds to wait before the next try, growing with the retries this outage has already had."""
        away = self._away.get(dependency)
        retries = away.retries if away else 0
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**retries)
        return self.rng.uniform(ceiling / 2, ceiling)

    def went_away(self, dependency: str, err: BaseException) -> float:
        """Note a failure caused by ``dependency`` being away; returns the pause before claiming again."""
        now = time.monotonic()
        away = self._away.get(dependency)
        if away is None:
            away = self._away[dependency] = _Away(since=now)
            log.warning("%s is unreachable (%s); %s", dependency, type(err).__name__, self.effect)
        pause = self.delay(dependency)
        away.retries += 1
        away.paused_until = max(away.paused_until, now + pause)
        return pause

    def came_back(self, dependency: str | None = None) -> None:
        """Something worked that needed ``dependency`` (None: everything): it is back."""
        now = time.monotonic()
        back = [d for d in self._away if dependency is None or d == dependency]
        for name in back:
            away = self._away.pop(name)
            log.warning(
                "%s is back after %.0f s; %d retr%s waited for it",
                name,
                now - away.since,
                away.retries,
                "y" if away.retries == 1 else "ies",
            )

    def pause_left(self) -> float:
        """Seconds until the runner may claim again (0 when nothing is away)."""
        if not self._away:
            return 0.0
        return max(0.0, max(a.paused_until for a in self._away.values()) - time.monotonic())
