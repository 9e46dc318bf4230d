"""Review like a studio, over Slack's wire: Request changes makes review v2 from v1 with the feedback (on
the OpenAI and Gemini loopback fakes as on the local renderer), Reject with a reason goes back to voting,
two approvals make the 4K, and Also as… makes the final in another shape. Nothing stale stays pressable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot import blocks
from bot.tiers import Size, Tier
from fakes.asgi import serve_asgi
from fakes.gemini import FAKE_GEMINI_KEY, FakeGemini
from fakes.openai import FakeOpenAI
from storage import queries
from tests.slack_harness import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    Wire,
    running_bot,
    shown_tally,
    start_draft,
    wait_for,
)
from tests.wire.test_slack_wire import offered_controls

TEAM = "T0PLAYGRND"
FEEDBACK = "warmer background, bottle a little larger, keep the empty top"


def text_of(message: Any) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


async def stored(wire: Wire, draft_id: int, tier: Tier, number: int, version: int) -> bytes:
    async with wire.runtime.sessions() as session:
        variant = await queries.get_variant(session, TEAM, draft_id, tier, number, version)
    assert variant is not None and variant.blob_key
    return await wire.runtime.blobs.get(variant.blob_key)


async def reviewed(wire: Wire, text: str, n: int = 1) -> tuple[int, Any]:
    """A draft of ``n`` variants upgraded by its requester, and its 2K review's message."""
    draft_id = await start_draft(wire, f"{text} --n {n}", n=n)
    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE)
    review = await wait_for(lambda: wire.versions(draft_id).get((1, 1)), within=60, what="the 2K review")
    return draft_id, review


@asynccontextmanager
async def bot_drawing_with(provider: str, data_dir: Path) -> AsyncIterator[tuple[Wire, Any]]:
    if provider == "openai":
        api: Any = FakeOpenAI()
        settings: dict[str, Any] = {"openai_api_key": api.api_key}
        path = "/v1"
    else:
        api = FakeGemini()
        settings = {"gemini_api_key": SecretStr(FAKE_GEMINI_KEY), "gemini_model": "gemini-3-pro-image"}
        path = "/v1beta"
    async with serve_asgi(api) as url:
        settings[f"{provider}_base_url"] = f"{url}{path}"
        async with running_bot(data_dir, provider=provider, **settings) as wire:
            yield wire, api


def last_call(api: Any) -> tuple[str, list[bytes]]:
    """The prompt and the reference images of the provider's latest request."""
    sent = api.requests[-1]
    if isinstance(api, FakeOpenAI):
        return str(sent.fields["prompt"]), [part.data for part in sent.images]
    return sent.prompt, [data for _, data in sent.references]


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_request_changes_makes_v2_from_v1_with_the_feedback_and_the_4k_comes_from_v2(
    tmp_path: Path, provider: str
) -> None:
    async with bot_drawing_with(provider, tmp_path / "data") as (wire, api):
        draft_id, v1 = await reviewed(wire, "a matte black water bottle for feed post")
        await wire.press(BOB, v1, blocks.REQUEST_CHANGES)  # neither approver nor requester: no form
        await wait_for(lambda: wire.ephemerals(BOB), what="Bob's private refusal")
        assert "Only an approver or the requester" in wire.ephemerals(BOB)[-1]
        assert not wire.fake.state.open_views_for(BOB)
        await wire.submit_form(DAVE, v1, blocks.REQUEST_CHANGES, {"feedback": FEEDBACK})
        v2 = await wait_for(lambda: wire.versions(draft_id).get((1, 2)), within=60, what="review v2")

        prompt, references = last_call(api)
        assert FEEDBACK in prompt and references == [await stored(wire, draft_id, Tier.REVIEW, 1, 1)]
        shown = text_of(v2)
        assert f"Answers the change request on v1: “{FEEDBACK}”" in shown
        assert [b["type"] for b in v2.blocks or []].count("image") == 2  # v2, and v1 beside it
        assert "2K review v2 of variant 1" in shown
        await wait_for(
            lambda: "Changes requested by <@U0DAVE>: v2 is below" in text_of(wire.versions(draft_id)[(1, 1)]),
            what="v1 saying what happened",
        )
        assert offered_controls(wire, draft_id).count(blocks.APPROVE) == 1  # only on v2

        await wire.press(DAVE, v2, blocks.APPROVE)
        final = await wait_for(lambda: wire.images(draft_id, "4K").get(1), within=60, what="the 4K final")
        _, references = last_call(api)
        assert references == [await stored(wire, draft_id, Tier.REVIEW, 1, 2)]
        assert wire.image_size(final).width == max(wire.image_size(final).width, 1)
        await wait_for(lambda: offered_controls(wire, draft_id) == [blocks.ALSO_AS], what="only Also as…")


