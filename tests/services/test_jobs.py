"""The job runner against a real SQLite file: retries, giving up, crashes, concurrency."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.errors import SLACK, Outage
from bot.jobs import Backoff, Doorbell, JobRunner, PermanentFailure, RetryLater
from bot.providers.base import RateLimited, Refused
from storage import jobqueue
from storage.db import create_engine, session_factory, upgrade
from storage.jobqueue import ClaimedJob
from storage.models import Job, ProcessedRequest

Sessions = async_sessionmaker[AsyncSession]


class Clock:
    """Starts in the past on purpose: jobs enqueued without ``run_after`` must still be due."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return session_factory(engine)


class GiveUps:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    async def __call__(self, job: ClaimedJob, reason: str) -> None:
        self.calls.append((job.id, reason))


def runner(sessions: Sessions, clock: Clock, handlers: dict[str, Any], **overrides: Any) -> JobRunner:
    options: dict[str, Any] = {
        "worker_id": "W1",
        "lease_seconds": 60,
        "concurrency": 4,
        "clock": clock,
        "backoff": Backoff(rng=random.Random(7)),
        "poll_interval": 0.01,
    }
    return JobRunner(sessions, handlers, **(options | overrides))


async def enqueue(sessions: Sessions, clock: Clock, kind: str = "work", **overrides: Any) -> int:
    values: dict[str, Any] = {
        "team_id": "T1",
        "kind": kind,
        "payload": {},
        "max_attempts": 3,
        "run_after": clock(),
    }
    async with sessions() as session, session.begin():
        job = await jobqueue.enqueue(session, **(values | overrides))
        assert job is not None
        await session.flush()
        return job.id


async def job_row(sessions: Sessions, job_id: int) -> Job:
    async with sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


# --- backoff ---


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    backoff = Backoff(rng=random.Random(1))
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (5, 16), (9, 256), (10, 300), (40, 300)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8, "jitter should spread over the whole range"


def test_backoff_lets_a_longer_retry_after_win() -> None:
    backoff = Backoff(rng=random.Random(1))
    assert backoff.delay(1, retry_after=120) == 120
    assert 0 <= backoff.delay(9, retry_after=0.5) <= 256
    assert Backoff(rng=random.Random(3)).delay(4) == Backoff(rng=random.Random(3)).delay(4)


# --- outcomes ---


async def test_a_successful_job_is_done(sessions: Sessions, clock: Clock) -> None:
    seen: list[ClaimedJob] = []

    async def handler(job: ClaimedJob) -> None:
        seen.append(job)

    job_id = await enqueue(sessions, clock, payload={"variant": 2}, draft_id=None)
    assert await runner(sessions, clock, {"work": handler}).run_until_idle() == 1
    assert [(job.id, job.payload, job.attempts) for job in seen] == [(job_id, {"variant": 2}, 1)]
    row = await job_row(sessions, job_id)
    assert (row.status, row.finished_at, row.last_error) == ("done", clock(), None)


async def test_a_failing_job_backs_off_then_gives_up_with_its_reason(
    sessions: Sessions, clock: Clock
) -> None:
    async def handler(job: ClaimedJob) -> None:
        raise RetryLater(f"provider busy (attempt {job.attempts})")

    give_ups = GiveUps()
    jobs = runner(sessions, clock, {"work": handler}, on_give_up=give_ups)
    expected_delays = Backoff(rng=random.Random(7))
    job_id = await enqueue(sessions, clock, max_attempts=3)

    for attempt in (1, 2):
        assert await jobs.run_until_idle() == 1
        row = await job_row(sessions, job_id)
        delay = expected_delays.delay(attempt)
        assert (row.status, row.attempts, row.last_error) == (
            "queued",
            attempt,
            f"provider busy (attempt {attempt})",
        )
        assert row.run_after == clock() + timedelta(seconds=delay)
        assert await jobs.run_until_idle() == 0, "not due yet by the clock"
        clock.advance(delay)

    assert await jobs.run_until_idle() == 1
    row = await job_row(sessions, job_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "provider busy (attempt 3)")
    assert row.finished_at == clock()
    assert give_ups.calls == [(job_id, "provider busy (attempt 3)")]

    clock.advance(3600)
    assert await jobs.run_until_idle() == 0
    assert len(give_ups.calls) == 1


