"""The crash sweep (issue 10): ``draftbot serve`` is SIGKILLed at one point of a draft per case, from 0 ms
after the ``/draft`` ack, through every publish step of the parent and of the variants, into the 2K review
and the 4K final; started again on the same data directory, it finishes the draft with every variant, the
review and the final in Slack exactly once, the audit trail agreeing, and every post the dead process owed
made within seconds of the restart. Run with ``-s`` to see the recovery time of each case.

The moment of death is exact, not slept for: a fault queued on the fake Slack holds one call (before it is
applied, or after it is applied and before the bot hears back) and the bot dies while it is held; or the
fake OpenAI holds the image request of the tier in flight. The default 15 s job lease is kept, so recovery
that waited for the dead process's leases to run out would fail the time bound.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import audit, blocks
from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from fakes.faults import Fault
from fakes.slack import Change, FakeSlack, Message
from storage import db
from storage.jobqueue import DONE
from storage.models import Job
from tests.slack_harness import ALICE, BOB, CHANNEL, shown_tally, wait_for
from tests.wire.bot_process import Bot, SlowImages, event_of, listening, tmp_db, world

HOLD = 30.0  # seconds a held call or image request would wait; the bot is killed long before
RECOVERY_BOUND = 10.0  # seconds from the restart to the last post the dead process owed (lease: 15 s)
QUIET = 0.5  # seconds of nothing new after the last post, before counting


@dataclass(frozen=True)
class KillPoint:
    """Where the bot dies. ``stage``: what is in flight (``"1K"`` the draft, ``"2K"`` after the upgrade press,
    ``"4K"`` after approval). The trap: 0 ms after the ack (``ack``), or a fake Slack call to ``target`` held
    (``after``: applied first, so Slack has done it and the bot never hears back), armed once ``armed_after``
    draft messages (the parent and images) of the stage are in Slack (then calls that must still come are
    held, whatever the variants racing each other do); or the stage's image request held (``target``
    None)."""

    name: str
    stage: str = "1K"
    target: str | None = None
    after: bool = False
    armed_after: int = 0
    nth: int = 1  # hold the nth call to ``target`` once armed (the earlier ones pass)
    ack: bool = False
    n: int = 4
    until: str | None = None  # the last stage to go through (default: the stage the bot dies in)

    @property
    def stages(self) -> list[str]:
        order = ["1K", "2K", "4K"]
        return order[: order.index(self.until or self.stage) + 1]


# Ordinals count calls or posts as they come: variants race, so "the 2nd variant post" is whichever is 2nd.
KILL_POINTS = [
    KillPoint("0ms-after-ack", ack=True),
    KillPoint("parent-post-held", target="chat.postMessage"),
    KillPoint("parent-posted-unheard", target="chat.postMessage", after=True),
    KillPoint("1st-upload-url", target="files.getUploadURLExternal", armed_after=1),
    KillPoint("3rd-upload-bytes", target="upload", armed_after=1, nth=3),
    KillPoint("2nd-complete-upload", target="files.completeUploadExternal", armed_after=1, nth=2),
    KillPoint("4th-files-info", target="files.info", armed_after=1, nth=4),
    KillPoint("2nd-variant-post-held", target="chat.postMessage", armed_after=2),
    KillPoint("1st-variant-posted-unheard", target="chat.postMessage", after=True, armed_after=1),
    KillPoint("between-variants-vote-emoji", target="reactions.add", after=True, armed_after=2),
    KillPoint("n8-5th-variant-posted-unheard", target="chat.postMessage", after=True, armed_after=5, n=8),
    KillPoint("review-2K-generating", stage="2K"),
    # The review Slack showed as the bot died is found and recorded: approving it then makes the final.
    KillPoint("review-2K-posted-unheard", stage="2K", target="chat.postMessage", after=True, until="4K"),
    KillPoint("review-0ms-after-upgrade-ack", stage="2K", ack=True),
    KillPoint("final-0ms-after-approve-ack", stage="4K", ack=True),
]


@dataclass
class Posts:
    """Every draft message the fake Slack shows, as it appears: (when, what) with what = ("parent",) or
    (tier, number)."""

    fake: FakeSlack
    seen: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    on_post: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self, change: Change) -> None:
        if change.kind != "message_posted":
            return
        kind, payload = event_of(self.fake.state.get_message(change.data["channel"], change.data["ts"]))
        if kind == DRAFT_EVENT:
            self.seen.append((time.monotonic(), ("parent",)))
        elif kind == IMAGE_EVENT:
            self.seen.append((time.monotonic(), (str(payload["tier"]), str(payload["number"]))))
        else:
            return
        for hook in list(self.on_post):
            hook()

    def what(self) -> list[tuple[str, ...]]:
        return [what for _, what in self.seen]


@dataclass
class Trap:
    """Kills the bot at a kill point of one stage; ``dead`` is set once it has."""

    point: KillPoint
    fake: FakeSlack
    images: SlowImages
    bot: Bot
    fault: Fault | None = None
    image_index: int | None = None

    def arm(self, posts: Posts) -> None:
        if self.point.ack:
            return
        if self.point.target is None:  # the stage's first image request is held
            self.image_index = self.images.started
            self.images.delays = [0.0] * self.image_index + [HOLD]
            return
        start = len(posts.seen)

        def maybe_arm() -> None:
            if self.fault is None and len(posts.seen) - start >= self.point.armed_after:
                # Held before it is applied, a call is then answered with an error, so it never happens.
                status = None if self.point.after else 500
                if self.point.nth > 1:  # a delay of nothing lets the earlier calls through
                    self.fake.faults.add(self.point.target or "", delay=1e-6, times=self.point.nth - 1)
                self.fault = self.fake.faults.add(
                    self.point.target or "", delay=HOLD, after=self.point.after, status=status
                )

        maybe_arm()
        if self.fault is None:
            posts.on_post.append(maybe_arm)

    def sprung(self) -> bool:
        if self.image_index is not None:
            return self.images.started > self.image_index
        return self.fault is not None and self.fault.hits > 0

    async def spring(self) -> None:
        """Wait until the held call or request is in, then kill the bot while it is held."""
        if not self.point.ack:
            try:
                await wait_for(self.sprung, within=20, what=f"the kill point {self.point.name}")
            except AssertionError as err:
                raise AssertionError(f"{err}\n{self.bot.tail()}") from None
        self.bot.kill()
        await self.bot.wait_dead()
        if self.fault is not None:
            self.fault.release()
        self.images.release()  # the rest of the images come at once


def parent_of(fake: FakeSlack) -> Message:
    return next(m for m in fake.messages(CHANNEL) if event_of(m)[0] == DRAFT_EVENT)


def images_in_slack(fake: FakeSlack) -> list[tuple[str, int]]:
    """(tier, number) of every image message in the draft's thread, duplicates included, sorted."""
    parent = parent_of(fake)
    found = []
    for message in fake.thread(CHANNEL, parent.ts):
        kind, payload = event_of(message)
        if kind == IMAGE_EVENT:
            found.append((str(payload["tier"]), int(payload["number"])))
    return sorted(found)


