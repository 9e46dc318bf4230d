"""What differs on PostgreSQL: migrations and triggers, row locks, SKIP LOCKED claims, races that SQLite's
one-writer-at-a-time never lets happen, and the whole service loop on a real server.

Each test gets a fresh database on a throwaway server (tests/postgres.py); ``make test`` provides the
binaries. ``DRAFTBOT_SKIP_POSTGRES=1`` skips this module.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot import audit
from bot.config import Settings
from bot.drafts import Done, ReactionEvent
from bot.errors import UnknownDraft
from bot.faces import Face
from bot.publisher import DraftCard, ImageCard, MessageRef, RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.tiers import Tier
from storage import jobqueue, queries
from storage.db import alembic_config, create_engine, session_factory, upgrade
from storage.models import AuditEvent, Base, Draft, Job, ProcessedRequest, Vote
from tests.conftest import FakeClock, drain
from tests.services import test_service_flow as service_flow
from tests.services.test_service_flow import CHANNEL, REQ, TEAM, new_draft, status, variant_ts
from tests.storage.test_storage import with_slack_stores

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db_url(postgres_url: str) -> str:
    await upgrade(postgres_url)
    return postgres_url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str) -> Settings:
    """Overrides the conftest fixture: every runtime in this module (also conftest's) runs on PostgreSQL."""
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url, _env_file=None)  # type: ignore[call-arg]


def make_draft(team_id: str = "T1", **overrides: Any) -> Draft:
    values: dict[str, Any] = {
        "team_id": team_id,
        "channel_id": "C1",
        "requester_id": "U1",
        "prompt": "a matte black water bottle",
        "destination_name": "mobile cover",
        "ratio": "9:16",
        "output_format": "jpeg",
        "n_variants": 4,
        "base_seed": 2**40,
    }
    return Draft(**(values | overrides))


async def enqueue_one(sessions: Sessions, **overrides: Any) -> Job:
    values: dict[str, Any] = {"team_id": "T1", "kind": "generate", "payload": {"k": 1}, "max_attempts": 3}
    async with sessions() as session, session.begin():
        job = await jobqueue.enqueue(session, **(values | {"run_after": T0} | overrides))
    assert job is not None
    return job


async def count(sessions: Sessions, model: type[Base], *where: sa.ColumnElement[bool]) -> int:
    async with sessions() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


async def lock_waiters(connection: AsyncConnection) -> int:
    """How many other backends of this database wait for a lock (a row lock or a unique-index entry)."""
    # Within a transaction the activity view is a snapshot taken at its first use: drop it.
    await connection.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return int(await connection.scalar(query) or 0)


async def wait_for_lock_waiters(
    connection: AsyncConnection, n: int, *, unless: Sequence[asyncio.Future[Any]] = ()
) -> None:
    """Until ``n`` backends wait for a lock, or every one of ``unless`` is done."""
    async with asyncio.timeout(10):
        while await lock_waiters(connection) != n:
            if unless and all(future.done() for future in unless):
                return
            await asyncio.sleep(0.01)


# --- schema -----------------------------------------------------------------------------------------


