"""Image retention (DRAFTBOT_IMAGE_RETENTION_DAYS): an old finished draft's 1K images leave the blob store,
its finals and its audit stay, a recent or unfinished draft keeps everything, a blob another live variant
shares is kept, a rerun is harmless, and the sweep runs once per period however many workers there are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.audit import AuditKind
from bot.config import Settings
from bot.drafts import Done
from bot.jobs import JobKind
from bot.maintenance import prune
from bot.publisher import RecordingPublisher
from bot.retention import Retention
from bot.runtime import Runtime, build_runtime
from bot.tiers import Tier
from storage import jobqueue, queries
from storage.models import Draft, Job, Variant, utcnow
from tests.conftest import FakeClock, drain
from tests.s3 import Bucket
from tests.services.test_finals_and_drift import to_final
from tests.services.test_service_flow import REQ, TEAM, new_draft
from tests.services.test_studio_review import events

DAYS = 30


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", image_retention_days=DAYS, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def runtime(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> AsyncIterator[Runtime]:
    clock.now = utcnow()  # rows are stamped with the wall clock; the sweep compares them with this one
    rt = await build_runtime(settings, publisher=publisher, clock=clock)
    yield rt
    await rt.aclose()


async def variants(runtime: Runtime, draft_id: int) -> list[Variant]:
    async with runtime.sessions() as session:
        return list(
            await session.scalars(select(Variant).where(Variant.draft_id == draft_id).order_by(Variant.id))
        )


async def finished_ago(runtime: Runtime, clock: FakeClock, days: float, *draft_ids: int) -> None:
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Draft).where(Draft.id.in_(draft_ids)).values(updated_at=clock.now - timedelta(days=days))
        )


async def stored(runtime: Runtime, variant: Variant) -> set[str]:
    """Which of the variant's blob and preview are still in the store."""
    keys = {k for k in (variant.blob_key, variant.preview_key) if k}
    return {k for k in keys if await runtime.blobs.exists(k)}


async def cancelled(runtime: Runtime, clock: FakeClock, text: str) -> int:
    draft_id = await new_draft(runtime, text)
    await drain(runtime, clock)
    assert isinstance(await runtime.drafts.decisions.cancel(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
    await drain(runtime, clock)
    return draft_id


async def test_old_finished_drafts_lose_their_1ks_and_nothing_else(
    runtime: Runtime, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    final = await to_final(runtime, clock, "a jazz night in a rainy city for poster --n 1 --seed 11")
    gone = await cancelled(runtime, clock, "a red fox in snow for feed post --n 2 --seed 12")
    recent = await cancelled(runtime, clock, "a green field for feed post --n 1 --seed 13")
    voting = await new_draft(runtime, "a blue boat for feed post --n 1 --seed 14")
    shared = await cancelled(runtime, clock, "a paper crane for feed post --n 1 --seed 15")
    alive = await new_draft(runtime, "a paper crane for feed post --n 1 --seed 15")  # the same bytes
    await drain(runtime, clock)
    await finished_ago(runtime, clock, DAYS + 1, final, gone, voting, shared)
    await finished_ago(runtime, clock, DAYS - 1, recent)
    [one_k, review, four_k] = await variants(runtime, final)
    assert (one_k.tier, review.tier, four_k.tier) == (Tier.EXPLORE, Tier.REVIEW, Tier.FINAL)
    assert one_k.preview_key and len(await stored(runtime, one_k)) == 2
    retention = Retention(runtime.sessions, runtime.blobs, DAYS, clock=clock)
    await runtime.blobs.delete(str(one_k.preview_key))  # as if a sweep was killed after deleting it

    assert [(p.draft_id, p.numbers) for p in await retention.sweep(dry_run=True)] == [
        (final, [1]),
        (gone, [1, 2]),
        (shared, [1]),
    ]
    assert len(await stored(runtime, one_k)) == 1  # a dry run deletes nothing

    pruned = await retention.sweep()
    assert [(p.draft_id, p.numbers) for p in pruned] == [(final, [1]), (gone, [1, 2]), (shared, [1])]
    [one_k, review, four_k] = await variants(runtime, final)
    assert await stored(runtime, one_k) == set() and one_k.image_deleted_at is not None
    assert await stored(runtime, review) == {review.blob_key} and review.image_deleted_at is None
    assert await stored(runtime, four_k) == {four_k.blob_key}
    [event] = await events(runtime, final, AuditKind.IMAGES_DELETED)
    assert event["numbers"] == [1] and event["bytes"] == one_k.bytes and event["retention_days"] == DAYS
    assert event["actor"] == "draftbot"
    assert [await stored(runtime, v) for v in await variants(runtime, gone)] == [set(), set()]
    for untouched in (recent, voting, alive):
        for variant in await variants(runtime, untouched):
            assert variant.image_deleted_at is None and await stored(runtime, variant)
    [crane] = await variants(runtime, shared)
    [twin] = await variants(runtime, alive)
    assert crane.blob_key == twin.blob_key and crane.image_deleted_at is not None
    assert await runtime.blobs.get(str(twin.blob_key))  # still used by the live draft: kept
    [shared_event] = await events(runtime, shared, AuditKind.IMAGES_DELETED)
    assert shared_event["kept_shared"] >= 1  # type: ignore[operator]

    assert await retention.sweep() == []  # a rerun finds nothing left to do
    assert len(await events(runtime, final, AuditKind.IMAGES_DELETED)) == 1

    # The old final made again in another shape: its 1K is gone, the 4K it is made from is not.
    also = await runtime.drafts.decisions.also_as(
        team_id=TEAM, draft_id=final, user=REQ, destination_key="website-hero"
    )
    assert isinstance(also, Done)
    await drain(runtime, clock)
    assert (final, Tier.FINAL, 1, 2) in publisher.versions


async def test_an_upgrade_from_a_deleted_1k_says_why_it_cannot_be_made(
    runtime: Runtime, clock: FakeClock
) -> None:
    """A review from a 1K that retention deleted (a draft reopened long after): a plain reason, no crash."""
    draft_id = await new_draft(runtime, "a quiet harbour for feed post --n 1 --seed 21")
    await drain(runtime, clock)
    [one_k] = await variants(runtime, draft_id)
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Variant).where(Variant.id == one_k.id).values(image_deleted_at=clock.now)
        )
    for key in (one_k.blob_key, one_k.preview_key):
        await runtime.blobs.delete(str(key))
    assert isinstance(
        await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done
    )
    await drain(runtime, clock)
    async with runtime.sessions() as session:
        [review] = await queries.variants_of(session, TEAM, draft_id, Tier.REVIEW)
    assert review.status == "failed"
    assert "was deleted after the draft finished, to save space (image retention)" in str(review.error)


async def test_the_sweep_runs_once_per_period_across_two_workers(
    runtime: Runtime, settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    other = await build_runtime(settings, publisher=publisher, clock=clock)  # a second worker, same database
    try:

        async def sweeps() -> list[Job]:
            async with runtime.sessions() as session:
                rows = await session.scalars(
                    select(Job).where(Job.kind == JobKind.PRUNE_IMAGES).order_by(Job.id)
                )
                return list(rows)

        assert [j.status for j in await sweeps()] == ["queued"]  # both asked; one is queued
        await drain(runtime, clock)
        await drain(other, clock)  # drains end: the next sweep waits an hour ahead
        done, queued = await sweeps()
        assert (done.status, queued.status) == ("done", "queued")
        assert queued.run_after == clock.now + timedelta(hours=1)

        clock.advance(3600)
        await other.drain()
        await runtime.drain()
        statuses = [j.status for j in await sweeps()]
        assert statuses == ["done", "done", "queued"]  # one more sweep, by whichever worker came first

        # A sweep that finds another finished moments ago does nothing but queue the next one.
        async with runtime.sessions.begin() as session:
            await jobqueue.enqueue(
                session, team_id="*", kind=JobKind.PRUNE_IMAGES, payload={}, max_attempts=3
            )
        await runtime.drain()
        async with runtime.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.kind == JobKind.PRUNE_IMAGES, Job.status == "queued")
            )
        assert count == 1
    finally:
        await other.aclose()