def expected(stage: str, n: int, winner: int) -> list[tuple[str, int]]:
    got = [("1K", k) for k in range(1, n + 1)]
    if stage in ("2K", "4K"):
        got.append(("2K", winner))
    if stage == "4K":
        got.append(("4K", winner))
    return sorted(got)


def stage_done(fake: FakeSlack, stage: str, n: int, winner: int) -> bool:
    if set(images_in_slack(fake)) < set(expected(stage, n, winner)):
        return False
    status = json.dumps(parent_of(fake).blocks)
    return {"1K": "Voting", "2K": "In review at 2K", "4K": "Final at 4K"}[stage] in status


@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda p: p.name)
async def test_crash_sweep(tmp_path: Path, point: KillPoint) -> None:
    images = SlowImages([], after=0.0)
    winner = 2
    async with world(tmp_path, images) as (fake, bot):
        posts = Posts(fake)
        with listening(fake, posts):
            trap = Trap(point, fake, images, bot)
            for stage in point.stages:
                if stage == point.stage:
                    trap.arm(posts)
                await begin(fake, stage, point, winner)
                if stage == point.stage:
                    await trap.spring()
                    before = set(posts.what())
                    await bot.start()
                    await finish(fake, bot, stage, point.n, winner)
                    recorded = await wait_recorded(bot, draft_id(fake), expected(stage, point.n, winner))
                    recovered = [(t, what) for t, what in posts.seen if t > bot.spawned_at]
                    owed = {what for _, what in recovered} - before
                    # A post Slack made as the bot died is owed only its record (see wait_recorded).
                    last_post = max((t for t, what in recovered if what in owed), default=None)
                    recovery = max(last_post or recorded, recorded) - bot.spawned_at
                    posted = "none" if last_post is None else f"{last_post - bot.spawned_at:.2f}s"
                    print(
                        f"\n{point.name}: restart (process start included) -> last owed post {posted}, "
                        f"all recorded {recorded - bot.spawned_at:.2f}s ({len(owed)} owed in Slack: "
                        f"{sorted(owed)})"
                    )
                    assert recovery < RECOVERY_BOUND, bot.tail()
                else:
                    await finish(fake, bot, stage, point.n, winner)
            await asyncio.sleep(QUIET)  # a duplicate still on its way has had its chance
            final_stage = point.stages[-1]
            shown = images_in_slack(fake)
            assert shown == expected(final_stage, point.n, winner), bot.tail()
            assert sum(event_of(m)[0] == DRAFT_EVENT for m in fake.messages(CHANNEL)) == 1
            await bot.stop()
        await check_records(fake, bot, shown)


