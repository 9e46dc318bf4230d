"""The job runner: claims durable jobs, runs their handlers, retries with backoff, gives up loudly.

Crash safety comes from leases: a running job's lease is extended while its handler runs; if the worker dies
(or is cancelled at shutdown) the lease expires and another worker runs the job again. So handlers must be
idempotent: read state first and skip what is already done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import DATABASE, DraftbotError, PermanentFailure, RetryLater, Transient
from bot.jobs.doorbell import Doorbell
from bot.jobs.outages import OutageWatch, dependency_of, describe
from bot.logs import job_context
from bot.metrics import Metrics
from bot.slack_workspaces import WorkspaceGone, dead_token
from storage import jobqueue
from storage.jobqueue import ClaimedJob
from storage.models import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[ClaimedJob], Awaitable[None]]
GiveUpHook = Callable[[ClaimedJob, str], Awaitable[None]]

__all__ = [
    "Backoff",
    "ClaimedJob",
    "GiveUpHook",
    "Handler",
    "JobRunner",
    "PermanentFailure",
    "RetryLater",
    "default_worker_id",
]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter; a provider's Retry-After wins when it is longer."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        delay = self.rng.uniform(0, ceiling)
        return max(delay, retry_after) if retry_after is not None else delay


@dataclass(frozen=True)
class _Failure:
    reason: str
    retryable: bool
    retry_after: float | None = None
    outage: str | None = None  # the dependency that was away (bot.jobs.outages), if that was the cause
    detail: str | None = None  # for the job's last_error (operators), never for the thread
    tell: bool = True  # whether the draft's thread hears of it (not when the workspace is out of reach)

    @property
    def last_error(self) -> str:
        return self.reason if self.detail is None else f"{self.reason}: {self.detail}"


def _classify(exc: Exception) -> _Failure:
    """Retry by type: Slack or the database away is waited out (:mod:`bot.jobs.outages`), a
    :class:`Transient` error is tried again, any other of ours is given up at once, and an exception that is
    not ours (a bug) is tried again until the attempts run out.

    The reason is said in words, since people may read it in the thread; the log keeps the details."""
    retry_after = exc.retry_after if isinstance(exc, Transient) else None
    if isinstance(exc, WorkspaceGone) or dead_token(exc):
        # Uninstalled or revoked: trying again only knocks with a dead token, and nobody there can be told.
        reason = "the app is no longer installed in this workspace"
        return _Failure(reason, retryable=False, detail=repr(exc)[:200], tell=False)
    if (dependency := dependency_of(exc)) is not None:
        reason = f"{dependency} was unreachable ({type(exc).__name__})"
        return _Failure(reason, True, retry_after, outage=dependency, detail=repr(exc)[:500])
    if isinstance(exc, Transient):
        return _Failure(_reason(exc), retryable=True, retry_after=retry_after)
    if isinstance(exc, DraftbotError):
        return _Failure(_reason(exc), retryable=False)
    return _Failure("an unexpected error on our side", retryable=True, detail=repr(exc)[:500])


def _reason(exc: DraftbotError) -> str:
    # Job control errors say it in words; the others keep their type, which the audit trail shows.
    return exc.message if isinstance(exc, RetryLater | PermanentFailure) else f"{type(exc).__name__}: {exc}"


def default_worker_id() -> str:
    """Unique per process start, so a restarted worker never mistakes an old lease for its own; it names
    the host and process, so that a process starting on the same host can tell that the old one is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def gone_from_this_host(worker_id: str) -> bool:
    """Whether ``worker_id`` (see :func:`default_worker_id`) names a process of this host that has ended."""
    host, _, rest = worker_id.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False


