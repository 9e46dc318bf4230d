"""Home refreshes are debounced: however many times a draft changes, each person who opened their Home has
one publish queued, a moment ahead; nobody else gets one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.drafts.home import HomeRefresh
from bot.drafts.settings import fixed_policy
from bot.jobs import JobKind
from bot.runtime import Runtime
from bot.workflow import Policy
from storage import home as stored
from storage import jobqueue, queries
from storage.models import Job
from tests.conftest import FakeClock
from tests.services.test_service_flow import REQ, TEAM, new_draft

APPROVER, BYSTANDER, NEVER_OPENED = "UAPPROVER", "UBYSTANDER", "UNEVER"


async def test_a_burst_of_changes_queues_one_home_publish_per_person(
    runtime: Runtime, clock: FakeClock
) -> None:
    draft_id = await new_draft(runtime, "a glass teapot for feed post --n 2")
    async with runtime.sessions.begin() as session:
        for user in (REQ, APPROVER, BYSTANDER):
            await stored.opened(session, TEAM, user, clock())
    refresh = HomeRefresh(
        fixed_policy(Policy(approvers=frozenset({APPROVER, NEVER_OPENED}))),
        timedelta(seconds=2),
        max_attempts=3,
        clock=clock,
    )
    for _ in range(5):  # five changes in a second
        async with runtime.sessions.begin() as session:
            draft = await queries.get_draft(session, TEAM, draft_id)
            assert draft is not None
            await refresh.draft_changed(session, draft)
        clock.advance(0.2)

    async with runtime.sessions() as session:
        jobs = list(
            await session.scalars(select(Job).where(Job.kind == JobKind.HOME, Job.status == jobqueue.QUEUED))
        )
    assert sorted(j.payload["user"] for j in jobs) == [
        APPROVER,
        REQ,
    ]  # not the bystander, not who never opened
    first = clock() - timedelta(seconds=1)  # the first change's time
    assert all(j.run_after == first + timedelta(seconds=2) for j in jobs)  # due a moment after the first


async def test_a_home_publish_that_gives_up_fails_no_draft(runtime: Runtime) -> None:
    draft_id = await new_draft(runtime, "a glass teapot for feed post --n 2")
    job = jobqueue.ClaimedJob(1, TEAM, JobKind.HOME, None, {"user": REQ}, 3, 3, "worker")
    await runtime.generator.give_up(job, "user_not_found")  # the runner's hook: it must not raise
    async with runtime.sessions() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
    assert draft is not None and draft.status == "generating"
