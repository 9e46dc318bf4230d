"""The whole product over Slack's wire: signed requests in, the real slack_sdk client out to the fake
Slack, real SQLite, the real local renderer. Only Slack itself is replaced."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from bot import blocks
from bot.cli import main as cli_main
from bot.tiers import Size
from tests.slack_harness import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    DAVE,
    Wire,
    drafts_in_db,
    running_bot,
    shown_tally,
    shown_voters,
    start_draft,
    wait_for,
)

BRIEF = "a matte black water bottle, dramatic side light, empty title area for mobile cover"


@pytest.fixture
async def wire(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(tmp_path / "data") as wire:
        yield wire


async def test_full_loop_over_the_wire(wire: Wire, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await wire.command(ALICE, BRIEF)
    assert response.status_code == 200
    assert any("Drafting 4 variants" in text for text in wire.ephemerals(ALICE))

    parent = await wait_for(lambda: wire.parents()[0], what="the parent message")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    variants = await wait_for(lambda: (v := wire.images(draft_id)) and len(v) == 4 and v, what="4 variants")
    for variant in variants.values():
        assert wire.image_size(variant) == Size(576, 1024)  # 9:16 at 1K, measured from the uploaded bytes
        assert variant.thread_ts == parent.ts
        await wait_for(
            lambda v=variant: wire.bot_user in v.reactions.get("+1", []), what="the bot's vote emoji"
        )
    await wait_for(lambda: "4/4 ready" in json.dumps(wire.parent(draft_id).blocks), what="4/4 ready")

    # Votes: Bob for 2, Carol for 3 then takes it back, Dave for 1 then moves to 2 (his 👍 on 1 stays in
    # Slack, so he is told it no longer counts). After each step the parent's tally, leader and voters are
    # right. Each lands before the next, as with people (racing reactions: test_service_flow).
    def parent_text() -> str:
        return json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)

    for user, number, on, tally, leader, voters in [
        (BOB, 2, True, {2: 1}, "variant 2 leads with 1 vote", {2: f"<@{BOB}>"}),
        (CAROL, 3, True, {2: 1, 3: 1}, "variants 2 and 3 are tied", {2: f"<@{BOB}>", 3: f"<@{CAROL}>"}),
        (CAROL, 3, False, {2: 1}, "variant 2 leads with 1 vote", {2: f"<@{BOB}>"}),
        (DAVE, 1, True, {1: 1, 2: 1}, "variants 1 and 2 are tied", {1: f"<@{DAVE}>", 2: f"<@{BOB}>"}),
        (DAVE, 2, True, {2: 2}, "variant 2 leads with 2 votes", {2: f"<@{BOB}>, <@{DAVE}>"}),
    ]:
        assert (await wire.react(user, variants[number], on=on)).status_code == 200
        await wait_for(
            lambda tally=tally: shown_tally(wire.parent(draft_id)) == tally, what=f"the tally {tally}"
        )
        assert leader in parent_text()
        assert shown_voters(wire.parent(draft_id)) == voters
    assert "the first :+1: under each variant is the bot's" in parent_text()
    moved = await wait_for(
        lambda: next((t for t in wire.ephemerals(DAVE) if "no longer counts" in t), None),
        what="Dave's notice",
    )
    assert moved == "Your vote is now on #2; your :+1: on #1 no longer counts — remove it to tidy up."
    assert not any("no longer" in t for t in wire.ephemerals(BOB) + wire.ephemerals(CAROL))
    # Slack redelivers Dave's first reaction (same event id, retry headers): it must not move his vote back.
    first_event = next(
        r
        for r in wire.delivery.records_for("event")
        if r.payload["event"]["user"] == DAVE and r.payload["event"]["item"]["ts"] == variants[1].ts
    )
    retry = await wire.delivery.send_event(
        first_event.payload["event"],
        event_id=first_event.payload["event_id"],
        retry_num=1,
        retry_reason="http_timeout",
        # Slack signs each attempt when it makes it; the very same timestamp and signature is a replay.
        timestamp=int(first_event.headers["X-Slack-Request-Timestamp"]) + 1,
    )
    assert retry.status_code == 200
    # A reaction by the bot itself (as Slack would deliver it) never counts.
    await wire.delivery.send_event(
        {
            "type": "reaction_added",
            "user": wire.bot_user,
            "reaction": "+1",
            "item_user": wire.bot_user,
            "item": {"type": "message", "channel": CHANNEL, "ts": variants[4].ts},
            "event_ts": str(time.time()),
        }
    )
    await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 2}, what="the tally")

    # Only the requester or an approver may upgrade; Bob's press is refused, privately.
    await wire.press(BOB, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    await wait_for(lambda: any("Only the requester" in t for t in wire.ephemerals(BOB)), what="Bob's refusal")
    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    review = await wait_for(lambda: wire.images(draft_id, "2K").get(2), what="the 2K review")
    assert wire.image_size(review) == Size(1152, 2048)

    # Approval: Alice (requester, self-approval off) and Bob (not an approver) are refused; Dave approves.
    await wire.press(BOB, review, blocks.APPROVE, str(draft_id))
    await wire.press(ALICE, review, blocks.APPROVE, str(draft_id))
    await wait_for(lambda: any("approver" in t for t in wire.ephemerals(BOB)), what="Bob's approval refusal")
    assert not wire.images(draft_id, "4K")
    await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
    final = await wait_for(lambda: wire.images(draft_id, "4K").get(2), what="the 4K final")
    assert wire.image_size(final) == Size(2304, 4096)
    await wait_for(lambda: "Final at 4K" in json.dumps(wire.parent(draft_id).blocks), what="the final parent")
    # Nothing in the channel or the thread offers a control the finished draft no longer allows, and the
    # messages that had them say what happened.
    await wait_for(
        lambda: offered_controls(wire, draft_id) == [blocks.ALSO_AS], what="every stale control to go"
    )
    review = wire.images(draft_id, "2K")[2]
    assert f"Approved by <@{DAVE}>: the 4K final is below." in json.dumps(review.blocks)
    assert "this variant went to 2K" in json.dumps(wire.images(draft_id)[2].blocks)
    assert "Voting closed: variant 2 went to 2K." in json.dumps(wire.images(draft_id)[1].blocks)

    # The audit export lists every step with its actor.
    monkeypatch.setenv("DRAFTBOT_DATA_DIR", str(wire.runtime.settings.data_dir))
    out = tmp_path / "audit.jsonl"
    args = ["audit", "export", "--draft", str(draft_id), "--format", "jsonl", "-o", str(out)]
    assert await asyncio.to_thread(cli_main, args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    steps = [(row["kind"], row["actor"]) for row in rows]
    assert steps[0] == ("command", ALICE)
    for step in [
        ("vote", BOB),
        ("vote", CAROL),
        ("unvote", CAROL),
        ("vote", DAVE),
        ("vote", DAVE),
        ("action_refused", BOB),
        ("upgrade_requested", ALICE),
        ("action_refused", ALICE),
        ("approved", DAVE),
        ("review_posted", "draftbot"),
        ("final_posted", "draftbot"),
    ]:
        assert step in steps, step
    assert sum(kind == "generation" for kind, _ in steps) == 6
    assert sum(kind in ("vote", "unvote") for kind, _ in steps) == 5  # the retry changed nothing
    assert all(actor != wire.bot_user for _, actor in steps)


def offered_controls(wire: Wire, draft_id: int) -> list[str]:
    """Every button (action id) on the draft's messages in the channel and its thread."""
    parent = wire.parent(draft_id)
    messages = {m.ts: m for m in [parent, *wire.fake.thread(CHANNEL, parent.ts)]}
    return [
        element["action_id"]
        for message in messages.values()
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def test_tie_waits_for_the_requester(wire: Wire) -> None:
    draft_id = await start_draft(wire, "a kite over dunes for feed post --n 2", n=2)
    variants = wire.images(draft_id)
    await wire.react(BOB, variants[1])
    await wire.react(CAROL, variants[2])
    await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {1: 1, 2: 1}, what="the tally")

    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    # The requester is told in the thread; the choice is on the parent, for the variants tied now.
    notice = await wait_for(
        lambda: next(m for m in wire.fake.thread(CHANNEL, wire.parent(draft_id).ts) if "tied" in m.text),
        what="the tie notice",
    )
    assert f"<@{ALICE}>" in notice.text and not notice.blocks
    await wait_for(lambda: blocks.CHOOSE_TIED in offered_controls(wire, draft_id), what="the tie choice")
    assert offered_controls(wire, draft_id).count(blocks.CHOOSE_TIED) == 2
    await wire.press(BOB, wire.parent(draft_id), blocks.CHOOSE_TIED, f"{draft_id}:1")  # not Bob's to break
    await wait_for(lambda: any("requester" in t for t in wire.ephemerals(BOB)), what="Bob's refusal")
    assert not wire.images(draft_id, "2K")

    # Dave's vote breaks the tie: the choice goes, the leader stays to be upgraded.
    await wire.react(DAVE, variants[2])
    await wait_for(lambda: blocks.CHOOSE_TIED not in offered_controls(wire, draft_id), what="the tie to go")
    await wire.react(DAVE, variants[2], on=False)
    await wait_for(lambda: blocks.CHOOSE_TIED in offered_controls(wire, draft_id), what="the tie again")

    await wire.press(ALICE, wire.parent(draft_id), blocks.CHOOSE_TIED, f"{draft_id}:2")
    review = await wait_for(lambda: wire.images(draft_id, "2K").get(2), what="the chosen variant at 2K")
    assert wire.image_size(review) == Size(2048, 2048)
    assert 1 not in wire.images(draft_id, "2K")
    await wait_for(
        lambda: offered_controls(wire, draft_id) == [blocks.APPROVE, blocks.REQUEST_CHANGES, blocks.REJECT],
        what="only the review's",
    )
    assert f"picked by <@{ALICE}> from a tie" in json.dumps(wire.parent(draft_id).blocks)

    await wire.submit_form(ALICE, review, blocks.REJECT, {"reason": "too dark for the feed"})
    await wait_for(lambda: not offered_controls(wire, draft_id), what="no controls after the rejection")
    shown = json.dumps(wire.images(draft_id, "2K")[2].blocks, ensure_ascii=False)
    assert f"Rejected by <@{ALICE}>: “too dark for the feed”" in shown


