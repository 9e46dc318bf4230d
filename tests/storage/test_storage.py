"""Storage against a real SQLite file built by the migrations: schema, pragmas, invariants, job queue SQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import jobqueue
from storage.blobs import BlobNotFound, BlobStoreUnavailable, FileBlobStore, InvalidBlobKey, blob_key
from storage.db import alembic_config, create_engine, session_factory, upgrade
from storage.models import AcceptedRequest, AuditEvent, Base, Draft, Job, ProcessedRequest, Variant, Vote
from storage.replays import PURGE_EVERY, Replays, request_key

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'draftbot.db'}"
    await upgrade(url)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


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


async def add(sessions: async_sessionmaker[AsyncSession], *rows: Base) -> None:
    async with sessions() as session, session.begin():
        session.add_all(rows)


async def count(sessions: async_sessionmaker[AsyncSession], model: type[Base]) -> int:
    async with sessions() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


async def schema_diff(engine: AsyncEngine, metadata: sa.MetaData) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )


# --- schema and database settings ---


def with_slack_stores(metadata: sa.MetaData) -> sa.MetaData:
    """Our models and slack_sdk's installation and OAuth state tables, as the library defines them."""
    combined = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(combined)
    store = AsyncSQLAlchemyInstallationStore
    store.build_installations_table(combined, store.default_installations_table_name)
    store.build_bots_table(combined, store.default_bots_table_name)
    states = AsyncSQLAlchemyOAuthStateStore
    states.build_oauth_states_table(combined, states.default_table_name)
    return combined


async def test_migrated_schema_equals_the_models(engine: AsyncEngine) -> None:
    # The Slack stores' tables are created by a migration (not by the stores at start-up): they must be
    # exactly what the library reads and writes.
    assert await schema_diff(engine, with_slack_stores(Base.metadata)) == []


async def test_schema_comparison_would_notice_a_drift(engine: AsyncEngine) -> None:
    drifted = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["jobs"].c.last_error.nullable = False
    assert await schema_diff(engine, drifted) != []


async def test_upgrade_twice_is_harmless(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        assert (await connection.scalar(sa.text("SELECT version_num FROM alembic_version"))) == head


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000


async def test_concurrent_read_modify_write_transactions_neither_fail_nor_lose_updates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # What concurrent jobs do all day: load a row, change it, commit. On SQLite this needs BEGIN IMMEDIATE.
    draft = make_draft(n_variants=0)
    await add(sessions, draft)

    async def bump() -> None:
        for _ in range(5):
            async with sessions() as session, session.begin():
                row = await session.get(Draft, draft.id)
                assert row is not None
                await asyncio.sleep(0.001)  # let the others in between the read and the write
                row.n_variants += 1

    await asyncio.gather(*(bump() for _ in range(6)))
    async with sessions() as session:
        assert await session.scalar(sa.select(Draft.n_variants)) == 30


async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    orphan = Variant(team_id="T1", draft_id=999, tier="1K", number=1, seed=1)
    with pytest.raises(IntegrityError):
        await add(sessions, orphan)


async def test_timestamps_come_back_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, make_draft())
    async with sessions() as session:
        draft = (await session.scalars(sa.select(Draft))).one()
        assert draft.created_at.tzinfo is not None
        assert draft.created_at.utcoffset() == timedelta(0)
        draft.status = "voting"
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            draft.updated_at = datetime(2025, 1, 1)
            await session.flush()


# --- audit trail ---


async def test_audit_events_are_append_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, AuditEvent(team_id="T1", kind="draft.requested", actor="U1", details={"n": 4}))

    for statement in (
        sa.update(AuditEvent).values(actor="U2"),
        sa.delete(AuditEvent),
    ):
        async with sessions() as session:
            with pytest.raises(IntegrityError, match="append-only"):
                await session.execute(statement)

    async with sessions() as session:
        event = (await session.scalars(sa.select(AuditEvent))).one()
    assert (event.actor, event.details, event.id) == ("U1", {"n": 4}, 1)


# --- votes and requests ---