async def test_migrations_reach_head_and_the_schema_equals_the_models(postgres_url: str) -> None:
    await upgrade(postgres_url)
    await upgrade(postgres_url)  # a second run is harmless
    engine = create_engine(postgres_url)
    drifted = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["jobs"].c.last_error.nullable = False
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
            diff, drift = await connection.run_sync(
                lambda sync: [
                    compare_metadata(MigrationContext.configure(sync), metadata)
                    for metadata in (with_slack_stores(Base.metadata), drifted)
                ]
            )
            types: dict[str, str] = dict(
                (
                    await connection.execute(
                        sa.text(
                            "SELECT table_name || '.' || column_name, data_type "
                            "FROM information_schema.columns WHERE table_schema = 'public'"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert diff == []
    assert drift != []  # the comparison does look
    assert types["audit_events.id"] == "bigint"
    assert types["drafts.base_seed"] == types["variants.seed"] == "bigint"
    assert types["jobs.run_after"] == "timestamp with time zone"
    assert types["jobs.payload"] == types["audit_events.details"] == "json"


async def test_the_audit_trail_refuses_update_delete_and_truncate(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(AuditEvent(team_id="T1", kind="vote", actor="U1", details={"n": 4}))

    for statement in (
        sa.update(AuditEvent).values(actor="U2"),
        sa.delete(AuditEvent),
        sa.text("TRUNCATE audit_events"),
    ):
        async with sessions() as session:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                await session.execute(statement)

    async with sessions() as session:
        event = (await session.scalars(sa.select(AuditEvent))).one()
    assert (event.actor, event.details, event.id) == ("U1", {"n": 4}, 1)


async def test_timestamps_are_aware_utc_whatever_the_server_time_zone(sessions: Sessions) -> None:
    # The test server runs in Pacific/Chatham (UTC+12:45 or +13:45).
    async with sessions() as session:
        assert await session.scalar(sa.text("SHOW timezone")) == "Pacific/Chatham"
    job = await enqueue_one(sessions, run_after=T0)
    async with sessions() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        assert row.run_after == T0 and row.run_after.utcoffset() == timedelta(0)
        assert row.created_at.utcoffset() == timedelta(0)
    assert await jobqueue.next_due(sessions) == T0
    assert (
        await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0 - timedelta(seconds=1)) == []
    )
    [claimed] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0)
    assert await jobqueue.next_due(sessions) == T0 + timedelta(seconds=60)
    assert claimed.payload == {"k": 1}


# --- job queue -------------------------------------------------------------------------------------


async def test_a_claim_skips_jobs_another_claim_holds_instead_of_waiting(
    db_url: str, sessions: Sessions
) -> None:
    ids = [(await enqueue_one(sessions)).id for _ in range(4)]
    other = create_engine(db_url)
    try:
        async with other.connect() as connection, connection.begin():
            # A claim of another worker, between its SELECT ... FOR UPDATE and its commit.
            locked = await connection.scalars(
                sa.select(Job.id).order_by(Job.id).limit(2).with_for_update(skip_locked=True)
            )
            assert list(locked) == ids[:2]
            async with asyncio.timeout(5):  # without SKIP LOCKED this would wait for the other commit
                claimed = await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=T0, limit=4)
            assert [job.id for job in claimed] == ids[2:]
            await connection.rollback()
    finally:
        await other.dispose()
    claimed = await jobqueue.claim(sessions, worker_id="C", lease_seconds=60, now=T0, limit=4)
    assert [job.id for job in claimed] == ids[:2]


async def test_concurrent_workers_claim_every_job_exactly_once(db_url: str, sessions: Sessions) -> None:
    jobs, limit = 40, 3
    async with sessions() as session, session.begin():
        await jobqueue.enqueue_many(
            session,
            team_id="T1",
            draft_id=None,
            max_attempts=3,
            jobs=[("generate", {"n": n}) for n in range(jobs)],
        )

    # Four workers, each with its own engine (its own connections), as separate processes would be.
    engines = [create_engine(db_url) for _ in range(4)]
    for engine in engines:  # connect first, so that no worker has a head start
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    go = asyncio.Event()
    claim_sizes: list[int] = []

    async def worker(name: str, engine: AsyncEngine) -> list[int]:
        await go.wait()
        taken: list[int] = []
        while claimed := await jobqueue.claim(
            session_factory(engine), worker_id=name, lease_seconds=60, now=T0, limit=limit
        ):
            claim_sizes.append(len(claimed))
            assert all(job.lease_owner == name and job.attempts == 1 for job in claimed)
            taken += [job.id for job in claimed]
        return taken

    asyncio.get_running_loop().call_soon(go.set)
    try:
        results = await asyncio.gather(*(worker(f"W{i}", engine) for i, engine in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()

    all_taken = [job_id for taken in results for job_id in taken]
    assert sorted(all_taken) == list(range(1, jobs + 1))  # every job, none twice
    assert max(claim_sizes) <= limit
    assert all(results)  # skipping locked rows, no worker waits while there is work: all of them got some
    async with sessions() as session:
        owners = {
            job_id: owner for job_id, owner in await session.execute(sa.select(Job.id, Job.lease_owner))
        }
    for i, taken in enumerate(results):
        assert {owners[job_id] for job_id in taken} == {f"W{i}"}
    assert await count(sessions, Job, Job.status == "running", Job.attempts == 1) == jobs


async def test_an_expired_lease_is_reclaimed_and_the_old_owner_is_fenced_off(sessions: Sessions) -> None:
    job = await enqueue_one(sessions)
    [by_a] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0)
    assert await jobqueue.heartbeat(sessions, job.id, "A", 60, T0 + timedelta(seconds=30), attempt=1)
    assert (
        await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=T0 + timedelta(seconds=89)) == []
    )

    later = T0 + timedelta(seconds=91)
    [by_b] = await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=later)
    assert (by_b.id, by_b.attempts, by_b.lease_owner) == (job.id, 2, "B")

    # A finishes late, concurrently with B's heartbeat: A's writes all miss, B's land.
    late = await asyncio.gather(
        jobqueue.complete(sessions, job.id, "A", later, attempt=by_a.attempts),
        jobqueue.heartbeat(sessions, job.id, "B", 60, later, attempt=by_b.attempts),
        jobqueue.give_up(sessions, job.id, "A", "late", later),
        jobqueue.retry_later(sessions, job.id, "A", later, "late", now=later),
    )
    assert list(late) == [False, True, False, False]
    async with sessions() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        assert (row.status, row.lease_owner, row.last_error) == ("running", "B", None)

    # The same worker id at an older attempt is fenced too (a restarted worker reusing its id).
    much_later = later + timedelta(seconds=61)
    [again] = await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=much_later)
    assert again.attempts == 3
    assert not await jobqueue.complete(sessions, job.id, "B", much_later, attempt=by_b.attempts)
    assert await jobqueue.complete(sessions, job.id, "B", much_later, attempt=again.attempts)
    async with sessions() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        assert (row.status, row.finished_at, row.lease_expires_at) == ("done", much_later, None)


