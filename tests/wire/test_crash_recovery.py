"""The bot process dies (SIGKILL) while a draft's variants are in flight; started again on the same data
directory, it finishes the draft with every variant in the thread exactly once.

The bot runs as a real ``draftbot serve`` subprocess against the fake Slack and a slow fake OpenAI Images
API, both served by this test on loopback. Short job leases let the restarted worker take over the dead
worker's jobs quickly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot import audit
from bot.blocks import IMAGE_EVENT
from fakes.slack import Change, FakeSlack, Message
from storage import db
from tests.slack_harness import ALICE, CHANNEL, wait_for
from tests.wire.bot_process import (
    Bot,
    SlowImages,
    event_of,
    listening,
    the_parent,
    tmp_db,
    variant_numbers,
    world,
)

N = 4
LEASE = 3.0  # seconds: how long the dead worker's jobs stay claimed
BRIEF = f"a lighthouse at dusk, long exposure for feed post --n {N}"


async def start_draft(fake: FakeSlack) -> tuple[int, Message]:
    assert fake.delivery is not None
    response = await fake.delivery.send_slash_command(ALICE, CHANNEL, BRIEF)
    assert response.status_code == 200
    parent = await wait_for(lambda: the_parent(fake), within=15, what="the parent message")
    return int(event_of(parent)[1]["draft_id"]), parent


async def finish_and_check(fake: FakeSlack, bot: Bot, draft_id: int, parent: Message) -> None:
    """After the restart: all N variants arrive, voting opens, and nothing more is posted later."""
    try:
        await wait_for(lambda: len(variant_numbers(fake, parent)) >= N, within=25, what=f"{N} variants")
        await wait_for(
            lambda: "Voting" in json.dumps(fake.state.get_message(CHANNEL, parent.ts).blocks),
            within=10,
            what="voting to open",
        )
    except AssertionError as err:
        raise AssertionError(f"{err}; thread has {variant_numbers(fake, parent)}\n{bot.tail()}") from None
    await asyncio.sleep(2 + LEASE)  # any job that could still post a duplicate has had its chance
    assert variant_numbers(fake, parent) == list(range(1, N + 1)), bot.tail()
    await bot.stop()

    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_db(bot)}")
    try:
        rows = [row async for row in audit.events(db.session_factory(engine), draft_id=draft_id)]
    finally:
        await engine.dispose()
    posted = sorted(int(r["details"]["number"]) for r in rows if r["kind"] == "variant_posted")
    assert posted == list(range(1, N + 1))
    assert sum(r["kind"] == "voting_opened" for r in rows) == 1
    # Every variant message the audit names is the one in the thread.
    in_thread = {m.ts for m in fake.thread(CHANNEL, parent.ts) if event_of(m)[0] == IMAGE_EVENT}
    assert {r["details"]["ts"] for r in rows if r["kind"] == "variant_posted"} == in_thread


async def test_killed_mid_draft_finishes_every_variant_once_after_restart(tmp_path: Path) -> None:
    # Two variants come back quickly, two are still being drawn when the process dies.
    images = SlowImages([0.2, 0.8, 8.0, 9.0], after=0.3)
    async with world(tmp_path, images, DRAFTBOT_JOB_LEASE_SECONDS=str(LEASE)) as (fake, bot):
        draft_id, parent = await start_draft(fake)
        await wait_for(lambda: len(variant_numbers(fake, parent)) >= 2, within=15, what="two variants")
        await asyncio.sleep(0.5)  # let those two be recorded; the other two are still being drawn
        assert len(variant_numbers(fake, parent)) < N
        bot.kill()
        await bot.wait_dead()
        before = variant_numbers(fake, parent)
        assert 2 <= len(before) < N

        await bot.start()
        await finish_and_check(fake, bot, draft_id, parent)
        assert images.started >= N + (N - len(before))  # the missing ones were drawn again


async def test_killed_between_the_post_and_its_commit_does_not_post_twice(tmp_path: Path) -> None:
    """The worst moment: Slack has posted the variant, the bot never hears back (it is dead), so its
    database still says "not posted". The retry must find the message by its metadata."""
    images = SlowImages([0.2, 2.0, 3.0, 4.0], after=0.3)
    async with world(tmp_path, images, DRAFTBOT_JOB_LEASE_SECONDS=str(LEASE)) as (fake, bot):
        killed: list[str] = []

        def kill_on_first_image(change: Change) -> None:
            if killed or change.kind != "message_posted":
                return
            message = fake.state.get_message(change.data["channel"], change.data["ts"])
            if event_of(message)[0] == IMAGE_EVENT:
                bot.kill()  # before the fake even answers chat.postMessage
                killed.append(message.ts)

        with listening(fake, kill_on_first_image):
            draft_id, parent = await start_draft(fake)
            await wait_for(lambda: killed, within=15, what="the first variant message")
            await bot.wait_dead()
        before = variant_numbers(fake, parent)
        assert len(before) == 1

        await bot.start()
        await finish_and_check(fake, bot, draft_id, parent)
        # The message posted at the moment of death is the one the audit trail names.
        assert killed[0] in {m.ts for m in fake.thread(CHANNEL, parent.ts)}
