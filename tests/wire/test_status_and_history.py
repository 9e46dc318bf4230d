"""`/draft status` and `/draft history` over the wire: private answers with the right figures for a
scripted set of drafts, with permalinks to their threads, paged."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot import blocks
from bot.reports import HISTORY_PAGE
from storage.models import Draft, utcnow
from tests.slack_harness import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    DAVE,
    Wire,
    running_bot,
    shown_tally,
    start_draft,
    wait_for,
)

TEAM = "T0PLAYGRND"


async def ask(wire: Wire, user: str, text: str) -> str:
    before = len(wire.ephemerals(user))
    response = await wire.command(user, text)
    assert response.status_code == 200
    return await wait_for(lambda: wire.ephemerals(user)[before:] and wire.ephemerals(user)[-1], what=text)


async def old_drafts(
    wire: Wire, count: int, *, requester: str, days_ago: int, channel: str = CHANNEL
) -> None:
    """Drafts from before (straight into the database: the history only reads them)."""
    async with wire.runtime.sessions.begin() as session:
        for n in range(count):
            session.add(
                Draft(
                    team_id=TEAM,
                    channel_id=channel,
                    requester_id=requester,
                    prompt=f"old idea {n}",
                    destination_key="poster",
                    destination_name="poster",
                    ratio="2:3",
                    output_format="jpeg",
                    n_variants=2,
                    base_seed=1,
                    status="cancelled",
                    created_at=utcnow() - timedelta(days=days_ago, minutes=n),
                )
            )


async def test_status_tells_state_votes_versions_and_who_it_waits_on(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        first = await start_draft(wire, "a red kite for feed post --n 3", n=3)
        for voter in (BOB, CAROL):
            await wire.react(voter, wire.images(first)[2])
        await wire.react(DAVE, wire.images(first)[3])
        await wait_for(lambda: shown_tally(wire.parent(first)) == {2: 2, 3: 1}, what="the votes")

        answer = await ask(wire, ALICE, "status")  # the latest in the channel
        assert f"Draft #{first}" in answer and "*Status:* voting" in answer
        assert "*Votes:* #2: 2 · #3: 1 (3 votes)" in answer
        assert f"<@{ALICE}> or an approver to upgrade" in answer
        assert f"https://playground.slack.com/archives/{CHANNEL}/p" in answer

        await wire.press(ALICE, wire.parent(first), blocks.UPGRADE, str(first))
        review = await wait_for(lambda: wire.images(first, "2K").get(2), what="the review")
        await wire.command(BOB, "a blue kite for feed post --n 1")
        second = await wait_for(
            lambda: len(wire.parents()) == 2 and wire.parents()[-1].metadata["event_payload"]["draft_id"],  # type: ignore[index]
            what="the second draft",
        )
        answer = await ask(wire, CAROL, f"status #{first}")
        assert "*Status:* in 2K review" in answer
        assert "*2K review versions:* v1 of #2 (posted)" in answer
        assert f"*Waits on:* <@{DAVE}> (1 more approval; 0 of 1 approvals)" in answer
        assert f"Draft #{second}" in await ask(wire, CAROL, "status")

        await wire.press(DAVE, review, blocks.APPROVE, f"{first}:2.1")
        await wait_for(lambda: wire.images(first, "4K").get(2), what="the final")
        answer = await ask(wire, BOB, f"status #{first}")
        assert "*Status:* final" in answer and "v1 of #2 (approved)" in answer
        assert "*Waits on:* nobody: it is final" in answer
        assert "can't find draft #999" in await ask(wire, BOB, "status #999")
        told = [e.user for e in wire.fake.state.ephemerals if "nobody: it is final" in (e.text or "")]
        assert told == [BOB]  # privately, to who asked
        assert not any("nobody: it is final" in (m.text or "") for m in wire.fake.messages(CHANNEL))


async def test_history_lists_the_latest_with_links_by_person_channel_and_time_paged(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        mine = await start_draft(wire, "a green kite for feed post --n 1", n=1)
        await old_drafts(wire, 12, requester=ALICE, days_ago=3)
        await old_drafts(wire, 2, requester=ALICE, days_ago=20)
        await old_drafts(wire, 4, requester=BOB, days_ago=1)
        await old_drafts(wire, 3, requester=BOB, days_ago=1, channel="C0RANDOM")

        answer = await ask(wire, CAROL, f"history <@{ALICE}|alice>")
        assert f"1–{HISTORY_PAGE} of 15, latest first" in answer
        assert re.search(rf"<https://playground\.slack\.com/archives/{CHANNEL}/p\d+\|#{mine}>", answer)
        assert answer.count("• ") == HISTORY_PAGE
        assert "--page 2" in answer
        page = await ask(wire, CAROL, f"history <@{ALICE}> --page 2")
        assert "11–15 of 15" in page and "--page 3" not in page

        assert "1–10 of 13, latest first" in await ask(wire, CAROL, f"history <@{ALICE}> --since 7d")
        assert "1–4 of 4" in await ask(wire, CAROL, f"history <@{BOB}> <#{CHANNEL}|general>")
        assert "1–3 of 3" in await ask(wire, CAROL, "history <#C0RANDOM>")
        assert "of 20" in await ask(wire, CAROL, "history --since 7d")  # 13 + 7, everyone's
        assert "not a time" in await ask(wire, CAROL, "history --since soon")
        assert "not a person or a channel" in await ask(wire, CAROL, "history --page 2 yesterday")