@pytest.mark.parametrize("first_commits", [True, False])
async def test_a_dedupe_race_queues_one_job_and_spoils_neither_transaction(
    db_url: str, sessions: Sessions, first_commits: bool
) -> None:
    key = "refresh:7"

    async def enqueue(session: AsyncSession) -> Job | None:
        return await jobqueue.enqueue(
            session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key=key
        )

    watcher = create_engine(db_url)
    try:
        async with sessions() as first, sessions() as second, watcher.connect() as watch:
            await first.begin()
            first_job = await enqueue(first)  # inserted, not committed: invisible to the second
            assert first_job is not None

            async def second_transaction() -> Job | None:
                async with second.begin():
                    second.add(make_draft())
                    job = await enqueue(second)  # checks (sees nothing), then inserts: waits for the first
                    # Still usable: a statement after the lost race works, and the commit keeps the draft.
                    assert await second.scalar(sa.select(sa.func.count()).select_from(Draft)) == 1
                return job

            racing = asyncio.create_task(second_transaction())
            await wait_for_lock_waiters(watch, 1)
            await (first.commit() if first_commits else first.rollback())
            second_job = await racing

        if first_commits:
            assert second_job is None
            assert await count(sessions, Job) == 1
        else:
            assert second_job is not None
            async with sessions() as session:
                assert (await session.scalars(sa.select(Job.id))).all() == [second_job.id]
        assert await count(sessions, Draft) == 1
    finally:
        await watcher.dispose()


async def test_a_job_is_not_claimed_while_a_transaction_that_asked_for_it_again_is_open(
    sessions: Sessions,
) -> None:
    # A parent refresh is queued. A vote asks for one too and is folded into it; until the vote commits,
    # a worker must not run that refresh, or it would publish the tally without the vote, and nothing
    # would refresh the parent again.
    queued = await enqueue_one(sessions, kind="refresh", dedupe_key="refresh:7")
    async with sessions() as session, session.begin():
        session.add(make_draft())
        again = await jobqueue.enqueue(
            session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key="refresh:7"
        )
        assert again is None
        async with asyncio.timeout(5):  # skipped, not waited for
            assert await jobqueue.claim(sessions, worker_id="W", lease_seconds=60, now=T0) == []
    [claimed] = await jobqueue.claim(sessions, worker_id="W", lease_seconds=60, now=T0)
    assert claimed.id == queued.id