async def test_bad_and_stale_signatures_are_refused(wire: Wire) -> None:
    body = b"token=x&team_id=T0PLAYGRND&user_id=U0ALICE&channel_id=C0GENERAL&command=%2Fdraft&text=a+fox"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    import httpx

    async with httpx.AsyncClient(trust_env=False) as client:
        wrong = await client.post(f"{wire.url}/slack/events", content=body, headers=headers)
        unsigned = await client.post(f"{wire.url}/slack/events", content=body)
    assert wrong.status_code == 401 and unsigned.status_code == 401

    wire.delivery.clock = lambda: time.time() - 600  # signed ten minutes ago: a replay
    replayed = await wire.delivery.send_slash_command(ALICE, CHANNEL, "a fox for story")
    assert replayed.status_code == 401
    assert await drafts_in_db(wire) == 0
    assert wire.fake.messages(CHANNEL) == []


async def test_empty_command_helps_and_drafts_nothing(wire: Wire) -> None:
    response = await wire.command(ALICE, "")
    assert response.status_code == 200
    assert any("/draft <prompt> for <destination>" in text for text in wire.ephemerals(ALICE))
    await wait_for(lambda: wire.fake.calls_for("views.open"), what="the form to open")
    help_response = await wire.command(ALICE, "help")
    assert help_response.status_code == 200 and "mobile cover" in help_response.text
    bad = await wire.command(ALICE, "a bottle for mobil cover")
    assert "mobile cover" in bad.text and "Did you mean" in bad.text
    assert await drafts_in_db(wire) == 0


