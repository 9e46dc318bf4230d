"""Voting deadlines and review reminders through the service layer, on a clock the test moves: each fires
once, when it should, and never when the draft moved on without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import audit
from bot.config import Settings
from bot.drafts import Done
from bot.jobs import JobKind, enqueue, schedule
from bot.publisher import DraftCard, MessageRef, RecordingPublisher, ReminderCard
from bot.runtime import Runtime, build_runtime
from bot.tiers import Tier
from storage import queries
from storage.models import Approval, ChannelSettings, Job, Variant
from tests.conftest import FakeClock, drain
from tests.services.test_service_flow import CHANNEL, REQ, TEAM, new_draft, status, variant_ts, vote

HOURS = 3600


@pytest.fixture
def extra() -> dict[str, Any]:
    return {}


@pytest.fixture
async def timed(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock, extra: dict[str, Any]
) -> AsyncIterator[Runtime]:
    rt = await build_runtime(settings.model_copy(update=extra), publisher=publisher, clock=clock)
    yield rt
    await rt.aclose()


async def events(runtime: Runtime, draft_id: int, kind: str) -> list[dict[str, Any]]:
    return [row async for row in audit.events(runtime.sessions, draft_id=draft_id) if row["kind"] == kind]


async def drain_without_jumping(runtime: Runtime, clock: FakeClock) -> None:
    """Draining runs everything due and leaves the deadline waiting: the clock barely moves."""
    before = clock.now
    await drain(runtime, clock)
    assert clock.now - before < timedelta(minutes=10), "draining jumped to a scheduled job"


async def voting_draft(runtime: Runtime, clock: FakeClock, text: str) -> tuple[int, dict[int, str]]:
    draft_id = await new_draft(runtime, text)
    await drain_without_jumping(runtime, clock)
    assert await status(runtime, draft_id) == "voting"
    return draft_id, await variant_ts(runtime, draft_id)


async def run_close_job_again(runtime: Runtime, draft_id: int) -> None:
    """As after a crash between the close's commit and the job's completion: the job runs once more."""
    async with runtime.sessions.begin() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None
        await enqueue(session, draft, JobKind.CLOSE_VOTING, max_attempts=3)


async def test_at_the_deadline_the_winner_goes_to_2k_once(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id, ts = await voting_draft(timed, clock, "a kite over dunes for feed post --n 3 --vote 2h")
    async with timed.sessions() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None and draft.vote_deadline is not None
        deadline = draft.vote_deadline
    assert deadline - clock.now > timedelta(hours=1, minutes=50)
    await vote(timed, ts[2], "U1")
    await vote(timed, ts[2], "U2")
    await vote(timed, ts[1], "U3")
    await drain_without_jumping(timed, clock)
    assert await status(timed, draft_id) == "voting"  # not before the deadline

    clock.now = deadline + timedelta(seconds=1)
    await drain(timed, clock)
    assert await status(timed, draft_id) == "reviewing"
    assert (draft_id, Tier.REVIEW, 2) in publisher.images

    await run_close_job_again(timed, draft_id)
    await drain(timed, clock)
    await timed.drafts.deadlines.close_voting(team_id=TEAM, draft_id=draft_id)  # and once more, directly
    await drain(timed, clock)
    closed = await events(timed, draft_id, "voting_closed")
    assert len(closed) == 1 and closed[0]["actor"] == audit.SYSTEM
    assert closed[0]["details"]["by"] == "deadline" and closed[0]["details"]["winner"] == 2
    upgrades = await events(timed, draft_id, "upgrade_requested")
    assert len(upgrades) == 1 and upgrades[0]["details"]["by"] == "deadline"
    assert sum(r.kind == "image" and r.detail["tier"] == Tier.REVIEW for r in publisher.records) == 1
    assert len(await events(timed, draft_id, "generation")) == 3 + 1  # one 2K, made once


async def test_a_tie_at_the_deadline_asks_the_requester_once(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id, ts = await voting_draft(timed, clock, "a kite over dunes for feed post --n 3 --vote 1h")
    await vote(timed, ts[1], "U1")
    await vote(timed, ts[3], "U2")
    clock.advance(HOURS + 1)
    await drain(timed, clock)
    assert await status(timed, draft_id) == "voting"
    assert [r.detail for r in publisher.of_kind("tie_break")] == [{"tied": (1, 3), "votes": 1}]
    ties = await events(timed, draft_id, "tie_break_needed")
    assert len(ties) == 1 and ties[0]["actor"] == audit.SYSTEM and ties[0]["details"]["by"] == "deadline"

    await run_close_job_again(timed, draft_id)
    await drain(timed, clock)
    assert len(publisher.of_kind("tie_break")) == 1  # not asked twice
    assert not await events(timed, draft_id, "voting_closed")

    chosen = await timed.drafts.decisions.choose_tied(team_id=TEAM, draft_id=draft_id, user=REQ, number=3)
    assert isinstance(chosen, Done)
    await drain(timed, clock)
    assert (draft_id, Tier.REVIEW, 3) in publisher.images


async def test_an_upgrade_by_hand_before_the_deadline_leaves_the_deadline_nothing_to_do(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id, ts = await voting_draft(timed, clock, "a kite over dunes for feed post --n 3 --vote 2h")
    await vote(timed, ts[3], "U1")
    done = await timed.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(done, Done)
    await drain_without_jumping(timed, clock)
    clock.advance(2 * HOURS + 1)
    await drain(timed, clock)
    upgrades = await events(timed, draft_id, "upgrade_requested")
    assert [u["actor"] for u in upgrades] == [REQ]
    assert not await events(timed, draft_id, "voting_closed")
    async with timed.sessions() as session:
        close = (await session.scalars(select(Job).where(Job.kind == JobKind.CLOSE_VOTING))).all()
    assert [job.status for job in close] == ["done"]  # it ran, and did nothing


async def test_a_deadline_that_comes_while_generating_closes_voting_when_it_opens(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await new_draft(timed, "a kite over dunes for feed post --n 1 --vote 30m")
    clock.advance(HOURS)  # the variants were slow: the deadline is due with them, and runs among them
    await drain(timed, clock)
    assert await status(timed, draft_id) == "reviewing"
    assert len(await events(timed, draft_id, "voting_closed")) == 1
    assert (draft_id, Tier.REVIEW, 1) in publisher.images


@pytest.mark.parametrize("extra", [{"vote_window": timedelta(hours=1)}])
async def test_the_default_window_applies_unless_vote_off(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    made_at = clock.now
    with_default = await new_draft(timed, "a kite over dunes for feed post --n 1")
    without = await new_draft(timed, "a kite over dunes for feed post --n 1 --vote off")
    await drain_without_jumping(timed, clock)
    async with timed.sessions() as session:
        first = await queries.get_draft(session, TEAM, with_default)
        second = await queries.get_draft(session, TEAM, without)
        close = (await session.scalars(select(Job).where(Job.kind == JobKind.CLOSE_VOTING))).all()
    assert first is not None and first.vote_deadline == made_at + timedelta(hours=1)
    assert second is not None and second.vote_deadline is None
    assert {job.draft_id for job in close} == {with_default}
    clock.advance(HOURS + 1)
    await drain(timed, clock)
    assert await status(timed, with_default) == "reviewing"  # one variant: no tie possible
    assert await status(timed, without) == "voting"


# --- review reminders --------------------------------------------------------------------------------

REMIND = {"review_reminder": timedelta(hours=24)}


async def reviewing_draft(runtime: Runtime, clock: FakeClock) -> int:
    draft_id, ts = await voting_draft(runtime, clock, "a kite over dunes for feed post --n 2")
    await vote(runtime, ts[2], "U1")
    assert isinstance(
        await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done
    )
    await drain_without_jumping(runtime, clock)
    assert await status(runtime, draft_id) == "reviewing"
    return draft_id


@pytest.mark.parametrize("extra", [REMIND])
async def test_an_undecided_review_gets_one_reminder(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await reviewing_draft(timed, clock)
    clock.advance(23 * HOURS)
    await drain(timed, clock)
    assert not publisher.of_kind("reminder")
    clock.advance(HOURS + 1)
    await drain(timed, clock)
    reminders = publisher.of_kind("reminder")
    assert [r.detail["mention"] for r in reminders] == [(REQ,)]  # no approvers set: the requester, and
    assert reminders[0].detail["anyone"] is True and reminders[0].detail["retry"] is False  # anyone may
    sent = await events(timed, draft_id, "reminder_sent")
    assert len(sent) == 1 and sent[0]["details"]["mentioned"] == [REQ]
    assert sent[0]["details"]["waited"] == "1 day"

    async with timed.sessions.begin() as session:  # the job once more (a crash after its commit)
        draft = await queries.get_draft(session, TEAM, draft_id)
        review = await queries.get_variant(session, TEAM, draft_id, Tier.REVIEW, 2)
        assert draft is not None and review is not None and review.reminder_ts == reminders[0].detail["ts"]
        await schedule(
            session, draft, JobKind.REMIND_REVIEW, at=clock.now, max_attempts=3, variant_id=review.id
        )
    await drain(timed, clock)
    assert len(publisher.of_kind("reminder")) == 1


@pytest.mark.parametrize("extra", [REMIND | {"approvers": frozenset({"U0KIM", "U0LEE"})}])
async def test_the_reminder_mentions_the_approvers(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    await reviewing_draft(timed, clock)
    clock.advance(24 * HOURS + 1)
    await drain(timed, clock)
    assert [(r.detail["mention"], r.detail["anyone"]) for r in publisher.of_kind("reminder")] == [
        (("U0KIM", "U0LEE"), False)
    ]


@pytest.mark.parametrize("extra", [REMIND | {"approvers": frozenset({"U0KIM"})}])
async def test_the_reminder_mentions_the_channels_own_approvers(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    async with timed.sessions.begin() as session:  # what the channel settings form writes
        session.add(ChannelSettings(team_id=TEAM, channel_id=CHANNEL, approvers=["U0ANN"]))
    await reviewing_draft(timed, clock)
    clock.advance(24 * HOURS + 1)
    await drain(timed, clock)
    assert [(r.detail["mention"], r.detail["anyone"]) for r in publisher.of_kind("reminder")] == [
        (("U0ANN",), False)
    ]


@pytest.mark.parametrize("extra", [REMIND])
async def test_no_reminder_once_the_review_is_decided(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await reviewing_draft(timed, clock)
    assert isinstance(await timed.drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user="U9"), Done)
    await drain_without_jumping(timed, clock)
    clock.advance(24 * HOURS + 1)
    await drain(timed, clock)
    assert not publisher.of_kind("reminder")
    assert not await events(timed, draft_id, "reminder_sent")


@pytest.mark.parametrize("extra", [REMIND])
async def test_no_reminder_for_an_approved_or_superseded_version(
    timed: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    first = await reviewing_draft(timed, clock)
    second = await reviewing_draft(timed, clock)
    async with timed.sessions.begin() as session:
        review = await queries.get_variant(session, TEAM, first, Tier.REVIEW, 2)
        assert review is not None
        session.add(Approval(team_id=TEAM, draft_id=first, variant_id=review.id, approver_id="U0KIM"))
        older = await queries.get_variant(session, TEAM, second, Tier.REVIEW, 2)
        assert older is not None  # a v2 of the second draft's review supersedes its v1 (Request changes)
        session.add(
            Variant(team_id=TEAM, draft_id=second, tier=Tier.REVIEW, number=2, version=2, seed=older.seed)
        )
    clock.advance(24 * HOURS + 1)
    await drain(timed, clock)
    assert not publisher.of_kind("reminder")


class PostsThenLosesTheAnswer(RecordingPublisher):
    """The reminder reaches Slack, but the first answer is lost (a timeout): the job is tried again."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    async def post_reminder(
        self, draft: DraftCard, reminder: ReminderCard, *, retry: bool = False
    ) -> MessageRef:
        ref = await super().post_reminder(draft, reminder, retry=retry)
        if not self.lost:
            self.lost += 1
            raise TimeoutError("no answer")
        return ref


async def test_a_retried_reminder_looks_for_its_own_post_first(settings: Settings, clock: FakeClock) -> None:
    publisher = PostsThenLosesTheAnswer()
    runtime = await build_runtime(settings.model_copy(update=REMIND), publisher=publisher, clock=clock)
    try:
        draft_id = await reviewing_draft(runtime, clock)
        clock.advance(24 * HOURS + 1)
        await drain(runtime, clock)
        assert [r.detail["retry"] for r in publisher.of_kind("reminder")] == [False, True]
        assert len(await events(runtime, draft_id, "reminder_sent")) == 1
    finally:
        await runtime.aclose()