async def test_a_job_claimed_meanwhile_is_asked_for_again(db_url: str, sessions: Sessions) -> None:
    queued = await enqueue_one(sessions, kind="refresh", dedupe_key="refresh:7")
    claimer = create_engine(db_url)
    try:
        async with claimer.connect() as connection, connection.begin():
            # A worker's claim has picked the job and not committed yet.
            await connection.execute(sa.select(Job.id).where(Job.id == queued.id).with_for_update())
            await connection.execute(sa.update(Job).where(Job.id == queued.id).values(dedupe_key=None))

            async def enqueue_again() -> Job | None:
                async with sessions() as session, session.begin():
                    return await jobqueue.enqueue(
                        session,
                        team_id="T1",
                        kind="refresh",
                        payload={},
                        max_attempts=3,
                        dedupe_key="refresh:7",
                    )

            asking = asyncio.ensure_future(enqueue_again())
            await asyncio.sleep(0.2)
            await connection.commit()
        assert await asking is not None  # the claimed job no longer stands for this change: a new one
    finally:
        await claimer.dispose()
    assert await count(sessions, Job, Job.status == "queued", Job.dedupe_key == "refresh:7") == 1


async def test_simultaneous_enqueues_of_one_key_leave_one_queued_job(db_url: str) -> None:
    engines = [create_engine(db_url) for _ in range(2)]
    try:
        for round_ in range(10):
            key = f"refresh:{round_}"

            async def enqueue(engine: AsyncEngine, key: str = key) -> bool:
                async with session_factory(engine)() as session, session.begin():
                    session.add(make_draft())
                    job = await jobqueue.enqueue(
                        session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key=key
                    )
                return job is not None

            outcomes = await asyncio.gather(*(enqueue(engine) for engine in engines))
            assert sorted(outcomes) == [False, True]
        sessions = session_factory(engines[0])
        assert await count(sessions, Job) == 10
        assert await count(sessions, Draft) == 20  # neither transaction was spoilt by losing
    finally:
        for engine in engines:
            await engine.dispose()


# --- the service on PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
async def second_runtime(settings: Settings, clock: FakeClock) -> AsyncIterator[Runtime]:
    """Another process on the same database: its own engine, connections and publisher."""
    runtime = await build_runtime(settings, publisher=RecordingPublisher(), clock=clock, migrate=False)
    yield runtime
    await runtime.aclose()


async def vote_of(runtime: Runtime, draft_id: int, voter: str) -> int | None:
    """The person's vote, checking that they have exactly one vote row."""
    async with runtime.sessions() as session:
        rows = (
            await session.scalars(
                sa.select(Vote.variant_number).where(Vote.draft_id == draft_id, Vote.voter_id == voter)
            )
        ).all()
    assert len(rows) == 1, rows
    return rows[0]


async def test_simultaneous_votes_by_one_person_keep_the_latest(
    runtime: Runtime, second_runtime: Runtime, clock: FakeClock
) -> None:
    draft_id = await new_draft(runtime, "a bell for feed post --n 4")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)

    def react(rt: Runtime, number: int, at: str) -> Awaitable[object]:
        return rt.drafts.reactions.reaction_added(
            ReactionEvent(team_id=TEAM, channel=CHANNEL, ts=ts[number], user="U1", emoji="+1", event_ts=at),
            bot_user=None,
        )

    async def race(
        blocker: Callable[[AsyncConnection], Awaitable[None]], older: int, newer: int, t: int
    ) -> None:
        """Two reactions by U1, from two processes, both held up at the same point, then let go."""
        async with runtime.engine.connect() as holder:
            await holder.begin()
            await blocker(holder)
            calls = [react(runtime, older, f"{t}.1"), react(second_runtime, newer, f"{t}.2")]
            random.shuffle(calls)
            tasks = [asyncio.ensure_future(call) for call in calls]
            await wait_for_lock_waiters(holder, 2)
            await holder.rollback()
            await asyncio.gather(*tasks)
        assert await vote_of(runtime, draft_id, "U1") == newer

    # No vote yet: both find no row and insert; the loser of the unique index retries and sees the winner.
    async def hold_the_insert(holder: AsyncConnection) -> None:
        await holder.execute(
            sa.insert(Vote).values(
                team_id=TEAM, draft_id=draft_id, voter_id="U1", cast_at=T0, updated_at=T0, variant_number=1
            )
        )

    await race(hold_the_insert, older=2, newer=3, t=100)

    # A vote exists: both wait for its row lock; the second to get it must see what the first wrote.
    async def lock_the_vote(holder: AsyncConnection) -> None:
        await holder.execute(sa.select(Vote.id).where(Vote.voter_id == "U1").with_for_update())

    for t, (older, newer) in enumerate([(4, 1), (1, 4), (2, 3), (3, 1)], start=200):
        await race(lock_the_vote, older, newer, t)

    async with runtime.sessions() as session:
        assert await queries.votes_of(session, TEAM, draft_id) == {"U1": 1}