async def test_an_unexpected_exception_is_retried_and_its_traceback_logged(
    sessions: Sessions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(job: ClaimedJob) -> None:
        raise ZeroDivisionError("oops")

    job_id = await enqueue(sessions, clock)
    with caplog.at_level(logging.WARNING, logger="bot.jobs"):
        await runner(sessions, clock, {"work": handler}).run_until_idle()
    row = await job_row(sessions, job_id)
    # Operators see the exception; the reason people may read says it in words.
    assert (row.status, row.last_error) == (
        "queued",
        "an unexpected error on our side: ZeroDivisionError('oops')",
    )
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Refused("unsafe prompt", provider="openai"), "Refused: unsafe prompt"),
        (PermanentFailure("draft 9 is gone"), "draft 9 is gone"),
    ],
)
async def test_a_non_retryable_error_gives_up_at_once(
    sessions: Sessions, clock: Clock, error: Exception, reason: str
) -> None:
    async def handler(job: ClaimedJob) -> None:
        raise error

    give_ups = GiveUps()
    job_id = await enqueue(sessions, clock, max_attempts=5)
    await runner(sessions, clock, {"work": handler}, on_give_up=give_ups).run_until_idle()
    row = await job_row(sessions, job_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, reason)
    assert give_ups.calls == [(job_id, reason)]


@pytest.mark.parametrize(
    "error",
    [RateLimited("slow down", provider="gemini", retry_after=120), RetryLater("later", retry_after=120)],
)
async def test_retry_after_is_honoured(sessions: Sessions, clock: Clock, error: Exception) -> None:
    async def handler(job: ClaimedJob) -> None:
        raise error

    job_id = await enqueue(sessions, clock)
    await runner(sessions, clock, {"work": handler}).run_until_idle()
    row = await job_row(sessions, job_id)
    assert (row.status, row.run_after) == ("queued", clock() + timedelta(seconds=120))


# --- crashes and leases ---


async def test_a_crashed_workers_job_is_rerun_by_another_exactly_once(
    sessions: Sessions, clock: Clock
) -> None:
    calls: Counter[str] = Counter()

    async def post_variant(job: ClaimedJob) -> None:
        """Idempotent, as job handlers must be: skip the side effect if it is already there."""
        calls[job.lease_owner] += 1
        async with sessions() as session, session.begin():
            key = f"posted:{job.id}"
            exists = await session.scalar(sa.select(ProcessedRequest.id).where(ProcessedRequest.key == key))
            if exists is None:
                session.add(ProcessedRequest(team_id=job.team_id, key=key))

    job_id = await enqueue(sessions, clock)
    # Worker A claims the job, does the work, and dies before recording that it is done.
    [by_a] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=clock())
    await post_variant(by_a)

    clock.advance(30)
    b = runner(sessions, clock, {"work": post_variant}, worker_id="B", lease_seconds=60)
    assert await b.run_until_idle() == 0, "A's lease still holds"
    clock.advance(31)
    assert await b.run_until_idle() == 1

    row = await job_row(sessions, job_id)
    assert (row.status, row.lease_owner, row.attempts) == ("done", "B", 2)
    assert not await jobqueue.complete(sessions, job_id, "A", clock(), attempt=by_a.attempts)
    assert (await job_row(sessions, job_id)).updated_at == row.updated_at
    assert calls == {"A": 1, "B": 1}
    async with sessions() as session:
        posted = await session.scalar(sa.select(sa.func.count()).select_from(ProcessedRequest))
    assert posted == 1