async def test_one_vote_per_person_per_draft(sessions: async_sessionmaker[AsyncSession]) -> None:
    first, second = make_draft(), make_draft()
    await add(sessions, first, second)
    await add(
        sessions,
        Vote(team_id="T1", draft_id=first.id, voter_id="U1", variant_number=1),
        Vote(team_id="T1", draft_id=first.id, voter_id="U2", variant_number=1),
        Vote(team_id="T1", draft_id=second.id, voter_id="U1", variant_number=3),
    )
    with pytest.raises(IntegrityError):
        await add(sessions, Vote(team_id="T1", draft_id=first.id, voter_id="U1", variant_number=2))
    assert await count(sessions, Vote) == 3


async def test_variant_numbers_are_unique_per_draft_and_tier(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    draft = make_draft()
    await add(sessions, draft)
    await add(
        sessions,
        Variant(team_id="T1", draft_id=draft.id, tier="1K", number=1, seed=1),
        Variant(team_id="T1", draft_id=draft.id, tier="2K", number=1, seed=1),
    )
    with pytest.raises(IntegrityError):
        await add(sessions, Variant(team_id="T1", draft_id=draft.id, tier="1K", number=1, seed=2))


async def test_processed_request_keys_are_unique_per_team(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, ProcessedRequest(team_id="T1", key="Ev1"), ProcessedRequest(team_id="T2", key="Ev1"))
    with pytest.raises(IntegrityError):
        await add(sessions, ProcessedRequest(team_id="T1", key="Ev1"))


# --- job queue: enqueue ---


async def enqueue_one(sessions: async_sessionmaker[AsyncSession], **overrides: Any) -> Job | None:
    values: dict[str, Any] = {"team_id": "T1", "kind": "generate", "payload": {"k": 1}, "max_attempts": 3}
    async with sessions() as session, session.begin():
        return await jobqueue.enqueue(session, **(values | overrides))


@pytest.mark.parametrize("commit", [True, False])
async def test_a_job_is_written_with_its_state_change_or_not_at_all(
    sessions: async_sessionmaker[AsyncSession], commit: bool
) -> None:
    async with sessions() as session:
        draft = make_draft()
        session.add(draft)
        await session.flush()
        job = await jobqueue.enqueue(
            session, team_id="T1", kind="generate", payload={"variant": 1}, draft_id=draft.id, max_attempts=3
        )
        assert job is not None
        await (session.commit() if commit else session.rollback())

    assert await count(sessions, Draft) == await count(sessions, Job) == (1 if commit else 0)


async def test_a_deduplicated_enqueue_still_rolls_back_with_its_caller(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The savepoint must sit inside the caller's transaction, not commit on its own when released.
    async with sessions() as session:
        assert await jobqueue.enqueue(
            session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key="refresh:1"
        )
        await session.rollback()
    assert await count(sessions, Job) == 0


async def test_dedupe_key_holds_while_queued_and_is_released_by_claiming(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await enqueue_one(sessions, dedupe_key="refresh:7", run_after=T0)
    assert first is not None
    assert await enqueue_one(sessions, dedupe_key="refresh:7") is None
    assert await count(sessions, Job) == 1

    [claimed] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0)
    assert claimed.id == first.id
    second = await enqueue_one(sessions, dedupe_key="refresh:7")
    assert second is not None and second.id != first.id
    assert await count(sessions, Job) == 2


async def test_losing_a_dedupe_race_does_not_spoil_the_callers_transaction(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    await enqueue_one(sessions, dedupe_key="refresh:7")
    async with sessions() as session:
        session.add(make_draft())
        # As if a concurrent enqueue committed between our check and our insert.
        monkeypatch.setattr(session, "scalar", _no_row)
        assert (
            await jobqueue.enqueue(
                session, team_id="T1", kind="refresh", payload={}, max_attempts=3, dedupe_key="refresh:7"
            )
            is None
        )
        await session.commit()
    assert (await count(sessions, Draft), await count(sessions, Job)) == (1, 1)


async def _no_row(*_args: Any, **_kwargs: Any) -> None:
    return None


# --- job queue: claim and leases ---


async def job_row(sessions: async_sessionmaker[AsyncSession], job_id: int) -> Job:
    async with sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def test_claim_takes_due_jobs_of_the_asked_kinds_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    due = await enqueue_one(sessions, run_after=T0)
    await enqueue_one(sessions, run_after=T0 + timedelta(minutes=5))
    await enqueue_one(sessions, kind="other", run_after=T0)
    assert due is not None

    claimed = await jobqueue.claim(
        sessions, worker_id="A", lease_seconds=60, now=T0, kinds={"generate"}, limit=10
    )
    assert [job.id for job in claimed] == [due.id]
    row = await job_row(sessions, due.id)
    assert claimed[0] == jobqueue.ClaimedJob(
        id=due.id,
        team_id="T1",
        kind="generate",
        draft_id=None,
        payload={"k": 1},
        attempts=1,
        max_attempts=3,
        lease_owner="A",
        runnable_since=max(T0, row.created_at),  # due since then (the metrics' job latency starts there)
    )
    assert (row.status, row.lease_owner, row.lease_expires_at) == ("running", "A", T0 + timedelta(seconds=60))
    assert await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=T0, kinds={"generate"}) == []


async def test_an_expired_lease_passes_the_job_to_another_worker(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = await enqueue_one(sessions, run_after=T0)
    assert job is not None
    [by_a] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0)
    assert await jobqueue.heartbeat(sessions, job.id, "A", 60, T0 + timedelta(seconds=30))
    # Still held: the heartbeat moved the lease to T0+90s.
    assert (
        await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=T0 + timedelta(seconds=80)) == []
    )

    later = T0 + timedelta(seconds=91)
    [by_b] = await jobqueue.claim(sessions, worker_id="B", lease_seconds=60, now=later)
    assert (by_b.id, by_b.attempts, by_b.lease_owner) == (job.id, 2, "B")

    assert not await jobqueue.heartbeat(sessions, job.id, "A", 60, later)
    assert not await jobqueue.complete(sessions, job.id, "A", later)
    assert not await jobqueue.give_up(sessions, job.id, "A", "late", later)
    assert not await jobqueue.retry_later(sessions, job.id, "A", later, "late")
    row = await job_row(sessions, job.id)
    assert (row.status, row.lease_owner, row.last_error) == ("running", "B", None)

    assert await jobqueue.complete(sessions, job.id, "B", later, attempt=by_b.attempts)
    row = await job_row(sessions, job.id)
    assert (row.status, row.finished_at) == ("done", later)
    assert by_a.attempts == 1


async def test_an_old_claim_by_the_same_worker_is_fenced_by_its_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = await enqueue_one(sessions, run_after=T0)
    assert job is not None
    [first] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=10, now=T0)
    [second] = await jobqueue.claim(sessions, worker_id="A", lease_seconds=10, now=T0 + timedelta(seconds=11))
    assert not await jobqueue.complete(sessions, job.id, "A", T0, attempt=first.attempts)
    assert await jobqueue.complete(sessions, job.id, "A", T0, attempt=second.attempts)