async def test_many_voters_at_once(runtime: Runtime, second_runtime: Runtime, clock: FakeClock) -> None:
    draft_id = await new_draft(runtime, "a bell for feed post --n 3")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)
    expected: dict[str, int] = {}
    calls = []
    for i in range(12):
        user = f"U{i}"
        for j, number in enumerate(random.sample([1, 2, 3], 3)):
            rt = runtime if (i + j) % 2 else second_runtime
            calls.append(
                rt.drafts.reactions.reaction_added(
                    ReactionEvent(
                        team_id=TEAM,
                        channel=CHANNEL,
                        ts=ts[number],
                        user=user,
                        emoji="+1",
                        event_ts=f"300.{j}",
                        dedupe_key=f"event:{user}:{j}",
                    ),
                    bot_user=None,
                )
            )
            expected[user] = number
    random.shuffle(calls)
    await asyncio.gather(*calls)
    async with runtime.sessions() as session:
        assert await queries.votes_of(session, TEAM, draft_id) == expected
    assert await count(runtime.sessions, ProcessedRequest) == 36
    assert await count(runtime.sessions, Job, Job.kind == "refresh_parent", Job.status == "queued") == 1


async def test_a_vote_cast_while_voting_closes_is_counted_or_refused(
    runtime: Runtime, second_runtime: Runtime, clock: FakeClock
) -> None:
    draft_id = await new_draft(runtime, "a bell for feed post --n 2")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)
    await service_flow.vote(runtime, ts[1], "U1")

    def react(user: str) -> Awaitable[object]:
        return second_runtime.drafts.reactions.reaction_added(
            ReactionEvent(team_id=TEAM, channel=CHANNEL, ts=ts[2], user=user, emoji="+1"), bot_user=None
        )

    async with runtime.engine.connect() as holder:
        # Something else is changing the draft (say, a job): the upgrade has to wait for it.
        await holder.begin()
        await queries.lock_draft(AsyncSession(bind=holder), TEAM, draft_id)
        upgrade = asyncio.ensure_future(
            runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
        )
        await wait_for_lock_waiters(holder, 1)
        votes = [asyncio.ensure_future(react(user)) for user in ("U2", "U3")]
        # The votes either go through now or wait for the draft too; either way, then the upgrade goes on.
        await wait_for_lock_waiters(holder, 3, unless=votes)
        await holder.rollback()
        assert isinstance(await upgrade, Done)
        await asyncio.gather(*votes)

    # Whatever the order, the votes that stand are the votes the upgrade counted.
    async with runtime.sessions() as session:
        standing = await queries.votes_of(session, TEAM, draft_id)
        draft = await queries.get_draft(session, TEAM, draft_id)
    assert draft is not None and draft.status == "reviewing"
    rows = [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]
    [upgraded] = [row for row in rows if row["kind"] == "upgrade_requested"]
    counted = {int(number): n for number, n in upgraded["details"]["tally"].items()}
    assert counted == {n: list(standing.values()).count(n) for n in (1, 2)}
    assert draft.winner_index == max(counted, key=lambda n: counted[n])
    cast_after = [row for row in rows[rows.index(upgraded) :] if row["kind"] == "vote"]
    assert cast_after == []