async def test_user_text_never_becomes_a_live_mention(wire: Wire) -> None:
    hostile = "<!channel> <!here> <@U999> <#C123|general> <https://evil.example|click> launch art"
    draft_id = await start_draft(wire, f"{hostile} for poster --n 1", n=1)
    await wire.command(ALICE, "<!everyone> for nowhere")  # an error echo must be escaped too
    await wire.fake.drain()
    posted = [json.dumps({"text": m.text, "blocks": m.blocks}) for m in wire.fake.messages(CHANNEL)]
    posted += [
        json.dumps({"text": m.text, "blocks": m.blocks})
        for m in wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
    ]
    posted += [json.dumps({"text": e.text, "blocks": e.blocks}) for e in wire.fake.state.ephemerals]
    for live in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<#C123", "<https://evil"):
        assert not any(live in text for text in posted), live
    assert any("&lt;!channel&gt;" in text for text in posted)


async def test_the_modal_drafts_and_shows_field_errors(wire: Wire) -> None:
    await wire.command(ALICE, "")
    view = await wait_for(lambda: next(iter(wire.fake.state.views.values())), what="the modal")
    empty = {
        "prompt": {"value": {"type": "plain_text_input", "value": "   "}},
        "destination": {"value": {"type": "static_select", "selected_option": {"value": "story"}}},
        "variants": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
    }
    response = await wire.delivery.send_view_submission(ALICE, view.id, empty)
    assert response.json()["response_action"] == "errors" and "prompt" in response.json()["errors"]
    good = {**empty, "prompt": {"value": {"type": "plain_text_input", "value": "a lighthouse at dusk"}}}
    response = await wire.delivery.send_view_submission(ALICE, view.id, good)
    assert response.status_code == 200
    parent = await wait_for(lambda: wire.parents()[0], what="the drafted parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await wait_for(lambda: len(wire.images(draft_id)) == 2, what="2 variants from the form")
    assert wire.image_size(wire.images(draft_id)[1]) == Size(576, 1024)


async def test_healthz(wire: Wire) -> None:
    import httpx

    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"{wire.url}/healthz")
    assert response.json() == {"ok": True}