async def test_retry_later_requeues_until_run_after(sessions: async_sessionmaker[AsyncSession]) -> None:
    job = await enqueue_one(sessions, run_after=T0)
    assert job is not None
    await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=T0)
    retry_at = T0 + timedelta(seconds=30)
    assert await jobqueue.retry_later(sessions, job.id, "A", retry_at, "rate limited", now=T0)

    row = await job_row(sessions, job.id)
    assert (row.status, row.run_after, row.last_error, row.lease_owner) == (
        "queued",
        retry_at,
        "rate limited",
        None,
    )
    assert (
        await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=retry_at - timedelta(seconds=1))
        == []
    )
    assert len(await jobqueue.claim(sessions, worker_id="A", lease_seconds=60, now=retry_at)) == 1


async def test_concurrent_claimers_take_every_job_exactly_once(db_url: str) -> None:
    setup = create_engine(db_url)
    for _ in range(20):
        await enqueue_one(session_factory(setup), run_after=T0)
    await setup.dispose()

    # Four workers, each with its own engine (and so its own connections), as separate processes would be.
    engines = [create_engine(db_url) for _ in range(4)]
    for engine in engines:  # connect first, so that no worker has a head start
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    go = asyncio.Event()

    async def worker(name: str, engine: AsyncEngine) -> list[int]:
        await go.wait()
        taken: list[int] = []
        while claimed := await jobqueue.claim(
            session_factory(engine), worker_id=name, lease_seconds=60, now=T0, limit=2
        ):
            taken += [job.id for job in claimed]
            await asyncio.sleep(0.001)
        return taken

    asyncio.get_running_loop().call_soon(go.set)

    try:
        results = await asyncio.gather(*(worker(f"W{i}", engine) for i, engine in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()

    # How the work is shared is up to SQLite's lock and busy handler; that nothing is claimed twice is not.
    all_taken = [job_id for taken in results for job_id in taken]
    assert sorted(all_taken) == list(range(1, 21))


# --- blobs ---


async def test_blobs_are_content_addressed_and_written_once(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    key = await store.put(b"\xff\xd8jpeg bytes", content_type="image/jpeg")
    assert key == blob_key(b"\xff\xd8jpeg bytes")
    assert key.startswith("sha256/") and key.split("/")[1] == key.split("/")[2][:2]

    path = store.local_path(key)
    assert path is not None and path.read_bytes() == b"\xff\xd8jpeg bytes"
    written = path.stat().st_mtime_ns
    assert await store.put(b"\xff\xd8jpeg bytes", content_type="image/jpeg") == key
    assert path.stat().st_mtime_ns == written

    assert await store.get(key) == b"\xff\xd8jpeg bytes"
    assert await store.exists(key)
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [path.name]  # no temp files


async def test_missing_blobs_raise_blob_not_found(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    key = blob_key(b"never stored")
    assert not await store.exists(key)
    assert store.local_path(key) is None
    with pytest.raises(BlobNotFound):
        await store.get(key)
    with pytest.raises(KeyError):
        await store.get(key)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "sha256/ab/../../../etc/passwd",
        "/sha256/ab/" + "ab" * 32,
        "sha256/cd/" + "ab" * 32,  # prefix does not match the digest
        "sha256/AB/" + "AB" * 32,
        "sha256/ab/" + "ab" * 32 + "\n",
        "sha256/ab/" + "ab" * 32 + "/x",
    ],
)
async def test_blob_keys_outside_the_pattern_are_refused(tmp_path: Path, key: str) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(InvalidBlobKey):
        await store.get(key)
    with pytest.raises(InvalidBlobKey):
        await store.exists(key)
    with pytest.raises(InvalidBlobKey):
        store.local_path(key)


async def test_the_blob_store_check_leaves_nothing_and_fails_where_nothing_can_be_written(
    tmp_path: Path,
) -> None:
    store = FileBlobStore(tmp_path / "new" / "blobs")
    await store.check()  # creates the directory, as the first put would
    assert list((tmp_path / "new" / "blobs").iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(BlobStoreUnavailable, match=r"cannot write to .*file/blobs") as caught:
        await FileBlobStore(tmp_path / "file" / "blobs").check()
    assert isinstance(caught.value.__cause__, NotADirectoryError)


async def test_a_request_is_claimed_once_released_on_failure_and_purged_once_expired(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]
    ticks = [0.0]
    replays = Replays(sessions, clock=lambda: now[0], monotonic=lambda: ticks[0])
    first, second = request_key("1740830400", "v0=aa"), request_key("1740830400", "v0=bb")
    assert await replays.claim(first, signed_at=now[0], team_id="T1")
    assert not await replays.claim(first, signed_at=now[0])  # a replay
    assert await replays.claim(second, signed_at=now[0])
    await replays.release(second)  # not handled: a redelivery is accepted
    assert await replays.claim(second, signed_at=now[0])

    now[0] += timedelta(minutes=10)  # both signatures expired; purged with the next claim due to purge
    ticks[0] += PURGE_EVERY
    assert await replays.claim(request_key("1740831000", "v0=cc"), signed_at=now[0])
    async with sessions() as session:
        keys = set(await session.scalars(sa.select(AcceptedRequest.key)))
    assert keys == {request_key("1740831000", "v0=cc")}