async def begin(fake: FakeSlack, stage: str, point: KillPoint, winner: int) -> None:
    """What a person does to start ``stage``: the command, a vote and the upgrade press, the approval."""
    assert fake.delivery is not None
    if stage == "1K":
        brief = f"a lighthouse at dusk, long exposure for feed post --n {point.n}"
        response = await fake.delivery.send_slash_command(ALICE, CHANNEL, brief)
    elif stage == "2K":
        variant = next(
            m
            for m in fake.thread(CHANNEL, parent_of(fake).ts)
            if event_of(m)[1].get("tier") == "1K" and event_of(m)[1].get("number") == winner
        )
        await fake.user_add_reaction(BOB, CHANNEL, variant.ts, "+1")
        await wait_for(lambda: shown_tally(parent_of(fake)).get(winner) == 1, within=10, what="Bob's vote")
        response = await fake.delivery.send_block_action(
            ALICE, CHANNEL, parent_of(fake).ts, blocks.UPGRADE, str(draft_id(fake))
        )
    else:
        review = next(
            m for m in fake.thread(CHANNEL, parent_of(fake).ts) if event_of(m)[1].get("tier") == "2K"
        )
        response = await fake.delivery.send_block_action(
            ALICE, CHANNEL, review.ts, blocks.APPROVE, str(draft_id(fake))
        )
    assert response.status_code == 200


async def wait_recorded(bot: Bot, draft: int, want: list[tuple[str, int]]) -> float:
    """When (``time.monotonic()``) the audit trail has recorded every post in ``want`` (the bot read back
    what it had posted but not heard of), polled in the live database."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_db(bot)}")
    try:
        sessions = db.session_factory(engine)
        deadline = time.monotonic() + RECOVERY_BOUND + 5
        while True:
            rows = [row async for row in audit.events(sessions, draft_id=draft)]
            if sorted(_posted(rows)) == want:
                return time.monotonic()
            assert time.monotonic() < deadline, f"recorded {sorted(_posted(rows))}, not {want}\n{bot.tail()}"
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


_POSTED = {"variant_posted": "1K", "review_posted": "2K", "final_posted": "4K"}


def _posted(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(_POSTED[str(r["kind"])], int(r["details"]["number"])) for r in rows if r["kind"] in _POSTED]


def draft_id(fake: FakeSlack) -> int:
    return int(event_of(parent_of(fake))[1]["draft_id"])


async def finish(fake: FakeSlack, bot: Bot, stage: str, n: int, winner: int) -> None:
    try:
        await wait_for(lambda: stage_done(fake, stage, n, winner), within=20, what=f"the {stage} stage")
    except AssertionError as err:
        shown = images_in_slack(fake) if fake.messages(CHANNEL) else "no parent"
        raise AssertionError(f"{err}; Slack shows {shown}\n{bot.tail()}") from None


async def check_records(fake: FakeSlack, bot: Bot, shown: list[tuple[str, int]]) -> None:
    """The audit trail names each post Slack shows, once; no job is left to run (none could post later)."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_db(bot)}")
    try:
        sessions = db.session_factory(engine)
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # the last jobs (a contact sheet, its refresh) may still be finishing: not left over
            async with sessions() as session:
                unfinished = (
                    await session.execute(select(Job.id, Job.kind, Job.status).where(Job.status != DONE))
                ).all()
            if not unfinished or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        rows = [row async for row in audit.events(sessions, draft_id=draft_id(fake))]
    finally:
        await engine.dispose()
    kinds = {"variant_posted": "1K", "review_posted": "2K", "final_posted": "4K"}
    audited = sorted((kinds[str(r["kind"])], int(r["details"]["number"])) for r in rows if r["kind"] in kinds)
    assert audited == shown
    assert sum(r["kind"] == "draft_announced" for r in rows) == 1
    assert sum(r["kind"] == "voting_opened" for r in rows) == 1
    in_thread = {m.ts for m in fake.thread(CHANNEL, parent_of(fake).ts) if event_of(m)[0] == IMAGE_EVENT}
    assert {r["details"]["ts"] for r in rows if r["kind"] in _POSTED} == in_thread
    assert not unfinished, unfinished
