"""The SQL side of durable jobs: enqueue, claim with a lease, and settle. No business logic.

Life cycle: ``queued`` -> (claim) ``running`` -> ``done`` | ``failed`` | back to ``queued`` (retry).
A running job whose lease expired (its worker crashed or stalled) is runnable again.

Every change to a claimed job is one guarded UPDATE ("... WHERE id = :id AND lease_owner = :me AND
attempts = :attempt AND status = 'running'") whose row count says whether we still held the job. That makes
the same code correct on SQLite and PostgreSQL and with any number of workers: a worker that lost its lease
cannot overwrite the claim of the worker that took over. The time is always passed in, so tests own the clock.

Claiming and settling act on jobs of every team (a worker serves them all); a job is addressed by its id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Job, utcnow

log = logging.getLogger(__name__)

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

# PostgreSQL: every transaction that queues a due job notifies this channel as it commits (one notification
# however many jobs), so idle workers in other processes wake at once instead of at their next poll.
NOTIFY_CHANNEL = "draftbot_jobs"

# The ``run_after`` of a job wanted as soon as possible. Not the wall clock: a worker running on an injected
# clock (tests, replays) that is behind real time would otherwise never see the job as due.
ASAP = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    team_id: str
    kind: str
    draft_id: int | None
    payload: dict[str, Any]
    attempts: int  # including this one; also the fencing token of this claim
    max_attempts: int
    lease_owner: str
    waiting_since: datetime | None = None  # waiting out an outage since then
    runnable_since: datetime | None = None  # when it became runnable (its run_after, or when it was made)


async def enqueue(
    session: AsyncSession,
    *,
    team_id: str,
    kind: str,
    payload: dict[str, Any],
    draft_id: int | None = None,
    max_attempts: int,
    run_after: datetime | None = None,
    dedupe_key: str | None = None,
) -> Job | None:
    """Add a job to the caller's session; the caller's commit writes it with the change that asked for it.

    Without ``run_after`` the job is due at once, whatever clock the worker runs on.
    With ``dedupe_key``: if a queued job with that key exists, add nothing and return None. Keys are global,
    so make them specific (e.g. ``f"refresh-parent:{draft_id}"``).
    """
    job = Job(
        team_id=team_id,
        kind=kind,
        payload=payload,
        draft_id=draft_id,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or ASAP,
        dedupe_key=dedupe_key,
    )
    if job.run_after == ASAP:
        await _announce(session)
    if dedupe_key is None:
        session.add(job)
        return job

    # Locked (PostgreSQL): a worker's claim skips the job until our change commits, so the job we fold
    # into runs after it and sees it; and if a claim got there first, we wait for it and queue a new job.
    queued = select(Job.id).where(Job.dedupe_key == dedupe_key).with_for_update()
    if await session.scalar(queued) is not None:
        return None  # only queued jobs hold a key: claiming releases it
    try:
        # A savepoint, so losing a race to a concurrent enqueue does not spoil the caller's transaction.
        async with session.begin_nested():
            session.add(job)
    except IntegrityError:
        log.debug("job %s with dedupe key %r already queued", kind, dedupe_key)
        return None
    return job


async def enqueue_many(
    session: AsyncSession,
    *,
    team_id: str,
    draft_id: int | None,
    max_attempts: int,
    jobs: list[tuple[str, dict[str, Any]]],
) -> None:
    """Several due-now jobs (kind, payload) in one INSERT, in the caller's transaction. No dedupe keys."""
    rows = [
        {
            "team_id": team_id,
            "kind": kind,
            "payload": payload,
            "draft_id": draft_id,
            "status": QUEUED,
            "attempts": 0,
            "max_attempts": max_attempts,
            "run_after": ASAP,
        }
        for kind, payload in jobs
    ]
    if rows:
        await session.execute(insert(Job), rows)
        await _announce(session)


