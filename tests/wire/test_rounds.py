"""Rounds over the wire: More like this, New round and Edit prompt make further 1K variants in the same
thread, numbered on across the draft; votes count across rounds; the winner of all rounds goes to 2K."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

from bot import audit, blocks, imaging
from fakes.asgi import serve_asgi
from fakes.gemini import FakeGemini
from fakes.openai import FakeOpenAI
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


def section_of(wire: Wire, draft_id: int, number: int) -> str:
    return str(wire.images(draft_id)[number].blocks[0]["text"]["text"])


async def test_more_like_this_makes_a_round_from_the_variant_and_votes_count_across_rounds(
    tmp_path: Path,
) -> None:
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        settings = {"provider": "openai", "openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        async with running_bot(tmp_path / "data", **settings) as wire:
            draft_id = await start_draft(wire, "a ceramic teapot, soft light for feed post --n 4", n=4)
            await wire.react(BOB, wire.images(draft_id)[2])
            await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="Bob's vote")
            made_before = len(api.requests)

            await wire.press(CAROL, wire.images(draft_id)[2], blocks.MORE_LIKE_THIS, f"{draft_id}:2")
            await wait_for(
                lambda: any("Only the requester" in t for t in wire.ephemerals(CAROL)), what="a refusal"
            )
            await wire.press(ALICE, wire.images(draft_id)[2], blocks.MORE_LIKE_THIS, f"{draft_id}:2")
            await wait_for(lambda: len(wire.images(draft_id)) == 8, within=60, what="variants #5–#8")
            assert sorted(wire.images(draft_id)) == list(range(1, 9))
            assert all(m.thread_ts == wire.parent(draft_id).ts for m in wire.images(draft_id).values())
            for number in range(5, 9):
                assert f"Variant {number}* · round 2, from #2" in section_of(wire, draft_id, number)
            round_two = api.requests[made_before:]
            assert len(round_two) == 4  # one call per new variant, none for Carol's refused press
            assert all(r.endpoint == "edits" and len(r.images) == 1 for r in round_two)  # #2 as the reference
            async with wire.runtime.sessions() as session:
                from storage import queries

                two = await queries.get_variant(session, "T0PLAYGRND", draft_id, "1K", 2)
            assert two is not None and two.blob_key
            stored = await wire.runtime.blobs.get(two.blob_key)
            assert all(r.images[0].data == stored for r in round_two)
            assert all("structure" in str(r.fields.get("prompt", "")).lower() for r in round_two)
            await wait_for(
                lambda: (
                    "Round 2: #5–#8, more like #2, by"
                    in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
                ),
                what="the round on the parent",
            )

            # Each settled round's contact sheet: on the parent, every variant of the round, numbered.
            def sheet() -> dict[str, Any] | None:
                found = [b for b in wire.parent(draft_id).blocks or [] if b.get("type") == "image"]
                return found[0] if found else None

            await wait_for(lambda: "#5, #6, #7, #8" in str((sheet() or {}).get("alt_text")), what="sheet 2")
            data = wire.fake.state.files[sheet()["slack_file"]["id"]].content  # type: ignore[index]
            assert data is not None
            size, fmt = imaging.measure(data)
            assert fmt == "JPEG" and 600 <= max(size.width, size.height) <= 2400 and len(data) < 1_000_000
            uploads = [c for c in wire.fake.calls if c[0] == "files.getUploadURLExternal"]
            sheets = [c for c in uploads if "sheet" in str(c[1].get("filename"))]
            assert len(sheets) == 2  # one per round, not one per variant

            # Votes across rounds: Bob's vote on #2 stays; Carol and Dave vote for #6.
            for voter in (CAROL, DAVE):
                await wire.react(voter, wire.images(draft_id)[6])
            await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1, 6: 2}, what="the tally")
            await wait_for(
                lambda: (
                    "variant 6 (round 2) leads"
                    in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
                ),
                what="the leader and its round",
            )
            await wait_for(
                lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False),
                what="voting again",
            )
            await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
            review = await wait_for(lambda: wire.images(draft_id, "2K").get(6), within=60, what="#6 at 2K")
            await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
            await wait_for(lambda: wire.images(draft_id, "4K").get(6), within=60, what="#6 at 4K")

            rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
            started = next(r for r in rows if r["kind"] == "round_started")
            assert started["actor"] == ALICE
            assert started["details"]["why"] == "more_like_this"
            assert started["details"]["source"] == "1K #2" and started["details"]["numbers"] == [5, 6, 7, 8]
            upgrade = next(r for r in rows if r["kind"] == "upgrade_requested")
            assert upgrade["details"]["source_chain"] == ["1K #6", "1K #2"]
            assert upgrade["details"]["round"] == 2


async def test_new_round_and_edit_prompt_each_make_a_round(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await start_draft(wire, "a paper kite over dunes for feed post --n 2", n=2)
        await wire.press(BOB, wire.parent(draft_id), blocks.NEW_ROUND, str(draft_id))
        await wait_for(lambda: any("Only the requester" in t for t in wire.ephemerals(BOB)), what="refusal")
        await wire.press(BOB, wire.parent(draft_id), blocks.EDIT_PROMPT, str(draft_id))
        await wait_for(lambda: len(wire.ephemerals(BOB)) == 2, what="the second refusal")
        assert not wire.fake.state.open_views_for(BOB)  # refused before any form opened
        assert len(wire.images(draft_id)) == 2

        await wire.press(ALICE, wire.parent(draft_id), blocks.NEW_ROUND, str(draft_id))
        await wait_for(lambda: len(wire.images(draft_id)) == 4, within=60, what="round 2")
        assert "round 2" in section_of(wire, draft_id, 3) and "from #" not in section_of(wire, draft_id, 3)

        await wire.press(ALICE, wire.parent(draft_id), blocks.EDIT_PROMPT, str(draft_id))
        view = await wait_for(lambda: wire.fake.state.open_views_for(ALICE)[0], what="the Edit prompt form")
        assert view.view["blocks"][0]["element"]["initial_value"] == "a paper kite over dunes"
        values = {
            "prompt": {"value": {"type": "plain_text_input", "value": "   "}},
            "variants": {"value": {"type": "static_select", "selected_option": {"value": "3"}}},
        }
        answer = await wire.delivery.send_view_submission(ALICE, view.id, values)
        assert answer.json()["response_action"] == "errors" and "prompt" in answer.json()["errors"]
        values["prompt"] = {"value": {"type": "plain_text_input", "value": "a red paper kite over dunes"}}
        assert (await wire.delivery.send_view_submission(ALICE, view.id, values)).status_code == 200
        await wait_for(lambda: len(wire.images(draft_id)) == 7, within=60, what="round 3, of 3")
        await wait_for(
            lambda: (
                "a red paper kite over dunes" in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
            ),
            what="the latest prompt on the parent",
        )
        parent = json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
        assert "Round 3: #5–#7, an edited prompt" in parent and "a paper kite over dunes" in parent
        async with wire.runtime.sessions() as session:
            from storage import queries

            variant = await queries.get_variant(session, "T0PLAYGRND", draft_id, "1K", 6)
        assert variant is not None and variant.prompt == "a red paper kite over dunes" and variant.round == 3


async def test_the_round_limit_is_said_clearly(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data", max_rounds=2) as wire:
        draft_id = await start_draft(wire, "a brass compass for feed post --n 1", n=1)
        await wire.press(ALICE, wire.parent(draft_id), blocks.NEW_ROUND, str(draft_id))
        await wait_for(lambda: len(wire.images(draft_id)) == 2, within=60, what="round 2")

        # No room for another round: the buttons that would start one go, from every message.
        def offered() -> str:
            thread = [wire.parent(draft_id), *wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)]
            return json.dumps([m.blocks for m in thread])

        await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting")
        await wait_for(
            lambda: (
                not any(a in offered() for a in (blocks.NEW_ROUND, blocks.EDIT_PROMPT, blocks.MORE_LIKE_THIS))
            ),
            what="the round buttons to go",
        )
        assert blocks.UPGRADE in offered()
        # A press from a client that still shows one is refused, clearly.
        await wire.press(ALICE, wire.parent(draft_id), blocks.NEW_ROUND, str(draft_id))
        await wait_for(
            lambda: any("had its 2 rounds" in t for t in wire.ephemerals(ALICE)), what="the limit, said"
        )
        assert len(wire.images(draft_id)) == 2
        assert len(list(wire.fake.thread(CHANNEL, wire.parent(draft_id).ts))) >= 2


class Gate:
    """Lets the first ``allowed`` provider requests through, and holds the rest until opened."""

    def __init__(self, app: FakeOpenAI, allowed: int) -> None:
        self.app, self.allowed, self.opened = app, allowed, asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.allowed > 0:
                self.allowed -= 1
            else:
                await self.opened.wait()
        await self.app(scope, receive, send)


async def test_cancel_mid_generation_stops_the_draft_and_keeps_what_was_made(tmp_path: Path) -> None:
    api = FakeOpenAI()
    gate = Gate(api, allowed=2)
    async with serve_asgi(gate) as url:
        settings = {"provider": "openai", "openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        async with running_bot(tmp_path / "data", **settings) as wire:
            await wire.command(ALICE, "a glass lantern in fog for feed post --n 4")
            parent = await wait_for(lambda: wire.parents()[-1], what="the parent")
            draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
            await wait_for(lambda: len(wire.images(draft_id)) == 2, within=60, what="two variants")
            await wait_for(lambda: blocks.CANCEL in json.dumps(wire.parent(draft_id).blocks), what="Cancel")

            await wire.press(BOB, wire.parent(draft_id), blocks.CANCEL, str(draft_id))  # not Bob's draft
            await wait_for(
                lambda: any("Only the requester" in t for t in wire.ephemerals(BOB)), what="refusal"
            )
            await wire.press(ALICE, wire.parent(draft_id), blocks.CANCEL, str(draft_id))
            await wait_for(lambda: any("Cancelled." in t for t in wire.ephemerals(ALICE)), what="the answer")
            gate.opened.set()  # the two held variants come back from the provider after the cancel
            await wait_for(
                lambda: f"Cancelled by <@{ALICE}>" in json.dumps(wire.parent(draft_id).blocks),
                what="the cancelled parent",
            )
            await asyncio.sleep(1.0)
            await wire.fake.drain()
            assert len(wire.images(draft_id)) == 2  # nothing posted after the cancel was acknowledged
            thread = [wire.parent(draft_id), *wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)]
            assert not [b for m in thread for b in m.blocks or [] if b.get("type") == "actions"]
            rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
            cancelled = next(r for r in rows if r["kind"] == "cancelled")
            assert cancelled["actor"] == ALICE and cancelled["details"]["was"] == "generating"


async def test_more_like_this_sends_its_source_to_gemini_as_inline_data(tmp_path: Path) -> None:
    api = FakeGemini()
    async with serve_asgi(api) as url:
        settings = {"provider": "gemini", "gemini_api_key": api.api_key, "gemini_base_url": f"{url}/v1beta"}
        async with running_bot(tmp_path / "data", **settings) as wire:
            draft_id = await start_draft(wire, "a ceramic teapot, soft light for feed post --n 2", n=2)
            before = len(api.requests)
            await wire.press(ALICE, wire.images(draft_id)[1], blocks.MORE_LIKE_THIS, f"{draft_id}:1")
            await wait_for(lambda: len(wire.images(draft_id)) == 4, within=60, what="variants #3–#4")
            async with wire.runtime.sessions() as session:
                from storage import queries

                one = await queries.get_variant(session, "T0PLAYGRND", draft_id, "1K", 1)
            assert one is not None and one.blob_key
            stored = await wire.runtime.blobs.get(one.blob_key)
            round_two = api.requests[before:]
            assert len(round_two) == 2
            assert all([data for _, data in r.references] == [stored] for r in round_two)
            assert all("structure" in r.prompt.lower() for r in round_two)


async def test_more_like_this_on_the_local_renderer_draws_from_its_source(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await start_draft(wire, "a brass compass on linen for feed post --n 1", n=1)
        await wire.press(ALICE, wire.images(draft_id)[1], blocks.MORE_LIKE_THIS, f"{draft_id}:1")
        await wait_for(lambda: len(wire.images(draft_id)) == 2, within=60, what="variant #2")
        rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
        made = {r["details"]["number"]: r["details"] for r in rows if r["kind"] == "generation"}
        assert "reference" not in json.dumps(made[1]["notes"])
        assert "palette and layout taken from the reference image" in json.dumps(made[2]["notes"])
        assert made[2]["source"] == "1K #1"