def test_draftbot_images_prune_prints_what_it_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]

    async def old_draft() -> int:
        clock = FakeClock()
        clock.now = utcnow()
        rt = await build_runtime(settings, publisher=RecordingPublisher(), clock=clock)
        try:
            draft_id = await cancelled(rt, clock, "a lantern for feed post --n 2 --seed 31")
            await finished_ago(rt, clock, 10, draft_id)
            return draft_id
        finally:
            await rt.aclose()

    draft_id = asyncio.run(old_draft())
    assert asyncio.run(prune(settings, dry_run=True, days=7)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"draft {draft_id} (team {TEAM}): would delete variants #1, #2: 4 blobs, ")
    assert out[-1].startswith(
        "would delete the 1K images of 1 drafts finished more than 7 days ago (4 blobs, "
    )
    assert asyncio.run(prune(settings, dry_run=False, days=7)) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith(f"draft {draft_id} (team {TEAM}): deleted variants")
    )
    assert asyncio.run(prune(settings, dry_run=False, days=7)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "deleted the 1K images of 0 drafts finished more than 7 days ago (0 blobs, 0 bytes)"
    ]


@pytest.mark.postgres
async def test_on_postgresql_and_a_bucket_two_workers_sweep_an_old_draft_once(
    tmp_path: Path, postgres_url: str, s3_bucket: Bucket
) -> None:
    clock = FakeClock()
    clock.now = utcnow()
    publisher = RecordingPublisher()

    def machine(name: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / name,
            database_url=postgres_url,
            blob_url=s3_bucket.url,
            image_retention_days=DAYS,
            _env_file=None,
        )

    a = await build_runtime(machine("a"), publisher=publisher, clock=clock)
    b = await build_runtime(machine("b"), publisher=publisher, clock=clock)
    try:
        draft_id = await cancelled(a, clock, "a copper kettle for feed post --n 2 --seed 41")
        keys = {f"images/{k}" for v in await variants(a, draft_id) for k in (v.blob_key, v.preview_key) if k}
        assert len(keys) == 4 and keys <= set(s3_bucket.objects())
        await finished_ago(a, clock, DAYS + 1, draft_id)
        clock.advance(3600)  # the next sweep is due
        await asyncio.gather(a.drain(), b.drain())
        assert not keys & set(s3_bucket.objects())
        assert len(await events(a, draft_id, AuditKind.IMAGES_DELETED)) == 1
        async with a.sessions() as session:
            statuses = list(
                await session.scalars(
                    select(Job.status).where(Job.kind == JobKind.PRUNE_IMAGES).order_by(Job.id)
                )
            )
        assert statuses.count("queued") == 1 and "failed" not in statuses
    finally:
        await a.aclose()
        await b.aclose()