async def _announce(session: AsyncSession) -> None:
    """On PostgreSQL, NOTIFY :data:`NOTIFY_CHANNEL` when the caller's transaction commits (not if it rolls
    back; PostgreSQL folds a transaction's identical notifications into one)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


def _runnable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == QUEUED, Job.run_after <= now),
        and_(Job.status == RUNNING, Job.lease_expires_at < now),
    )


async def claim(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    worker_id: str,
    lease_seconds: float,
    now: datetime,
    kinds: Collection[str] | None = None,
    limit: int = 1,
) -> list[ClaimedJob]:
    """Claim up to ``limit`` runnable jobs, oldest first: queued and due, or running with an expired lease."""
    if limit < 1:
        return []
    async with session_factory() as session, session.begin():
        pick = select(Job.id).where(_runnable(now)).order_by(Job.run_after, Job.id).limit(limit)
        if kinds is not None:
            pick = pick.where(Job.kind.in_(list(kinds)))
        if (await session.connection()).dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)  # lock ours, skip rows other workers are claiming
        # Two statements, not UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED): PostgreSQL
        # may re-run such a subquery and claim more than n rows. The UPDATE repeats the runnable condition, so
        # even without row locks (SQLite) a job that another worker claimed meanwhile is not claimed again.
        ids = list((await session.scalars(pick)).all())
        if not ids:
            return []
        stmt = (
            update(Job)
            .where(Job.id.in_(ids), _runnable(now))
            .values(
                status=RUNNING,
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
                dedupe_key=None,
                updated_at=now,
            )
            .returning(
                Job.id,
                Job.team_id,
                Job.kind,
                Job.draft_id,
                Job.payload,
                Job.attempts,
                Job.max_attempts,
                Job.lease_owner,
                Job.waiting_since,
                Job.run_after,
                Job.created_at,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (await session.execute(stmt)).all()
    claimed = sorted((_claimed(*row) for row in rows), key=lambda job: job.id)
    if claimed:
        log.debug("%s claimed jobs %s", worker_id, [job.id for job in claimed])
    return claimed


def _claimed(*row: Any) -> ClaimedJob:
    """A claimed job from ``claim``'s RETURNING row (its fields, then ``run_after`` and ``created_at``)."""
    job_id, team_id, kind, draft_id, payload, attempts, max_attempts, owner, waiting, run_after, made = row
    return ClaimedJob(
        job_id, team_id, kind, draft_id, payload, attempts, max_attempts, owner, waiting, max(run_after, made)
    )


async def _settle(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: int,
    worker_id: str,
    attempt: int | None,
    **values: Any,
) -> bool:
    """Apply ``values`` to a job only while ``worker_id`` (at ``attempt``, if given) still holds it."""
    conditions = [Job.id == job_id, Job.lease_owner == worker_id, Job.status == RUNNING]
    if attempt is not None:
        conditions.append(Job.attempts == attempt)
    stmt = update(Job).where(*conditions).values(**values).execution_options(synchronize_session=False)
    async with session_factory() as session, session.begin():
        result = cast("CursorResult[Any]", await session.execute(stmt))
    return result.rowcount == 1


async def heartbeat(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: int,
    worker_id: str,
    lease_seconds: float,
    now: datetime,
    *,
    attempt: int | None = None,
) -> bool:
    """Extend the lease; False means another worker took the job over."""
    return await _settle(
        session_factory,
        job_id,
        worker_id,
        attempt,
        lease_expires_at=now + timedelta(seconds=lease_seconds),
        updated_at=now,
    )


