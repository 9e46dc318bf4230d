"""`/draft … --vote 2h` over the real wire, on a clock the test moves: the parent says when voting closes,
votes arrive as reactions, and at the deadline the winner's 2K review appears by itself; a day later, with
nobody deciding it, one reminder in the thread mentions the approver."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.blocks import REMINDER_EVENT
from storage.models import Draft
from tests.conftest import FakeClock
from tests.slack_harness import BOB, CAROL, CHANNEL, DAVE, running_bot, shown_tally, start_draft, wait_for


async def test_the_vote_deadline_upgrades_the_winner_and_the_review_is_reminded_once(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(tmp_path, clock=clock, review_reminder=timedelta(hours=24)) as wire:
        draft_id = await start_draft(wire, "a lighthouse at dusk for feed post --n 3 --vote 2h", n=3)
        async with wire.runtime.sessions() as session:
            deadline = await session.scalar(select(Draft.vote_deadline).where(Draft.id == draft_id))
        assert deadline is not None and deadline == clock.now + timedelta(hours=2)
        shown = json.dumps(wire.parent(draft_id).blocks)
        epoch = int(deadline.timestamp())
        assert f"Voting closes <!date^{epoch}^{{date_short_pretty}} at {{time}}|" in shown
        assert f"|{deadline:%Y-%m-%d %H:%M} UTC>" in shown

        images = wire.images(draft_id)
        await wire.react(BOB, images[2])
        await wire.react(CAROL, images[2])
        await wire.react(DAVE, images[1])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 2, 1: 1}, what="the tally")
        await asyncio.sleep(1.0)  # nothing more is running: the clock may jump
        assert not wire.images(draft_id, "2K")

        clock.now = deadline + timedelta(seconds=1)
        review = await wait_for(lambda: wire.images(draft_id, "2K").get(2), within=30, what="the 2K review")
        await wait_for(
            lambda: "Voting closed at its deadline" in json.dumps(wire.parent(draft_id).blocks),
            what="the parent to say the deadline closed voting",
        )
        parent = wire.parent(draft_id)
        assert "Voting closes" not in json.dumps(parent.blocks)
        await asyncio.sleep(1.0)

        clock.advance(24 * 3600 + 1)
        reminder = await wait_for(
            lambda: next(
                m
                for m in wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
                if (m.metadata or {}).get("event_type") == REMINDER_EVENT
            ),
            within=15,
            what="the reminder",
        )
        assert f"<@{DAVE}>" in reminder.text and "2K review of variant 2" in reminder.text
        await asyncio.sleep(1.5)  # any second post has had its chance
        thread = wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
        assert sum((m.metadata or {}).get("event_type") == REMINDER_EVENT for m in thread) == 1
        assert len(wire.images(draft_id, "2K")) == 1 and review.ts in {m.ts for m in thread}