async def test_a_job_that_lost_its_lease_mid_run_does_not_complete_over_the_new_owner(
    sessions: Sessions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def stalls(job: ClaimedJob) -> None:
        started.set()
        await release.wait()

    async def quick(job: ClaimedJob) -> None:
        pass

    job_id = await enqueue(sessions, clock)
    a = runner(sessions, clock, {"work": stalls}, worker_id="A", lease_seconds=60)
    a_running = asyncio.create_task(a.run_once())
    await started.wait()

    clock.advance(61)
    assert await runner(sessions, clock, {"work": quick}, worker_id="B").run_until_idle() == 1
    finished_by_b = await job_row(sessions, job_id)

    with caplog.at_level(logging.WARNING, logger="bot.jobs"):
        release.set()
        assert await a_running == 1
    row = await job_row(sessions, job_id)
    assert (row.status, row.lease_owner, row.updated_at) == ("done", "B", finished_by_b.updated_at)
    assert "lost its lease" in caplog.text


async def test_a_job_whose_last_attempt_crashed_is_given_up(sessions: Sessions, clock: Clock) -> None:
    ran: list[int] = []

    async def handler(job: ClaimedJob) -> None:
        ran.append(job.id)

    give_ups = GiveUps()
    job_id = await enqueue(sessions, clock, max_attempts=1)
    await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=clock())
    clock.advance(61)
    await runner(sessions, clock, {"work": handler}, on_give_up=give_ups).run_until_idle()

    assert ran == []
    row = await job_row(sessions, job_id)
    assert row.status == "failed"
    assert [job for job, _ in give_ups.calls] == [job_id]


async def test_the_heartbeat_keeps_a_long_job_leased(sessions: Sessions) -> None:
    # Real time here: the heartbeat runs every lease/3 seconds.
    async def slow(job: ClaimedJob) -> None:
        await asyncio.sleep(0.5)

    job_id = await enqueue(sessions, Clock(), run_after=datetime.now(UTC) - timedelta(seconds=1))
    jobs = JobRunner(sessions, {"work": slow}, worker_id="A", lease_seconds=0.3, concurrency=1)
    thief = asyncio.create_task(_claim_when_possible(sessions, seconds=0.45))
    assert await jobs.run_until_idle() == 1
    assert await thief == [], "the lease was kept alive, so nobody else could take the job"
    assert (await job_row(sessions, job_id)).status == "done"


async def _claim_when_possible(sessions: Sessions, seconds: float) -> list[ClaimedJob]:
    await asyncio.sleep(seconds)
    return await jobqueue.claim(sessions, worker_id="thief", lease_seconds=60, now=datetime.now(UTC))


# --- concurrency ---


async def test_concurrent_runners_run_every_job_exactly_once(engine: AsyncEngine, clock: Clock) -> None:
    ran: Counter[int] = Counter()
    in_flight = 0
    most_in_flight = 0

    async def handler(job: ClaimedJob) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.01)
        ran[job.id] += 1
        in_flight -= 1

    sessions = session_factory(engine)
    job_ids = [await enqueue(sessions, clock) for _ in range(20)]
    workers = [
        runner(session_factory(engine), clock, {"work": handler}, worker_id=f"W{i}", concurrency=2)
        for i in range(4)
    ]
    await asyncio.gather(*(worker.run_until_idle() for worker in workers))

    assert sorted(ran) == job_ids
    assert set(ran.values()) == {1}
    assert 1 < most_in_flight <= 8
    async with sessions() as session:
        statuses = (await session.scalars(sa.select(Job.status))).all()
    assert set(statuses) == {"done"}


async def test_run_until_idle_runs_jobs_that_jobs_enqueue(sessions: Sessions, clock: Clock) -> None:
    order: list[str] = []

    async def generate(job: ClaimedJob) -> None:
        order.append(f"generate {job.payload['n']}")
        async with sessions() as session, session.begin():
            await jobqueue.enqueue(
                session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key="refresh:1"
            )

    async def refresh(job: ClaimedJob) -> None:
        order.append("refresh")

    for n in (1, 2):
        await enqueue(sessions, clock, kind="generate", payload={"n": n})
    jobs = runner(sessions, clock, {"generate": generate, "refresh": refresh}, concurrency=1)
    assert await jobs.run_until_idle() == 4
    assert order == ["generate 1", "refresh", "generate 2", "refresh"]