async def drop_queued(
    session: AsyncSession, *, team_id: str, draft_id: int, kinds: Collection[str], now: datetime, why: str
) -> int:
    """In the caller's transaction: settle a draft's queued jobs of ``kinds`` as done without running them
    (the draft was cancelled). Running jobs finish their step and find the draft cancelled."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Job)
            .where(
                Job.team_id == team_id,
                Job.draft_id == draft_id,
                Job.status == QUEUED,
                Job.kind.in_(list(kinds)),
            )
            .values(status=DONE, finished_at=now, updated_at=now, last_error=why, dedupe_key=None)
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


async def stop_team(session: AsyncSession, *, team_id: str, now: datetime, why: str) -> int:
    """In the caller's transaction: fail every unfinished job of ``team_id`` now, without running it (the
    workspace uninstalled the app). A running job loses its lease, so its worker stops it before its next
    side effect (see ``JobRunner._keep_lease``)."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Job)
            .where(Job.team_id == team_id, Job.status.in_((QUEUED, RUNNING)))
            .values(
                status=FAILED,
                finished_at=now,
                updated_at=now,
                last_error=why,
                lease_owner=None,
                lease_expires_at=None,
                dedupe_key=None,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


async def complete(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: int,
    worker_id: str,
    now: datetime,
    *,
    attempt: int | None = None,
) -> bool:
    return await _settle(
        session_factory,
        job_id,
        worker_id,
        attempt,
        status=DONE,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
        waiting_since=None,
    )


async def retry_later(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: int,
    worker_id: str,
    run_after: datetime,
    error: str,
    *,
    now: datetime | None = None,
    attempt: int | None = None,
    waiting_since: datetime | None = None,
) -> bool:
    """Back to the queue until ``run_after``, keeping ``error`` as the last error.

    With ``waiting_since`` the job is waiting out an outage: the attempt it just made is given back (an
    outage is not the job's failure) and the time is kept for its outage budget."""
    refund = {"attempts": Job.attempts - 1} if waiting_since is not None else {}
    return await _settle(
        session_factory,
        job_id,
        worker_id,
        attempt,
        status=QUEUED,
        run_after=run_after,
        last_error=error,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now if now is not None else utcnow(),
        waiting_since=waiting_since,
        **refund,
    )


async def give_up(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: int,
    worker_id: str,
    error: str,
    now: datetime,
    *,
    attempt: int | None = None,
) -> bool:
    return await _settle(
        session_factory,
        job_id,
        worker_id,
        attempt,
        status=FAILED,
        last_error=error,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )


async def release_abandoned(
    session_factory: async_sessionmaker[AsyncSession], gone: Callable[[str], bool], now: datetime
) -> list[int]:
    """Put back in the queue, due at once, the running jobs of every lease owner that ``gone`` says no longer
    exists (a process that died), rather than wait for their leases to run out. Returns their ids."""
    async with session_factory() as session, session.begin():
        owners = (
            await session.scalars(
                select(Job.lease_owner).where(Job.status == RUNNING, Job.lease_owner.is_not(None)).distinct()
            )
        ).all()
        dead = [owner for owner in owners if owner is not None and gone(owner)]
        if not dead:
            return []
        rows = await session.execute(
            update(Job)
            .where(Job.status == RUNNING, Job.lease_owner.in_(dead))
            .values(
                status=QUEUED,
                run_after=ASAP,
                lease_owner=None,
                lease_expires_at=None,
                last_error="its worker process had stopped",
                updated_at=now,
            )
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(rows.scalars().all())


async def next_due(
    session_factory: async_sessionmaker[AsyncSession], *, scheduled: Collection[str] = ()
) -> datetime | None:
    """When the next unfinished job becomes runnable (a queued job's run_after, a running job's lease
    expiry), or None when every job is done or failed.

    Jobs of the ``scheduled`` kinds that wait for their first run are not unfinished work but work for
    later (a deadline hours ahead): they are left out, so a drain does not wait for them. Once tried, their
    retries count like any job's."""
    waiting: ColumnElement[bool] = Job.status == QUEUED
    if scheduled:
        first_run = and_(Job.kind.in_(list(scheduled)), Job.attempts == 0, Job.waiting_since.is_(None))
        waiting = and_(waiting, ~first_run)
    async with session_factory() as session:
        queued = await session.scalar(select(func.min(Job.run_after)).where(waiting))
        leased = await session.scalar(select(func.min(Job.lease_expires_at)).where(Job.status == RUNNING))
    pending = [at for at in (queued, leased) if at is not None]
    return min(pending) if pending else None


async def counts(
    session_factory: async_sessionmaker[AsyncSession], statuses: Collection[str]
) -> dict[tuple[str, str], int]:
    """How many jobs of each kind are in each of ``statuses`` now: ``{(kind, status): count}``."""
    async with session_factory() as session:
        rows = await session.execute(
            select(Job.kind, Job.status, func.count())
            .where(Job.status.in_(list(statuses)))
            .group_by(Job.kind, Job.status)
        )
        return {(kind, status): int(count) for kind, status, count in rows.all()}