async def test_reject_back_to_voting_then_the_runner_up_goes_to_2k(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await start_draft(wire, "a red umbrella in the rain for feed post --n 2", n=2)
        variants = wire.images(draft_id)
        for voter in (BOB, CAROL):
            await wire.react(voter, variants[1])
        await wire.react(DAVE, variants[2])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {1: 2, 2: 1}, what="the votes")
        await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE)
        review = await wait_for(lambda: wire.versions(draft_id).get((1, 1)), within=60, what="the 2K of #1")
        answer = await wire.submit_form(DAVE, review, blocks.REJECT, {"reason": "  ", "next": "vote"})
        assert "Say why" in json.dumps(answer.json())  # a reason is required
        await wire.submit_form(
            DAVE, review, blocks.REJECT, {"reason": "the handle looks plastic", "next": "vote"}
        )
        await wait_for(lambda: blocks.UPGRADE in offered_controls(wire, draft_id), what="voting again")
        parent = text_of(wire.parent(draft_id))
        assert "Variant 1's 2K review was rejected by <@U0DAVE>: “the handle looks plastic”" in parent
        assert "#1: 2" in parent  # the votes stayed
        await wait_for(
            lambda: "Its 2K review was rejected" in text_of(wire.images(draft_id)[1]), what="#1 marked"
        )
        await wait_for(
            lambda: "The draft went back to voting" in text_of(wire.versions(draft_id)[(1, 1)]),
            what="the review saying what happened",
        )

        for voter in (BOB, CAROL):  # they move to the runner-up
            await wire.react(voter, wire.images(draft_id)[2])
        await wait_for(lambda: "variant 2 leads with 3 votes" in text_of(wire.parent(draft_id)), what="tally")
        await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE)
        runner_up = await wait_for(lambda: wire.versions(draft_id).get((2, 1)), within=60, what="2K of #2")
        assert wire.image_size(runner_up) == Size(2048, 2048)


async def test_two_required_approvals_from_two_people_and_also_as_16_9(tmp_path: Path) -> None:
    async with running_bot(
        tmp_path / "data", approvers=frozenset({DAVE, CAROL}), required_approvals=2
    ) as wire:
        draft_id, review = await reviewed(wire, "a matte black water bottle for mobile cover")
        await wire.press(DAVE, review, blocks.APPROVE)
        await wait_for(
            lambda: "1 of 2 so far: <@U0DAVE>" in text_of(wire.versions(draft_id)[(1, 1)]), what="1/2"
        )
        await wire.press(DAVE, review, blocks.APPROVE)  # the same person twice counts once
        await wire.react(DAVE, review, "white_check_mark")
        await wire.fake.drain()
        assert not wire.images(draft_id, "4K")
        assert "1 of 2 approvals" in text_of(wire.parent(draft_id))
        await wire.press(CAROL, review, blocks.APPROVE)
        final = await wait_for(lambda: wire.images(draft_id, "4K").get(1), within=60, what="the 4K final")
        assert wire.image_size(final) == Size(2304, 4096)
        await wait_for(
            lambda: "Approved by <@U0DAVE> and <@U0CAROL>" in text_of(wire.versions(draft_id)[(1, 1)]),
            what="who approved",
        )
        # After the final: nothing to approve, reject, change, upgrade or break, but Also as…
        await wait_for(lambda: offered_controls(wire, draft_id) == [blocks.ALSO_AS], what="only Also as…")
        await wire.press(ALICE, final, blocks.ALSO_AS, f"{draft_id}:website-hero")
        wide = await wait_for(lambda: wire.versions(draft_id, "4K").get((1, 2)), within=90, what="16:9")
        assert wire.image_size(wide) == Size(4096, 2304)
        assert "4K final of variant 1 as wide website hero" in text_of(wide)
        await wire.fake.drain()
        menu = next(
            b for b in wire.versions(draft_id, "4K")[(1, 1)].blocks or [] if b.get("type") == "actions"
        )
        assert "16:9" not in json.dumps(menu)  # made: no longer offered