async def test_run_until_idle_leaves_future_jobs_alone(sessions: Sessions, clock: Clock) -> None:
    async def handler(job: ClaimedJob) -> None:
        raise AssertionError("must not run yet")

    await enqueue(sessions, clock, run_after=clock() + timedelta(hours=1))
    assert await runner(sessions, clock, {"work": handler}).run_until_idle(timeout=5) == 0


async def test_run_forever_refills_slots_without_waiting_for_the_batch(
    sessions: Sessions, clock: Clock
) -> None:
    release_slow = asyncio.Event()
    done: list[str] = []
    all_quick_done = asyncio.Event()

    async def handler(job: ClaimedJob) -> None:
        if job.payload["name"] == "slow":
            await release_slow.wait()
        done.append(job.payload["name"])
        if len(done) == 3:
            all_quick_done.set()

    for name in ("slow", "q1", "q2", "q3"):
        await enqueue(sessions, clock, payload={"name": name})
    jobs = runner(sessions, clock, {"work": handler}, concurrency=2, poll_interval=5)
    stop = asyncio.Event()
    worker = asyncio.create_task(jobs.run_forever(stop))

    # With two slots and one stuck on "slow", the three quick jobs flow through the other slot.
    await asyncio.wait_for(all_quick_done.wait(), timeout=5)
    assert done == ["q1", "q2", "q3"]

    late = await enqueue(sessions, clock, payload={"name": "late"})
    jobs.wake()  # poll_interval is 5 s: only the nudge can make this quick
    release_slow.set()
    for _ in range(200):
        if (await job_row(sessions, late)).status == "done":
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(worker, timeout=5)
    assert sorted(done) == ["late", "q1", "q2", "q3", "slow"]


async def test_a_ring_of_the_shared_doorbell_wakes_an_idle_runner(sessions: Sessions, clock: Clock) -> None:
    """What enqueues jobs gets the runner's doorbell at construction, not the runner: ringing it is enough."""
    bell = Doorbell()
    done = asyncio.Event()

    async def handler(job: ClaimedJob) -> None:
        done.set()

    jobs = runner(sessions, clock, {"work": handler}, poll_interval=5, doorbell=bell)
    stop = asyncio.Event()
    worker = asyncio.create_task(jobs.run_forever(stop))
    await asyncio.sleep(0.1)  # idle: claimed nothing, now waiting up to the 5 s poll interval
    await enqueue(sessions, clock)
    bell.ring()
    await asyncio.wait_for(done.wait(), timeout=2)
    stop.set()
    await asyncio.wait_for(worker, timeout=5)


async def test_stopping_cancels_jobs_past_the_grace_period_and_hands_them_back(
    sessions: Sessions, clock: Clock
) -> None:
    started = asyncio.Event()

    async def hangs(job: ClaimedJob) -> None:
        started.set()
        await asyncio.Event().wait()

    job_id = await enqueue(sessions, clock)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        runner(sessions, clock, {"work": hangs}).run_forever(stop, grace_seconds=0.05)
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(worker, timeout=5)

    row = await job_row(sessions, job_id)
    # Back in the queue at once, not after its lease runs out: a restarted worker takes it straight away.
    assert (row.status, row.last_error) == ("queued", "interrupted by shutdown")
    assert len(await jobqueue.claim(sessions, worker_id="W2", lease_seconds=60, now=clock())) == 1


# --- fencing: side effects only while the lease is held -----------------------------------------------