class JobRunner:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        worker_id: str,
        lease_seconds: float,
        concurrency: int,
        clock: Callable[[], datetime] = utcnow,
        backoff: Backoff | None = None,
        on_give_up: GiveUpHook | None = None,
        poll_interval: float = 0.5,
        doorbell: Doorbell | None = None,
        outage_budget_seconds: float = 900.0,
        outages: OutageWatch | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._sessions = session_factory
        self._handlers = dict(handlers)
        self.worker_id = worker_id
        self._lease_seconds = lease_seconds
        self._concurrency = concurrency
        self.clock = clock
        self._backoff = backoff or Backoff()
        self._on_give_up = on_give_up
        self._poll_interval = poll_interval
        self.doorbell = doorbell or Doorbell()
        self.outages = outages or OutageWatch()
        self._outage_budget = outage_budget_seconds
        self._in_flight: set[asyncio.Task[None]] = set()
        self.metrics = metrics or Metrics()

    def wake(self) -> None:
        """Tell a sleeping :meth:`run_forever` that a job was just enqueued (rings :attr:`doorbell`)."""
        self.doorbell.ring()

    async def run_once(self) -> int:
        """Claim up to the free slots, run those jobs concurrently, and return how many ran."""
        jobs = await self._claim(self._concurrency - len(self._in_flight))
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def run_until_idle(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109 (a test/CLI convenience)
        """Run batches until no job is runnable now (by the clock), including jobs that jobs enqueued.

        Jobs waiting for a later ``run_after`` (a retry's backoff) are left for when the clock reaches them.
        """
        total = 0
        async with asyncio.timeout(timeout):
            while ran := await self.run_once():
                total += ran
        return total

    async def run_forever(self, stop: asyncio.Event, *, grace_seconds: float = 30.0) -> None:
        """Keep up to ``concurrency`` jobs in flight until ``stop`` is set.

        On stop, claim nothing more and give running jobs ``grace_seconds`` to finish; the rest are cancelled,
        and their leases expire so that another worker runs them again.
        """
        await self._take_back_abandoned()
        while not stop.is_set():
            if (pause := self.outages.pause_left()) > 0:  # Slack or the database is away: let it come back
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                if stop.is_set():
                    break
            try:
                jobs = await self._claim(self._concurrency - len(self._in_flight))
            except Exception as err:  # claiming is only the database
                self.outages.went_away(DATABASE, err)
                continue
            self.outages.came_back(DATABASE)
            self._start(jobs)
            # Slots full: a finishing job wakes us to claim more. Slots free: nothing is runnable right now.
            await self._idle(stop)

        if not self._in_flight:
            return
        log.info("stopping: waiting up to %.0fs for %d job(s)", grace_seconds, len(self._in_flight))
        _, pending = await asyncio.wait(self._in_flight, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _take_back_abandoned(self) -> None:
        """A process that died on this host left its jobs leased to it: queue them again now, instead of
        after their leases run out (the restart of a single-process bot finds its drafts at once)."""
        try:
            released = await jobqueue.release_abandoned(self._sessions, gone_from_this_host, self.clock())
        except Exception as err:  # not fatal: the leases still run out
            log.warning("could not look for jobs a stopped process left behind: %s", type(err).__name__)
            return
        if released:
            log.info("took back %d job(s) a stopped process on this host left behind", len(released))

    async def _claim(self, slots: int) -> list[ClaimedJob]:
        self.doorbell.clear()  # before claiming: a wake during the claim must not be lost
        if slots < 1:
            return []
        return await jobqueue.claim(
            self._sessions,
            worker_id=self.worker_id,
            lease_seconds=self._lease_seconds,
            now=self.clock(),
            kinds=self._handlers.keys(),
            limit=slots,
        )

    def _start(self, jobs: list[ClaimedJob]) -> None:
        for job in jobs:
            task = asyncio.create_task(self._run(job), name=f"job-{job.id}-{job.kind}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep until woken, stopped, a slot frees up, or the poll interval passes."""
        waiters = [asyncio.create_task(self.doorbell.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(
                [*waiters, *self._in_flight], timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _run(self, job: ClaimedJob) -> None:
        """Run one job, its log lines naming it, its draft and its team (:mod:`bot.logs`)."""
        with job_context(job=job.id, team=job.team_id, draft=job.draft_id):
            await self._run_leased(job)
            log.debug("job %s (%s) attempt %d ended", job.id, job.kind, job.attempts)

    async def _run_leased(self, job: ClaimedJob) -> None:
        """Run one job while its lease holds. Fencing: if the lease is lost, or cannot be renewed before it
        runs out (the database is unreachable), the handler is cancelled before any further side effect,
        and the outcome is left to whoever holds the job now."""
        if job.attempts > job.max_attempts:
            # Reclaimed after its last attempt's lease expired: the worker died or hung running it.
            expired = _Failure("lease expired during the last attempt (worker crashed?)", retryable=False)
            await self._settle_or_log(job, expired)
            return
        handler = self._handlers[job.kind]

        async def run_handler() -> None:
            await handler(job)

        work = asyncio.create_task(run_handler(), name=f"job-{job.id}-{job.kind}-work")
        lease = asyncio.create_task(self._keep_lease(job), name=f"job-{job.id}-lease")
        failure: _Failure | None = None
        try:
            await asyncio.wait({work, lease}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():  # the lease is gone: stop before the next side effect
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
                log.warning(
                    "job %s (%s) attempt %d stopped: %s",
                    job.id,
                    job.kind,
                    job.attempts,
                    lease.result() if not lease.cancelled() else "lease lost",
                )
                self.metrics.job_attempt(job.kind, "lost", None, self.clock())
                return
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
            work.result()
        except asyncio.CancelledError:
            # Stopped mid-run (shutdown past the grace period): hand the job back now rather than let its
            # lease run out, so a restart picks it up at once. Handlers are idempotent: re-running is safe.
            for task in (work, lease):
                task.cancel()
            await asyncio.gather(work, lease, return_exceptions=True)
            with contextlib.suppress(Exception):
                await jobqueue.retry_later(
                    self._sessions,
                    job.id,
                    self.worker_id,
                    self.clock(),
                    "interrupted by shutdown",
                    attempt=job.attempts,
                )
            raise
        except Exception as exc:
            failure = _classify(exc)
            if failure.outage is not None:  # said once for the whole outage, not once per job
                self.outages.went_away(failure.outage, exc)
                log.debug("job %s (%s) waits: %s (%r)", job.id, job.kind, failure.reason, exc)
            else:
                log.warning(
                    "job %s (%s) attempt %d/%d failed: %s",
                    job.id,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    failure.reason,
                    exc_info=failure.tell and not isinstance(exc, DraftbotError),
                )
        else:
            # The job reached the database; whether Slack is back, only Slack's answers say (a job may
            # finish without calling Slack at all): see bot.slack_client.SlackClient.on_answer.
            self.outages.came_back(DATABASE)
        await self._settle_or_log(job, failure)

    async def _settle_or_log(self, job: ClaimedJob, failure: _Failure | None) -> None:
        try:
            await self._settle(job, failure)
        except Exception as err:
            # The job stays running; its lease expires and it runs again, which idempotent handlers allow.
            if dependency_of(err) == DATABASE:
                self.outages.went_away(DATABASE, err)
            else:
                log.exception("could not record the outcome of job %s (%s)", job.id, job.kind)

    async def _settle(self, job: ClaimedJob, failure: _Failure | None) -> None:
        now = self.clock()
        if failure is not None and failure.outage is not None:
            since = job.waiting_since or now
            waited = (now - since).total_seconds()
            if waited < self._outage_budget:
                delay = max(self.outages.delay(failure.outage), failure.retry_after or 0.0)
                held = await self._retry(job, failure, now, delay, waiting_since=since)
                self._count(job, "retry" if held else "lost", now)
                return
            failure = _Failure(
                f"{describe(failure.outage, waited)}; press Retry to try again", retryable=False
            )
        if failure is None:
            outcome = "done"
            held = await jobqueue.complete(self._sessions, job.id, self.worker_id, now, attempt=job.attempts)
        elif failure.retryable and job.attempts < job.max_attempts:
            outcome = "retry"
            held = await self._retry(
                job, failure, now, self._backoff.delay(job.attempts, failure.retry_after)
            )
        else:
            outcome = "failed"
            held = await jobqueue.give_up(
                self._sessions, job.id, self.worker_id, failure.last_error, now, attempt=job.attempts
            )
            if held:
                log.error("job %s (%s) failed for good: %s", job.id, job.kind, failure.last_error)
                if failure.tell:
                    await self._call_on_give_up(job, failure.reason)
        self._count(job, outcome if held else "lost", now)

    def _count(self, job: ClaimedJob, outcome: str, now: datetime) -> None:
        """The attempt in the metrics: its outcome, and (unless lost) the time since the job was runnable."""
        if outcome == "lost":
            self._log_lost(job)
        self.metrics.job_attempt(job.kind, outcome, None if outcome == "lost" else job.runnable_since, now)

    async def _retry(
        self,
        job: ClaimedJob,
        failure: _Failure,
        now: datetime,
        delay: float,
        *,
        waiting_since: datetime | None = None,
    ) -> bool:
        return await jobqueue.retry_later(
            self._sessions,
            job.id,
            self.worker_id,
            now + timedelta(seconds=delay),
            failure.last_error,
            now=now,
            attempt=job.attempts,
            waiting_since=waiting_since,
        )

    @staticmethod
    def _log_lost(job: ClaimedJob) -> None:
        log.warning(
            "job %s (%s) attempt %d had lost its lease (another worker took it over, or it was stopped); "
            "outcome not recorded",
            job.id,
            job.kind,
            job.attempts,
        )

    async def _call_on_give_up(self, job: ClaimedJob, reason: str) -> None:
        if self._on_give_up is None:
            return
        try:
            await self._on_give_up(job, reason)
        except Exception:
            log.exception("on_give_up failed for job %s (%s)", job.id, job.kind)

    async def _keep_lease(self, job: ClaimedJob) -> str:
        """Renew the lease every third of its length; return (ending the job) when another worker took the
        job over, or when renewals kept failing until the lease is about to run out."""
        interval = self._lease_seconds / 3
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                held = await jobqueue.heartbeat(
                    self._sessions,
                    job.id,
                    self.worker_id,
                    self._lease_seconds,
                    self.clock(),
                    attempt=job.attempts,
                )
            except Exception as err:
                # Past this point another worker may take the job: stop rather than risk doing it twice.
                if time.monotonic() - renewed + interval >= self._lease_seconds:
                    return (
                        f"could not renew the lease ({type(err).__name__}); it runs out before the next try"
                    )
                continue
            if not held:
                return "the job is no longer ours (another worker took it over, or it was stopped)"
            renewed = time.monotonic()