class SimultaneousPosts(RecordingPublisher):
    """Holds each image post until ``n`` are in flight, so that their database writes overlap."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.waiting = n, 0
        self.all_in = asyncio.Event()

    async def post_image(
        self, draft: DraftCard, image: ImageCard, data: bytes, face: Face, *, retry: bool = False
    ) -> MessageRef:
        self.waiting += 1
        if self.waiting >= self.n:
            self.all_in.set()
        try:
            async with asyncio.timeout(5):
                await self.all_in.wait()
        except TimeoutError:
            pass
        return await super().post_image(draft, image, data, face, retry=retry)


async def test_voting_opens_when_the_last_variants_are_posted_at_once(
    settings: Settings, clock: FakeClock
) -> None:
    publisher = SimultaneousPosts(4)
    runtime = await build_runtime(settings, publisher=publisher, clock=clock)
    try:
        draft_id = await new_draft(runtime, "a lighthouse for feed post --n 4")
        await drain(runtime, clock)
        assert len(publisher.images) == 4
        assert await status(runtime, draft_id) == "voting"
        kinds = [row["kind"] async for row in audit.events(runtime.sessions, draft_id=draft_id)]
        assert kinds.count("voting_opened") == 1
    finally:
        await runtime.aclose()


async def test_two_teams_share_a_database_and_nothing_else(runtime: Runtime, clock: FakeClock) -> None:
    drafts = {
        team: await runtime.drafts.intake.create_draft(
            team_id=team,
            channel_id=CHANNEL,
            requester=REQ,
            request=service_flow.request("a kite for feed post --n 2"),
            command_text="/draft a kite",
        )
        for team in ("T1", "T2")
    }
    await drain(runtime, clock)
    ours, theirs = drafts["T1"], drafts["T2"]

    async with runtime.sessions() as session:
        assert await queries.get_draft(session, "T2", ours) is None
        assert await queries.variants_of(session, "T2", ours) == []
        assert (await queries.get_draft(session, "T2", theirs)) is not None
        their_ts = {v.number: str(v.slack_ts) for v in await queries.variants_of(session, "T2", theirs)}
    our_ts = await variant_ts(runtime, ours)

    # Votes: a reaction on our message seen from the other team finds nothing; each team's votes stay its own.
    for team, ts in (("T1", our_ts), ("T2", their_ts)):
        for key in ("event:Ev1", "event:Ev2"):  # the same Slack event ids in both workspaces
            number = 1 if key.endswith("1") else 2
            await runtime.drafts.reactions.reaction_added(
                ReactionEvent(
                    team_id=team, channel=CHANNEL, ts=ts[number], user="U1", emoji="+1", dedupe_key=key
                ),
                bot_user=None,
            )
    assert (
        await runtime.drafts.reactions.reaction_added(
            ReactionEvent(team_id="T2", channel=CHANNEL, ts=our_ts[1], user="U9", emoji="+1"), bot_user=None
        )
        is None
    )
    async with runtime.sessions() as session:
        assert await queries.votes_of(session, "T1", ours) == {"U1": 2}
        assert await queries.votes_of(session, "T2", ours) == {}
        assert await queries.votes_of(session, "T2", theirs) == {"U1": 2}

    # Actions: the other team cannot move our draft on, not even with our draft's id.
    decisions = runtime.drafts.decisions
    for action in (decisions.request_upgrade, decisions.approve):
        with pytest.raises(UnknownDraft):
            await action(team_id="T2", draft_id=ours, user=REQ)
    with pytest.raises(UnknownDraft):
        await decisions.reject(team_id="T2", draft_id=ours, user=REQ, reason="not ours")
    with pytest.raises(UnknownDraft):
        await decisions.request_changes(team_id="T2", draft_id=ours, user=REQ, feedback="not ours")
    with pytest.raises(UnknownDraft):
        await decisions.also_as(team_id="T2", draft_id=ours, user=REQ, destination_key="banner")
    async with runtime.sessions.begin() as session:
        assert not await queries.set_draft_status(session, "T2", ours, "voting", "failed")
    assert await status(runtime, ours) == "voting"

    # Our own upgrade touches nothing of theirs.
    assert isinstance(
        await runtime.drafts.decisions.request_upgrade(team_id="T1", draft_id=ours, user=REQ), Done
    )
    await drain(runtime, clock)
    assert await status(runtime, ours) == "reviewing"
    async with runtime.sessions() as session:
        theirs_row = await queries.get_draft(session, "T2", theirs)
        assert theirs_row is not None and theirs_row.status == "voting"
        assert await queries.variants_of(session, "T2", theirs, Tier.REVIEW) == []

    # The audit trail and the jobs keep to their team.
    for team, draft_id in (("T1", ours), ("T2", theirs)):
        rows = [row async for row in audit.events(runtime.sessions, team_id=team)]
        assert rows and {(row["team_id"], row["draft_id"]) for row in rows} == {(team, draft_id)}
    async with runtime.sessions() as session:
        job_owners = {
            (team, draft) for team, draft in await session.execute(sa.select(Job.team_id, Job.draft_id))
        }
    assert job_owners == {("T1", ours), ("T2", theirs)}


# --- every service-flow test again, on PostgreSQL (this module's ``settings`` fixture) -----------------

for _name, _test in vars(service_flow).items():
    if _name.startswith("test_") and callable(_test):
        globals()[_name] = _test