async def test_a_job_whose_lease_is_taken_over_stops_before_its_next_side_effect(
    sessions: Sessions, clock: Clock
) -> None:
    started, effects = asyncio.Event(), []

    async def slow(job: ClaimedJob) -> None:
        started.set()
        await asyncio.sleep(5)
        effects.append(job.id)  # e.g. posting to Slack: must not happen once another worker holds the job

    job_id = await enqueue(sessions, clock)
    first = runner(sessions, clock, {"work": slow}, lease_seconds=0.3)
    run = asyncio.create_task(first.run_once())
    await asyncio.wait_for(started.wait(), 5)
    # Another worker claims the job after its lease ran out (the first worker stalled): it holds it now.
    clock.advance(1)
    taken = await jobqueue.claim(sessions, worker_id="W2", lease_seconds=60, now=clock())
    assert [job.id for job in taken] == [job_id]
    await asyncio.wait_for(run, 5)  # stopped at its next heartbeat, well before its 5 s of work
    assert effects == []
    row = await job_row(sessions, job_id)
    assert (row.status, row.lease_owner) == ("running", "W2")  # the first worker recorded nothing


async def test_a_job_that_cannot_renew_its_lease_stops_before_it_runs_out(
    sessions: Sessions, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, effects = asyncio.Event(), []

    async def slow(job: ClaimedJob) -> None:
        started.set()
        await asyncio.sleep(5)
        effects.append(job.id)

    async def database_down(*_: object, **__: object) -> bool:
        raise ConnectionRefusedError("the database is unreachable")

    await enqueue(sessions, clock)
    first = runner(sessions, clock, {"work": slow}, lease_seconds=0.6)
    monkeypatch.setattr(jobqueue, "heartbeat", database_down)
    loop = asyncio.get_running_loop()
    began = loop.time()
    run = asyncio.create_task(first.run_once())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(run, 5)
    assert effects == []
    assert loop.time() - began < 1.0  # stopped before the lease would have run out, not after the work


async def test_a_restart_takes_back_at_once_the_jobs_a_dead_process_of_this_host_left(
    sessions: Sessions, clock: Clock
) -> None:
    import socket
    import sys

    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    alive = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
    try:
        orphan = await enqueue(sessions, clock)
        busy = await enqueue(sessions, clock)
        for job_id, pid in ((orphan, dead.pid), (busy, alive.pid)):
            owner = f"{socket.gethostname()}:{pid}:abcd1234"
            async with sessions.begin() as session:
                await session.execute(
                    sa.update(Job)
                    .where(Job.id == job_id)
                    .values(
                        status="running", lease_owner=owner, lease_expires_at=clock.now + timedelta(hours=1)
                    )
                )
        ran: list[int] = []

        async def work(job: ClaimedJob) -> None:
            ran.append(job.id)

        stop = asyncio.Event()
        restarted = runner(sessions, clock, {"work": work})
        task = asyncio.create_task(restarted.run_forever(stop))
        for _ in range(200):
            if ran:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task
        # The dead process's job ran at once, not an hour later; the live one's is left to it.
        assert ran == [orphan]
        assert (await job_row(sessions, busy)).lease_owner.endswith(f":{alive.pid}:abcd1234")  # type: ignore[union-attr]
    finally:
        alive.kill()
        await alive.wait()


async def test_a_job_that_did_not_call_slack_does_not_say_slack_is_back(
    sessions: Sessions, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """During an outage, a job that finishes without Slack (an image made before its parent is posted)
    proves nothing about Slack: the outage goes on, said once, until Slack itself answers."""

    async def slack_away(_: ClaimedJob) -> None:
        raise Outage("no answer", dependency=SLACK)

    async def no_slack(_: ClaimedJob) -> None:
        pass

    caplog.set_level(logging.WARNING, logger="bot.jobs.outages")
    work = runner(sessions, clock, {"away": slack_away, "quiet": no_slack})
    await enqueue(sessions, clock, "away")
    await work.run_once()
    await enqueue(sessions, clock, "quiet")
    await work.run_once()
    assert [r.getMessage() for r in caplog.records if "Slack is back" in r.getMessage()] == []
    work.outages.came_back(SLACK)  # what the Slack client says when Slack answers a call: still away till now
    assert len([r for r in caplog.records if "Slack is back" in r.getMessage()]) == 1
