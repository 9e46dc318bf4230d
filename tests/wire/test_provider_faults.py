"""Provider faults over the whole wire: 429s, 503s, timeouts, a refusal among four, and an outage longer
than the retry budget. The bot talks httpx to a loopback server speaking OpenAI's Images API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

from bot import audit, blocks
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from tests.slack_harness import ALICE, BOB, CHANNEL, Wire, running_bot, wait_for


class Slow:
    """Holds the next ``count`` requests for ``seconds`` before answering: a provider past our timeout."""

    def __init__(self, app: FakeOpenAI) -> None:
        self.app = app
        self.count = 0
        self.seconds = 0.0
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen += scope["type"] == "http"
        if scope["type"] == "http" and self.count > 0:
            self.count -= 1
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


@asynccontextmanager
async def bot_with_openai(data_dir: Path, **overrides: Any) -> AsyncIterator[tuple[Wire, FakeOpenAI, Slow]]:
    api = FakeOpenAI()
    slow = Slow(api)
    async with serve_asgi(slow) as url:
        settings = {"provider": "openai", "openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        async with running_bot(data_dir, **(settings | overrides)) as wire:
            yield wire, api, slow


async def draft_and_wait(wire: Wire, text: str, *, posted: int, settled: str = "Voting") -> int:
    await wire.command(ALICE, text)
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await wait_for(lambda: settled in json.dumps(wire.parent(draft_id).blocks), within=60, what=settled)
    assert len(wire.images(draft_id)) == posted
    return draft_id


def variant_messages(wire: Wire, draft_id: int) -> list[int]:
    thread = wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
    return sorted(
        int((m.metadata or {})["event_payload"]["number"])
        for m in thread
        if (m.metadata or {}).get("event_type") == blocks.IMAGE_EVENT
    )


async def test_rate_limits_and_outages_are_waited_out(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data") as (wire, api, _):
        api.fail_next(429, retry_after="1")
        api.fail_next(503)
        api.fail_next(429, retry_after_ms="300")
        draft_id = await draft_and_wait(wire, "a paper boat for feed post --n 4", posted=4)
        assert variant_messages(wire, draft_id) == [1, 2, 3, 4]  # every variant once
        assert len(api.requests) == 4 + 3


async def test_a_provider_slower_than_the_timeout_is_retried(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data", provider_timeout_seconds=2.0) as (wire, _, slow):
        slow.count, slow.seconds = 2, 4.0
        draft_id = await draft_and_wait(wire, "a tin lighthouse for feed post --n 2", posted=2)
        assert variant_messages(wire, draft_id) == [1, 2]
        await wait_for(
            lambda: not any(buttons(m) for m in loss_notices(wire, draft_id)), what="no Retry left"
        )
        assert slow.seen >= 4  # two calls timed out, each was tried again (a busy machine may add more)
        rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
        assert sum(r["kind"] == "generation" for r in rows) == 2


async def test_one_refusal_among_four_is_reported_and_the_rest_arrive(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data") as (wire, api, _):
        api.fail_next(
            400, code="moderation_blocked", message="Your request was rejected by the safety system."
        )
        draft_id = await draft_and_wait(wire, "a fencing duel for feed post --n 4", posted=3)
        assert len(variant_messages(wire, draft_id)) == 3
        notices = [
            m.text for m in wire.fake.thread(CHANNEL, wire.parent(draft_id).ts) if "safety system" in m.text
        ]
        assert len(notices) == 1 and "openai" in notices[0]
        assert "3/4 ready · 1 refused" in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
        assert len(api.requests) == 4  # the refusal was not retried


def loss_notices(wire: Wire, draft_id: int) -> list[Any]:
    thread = wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
    return [m for m in thread if (m.metadata or {}).get("event_type") == blocks.LOSS_EVENT]


def buttons(message: Any) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def test_a_variant_lost_for_good_is_named_in_the_thread_and_retried_alone(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data", job_max_attempts=1) as (wire, api, _):
        api.fail_next(503, message="The server is overloaded.")
        draft_id = await draft_and_wait(wire, "a kite festival for feed post --n 3", posted=2)
        await wait_for(
            lambda: (
                "2/3 ready · 1 failed (Retry in the thread)"
                in json.dumps(wire.parent(draft_id).blocks, ensure_ascii=False)
            ),
            what="the exact progress",
        )
        notice = await wait_for(
            lambda: loss_notices(wire, draft_id)[0], what="the notice of the lost variant"
        )
        lost = int((notice.metadata or {})["event_payload"]["number"])
        assert lost not in wire.images(draft_id)
        assert f"Variant {lost} could not be made" in notice.text and "overloaded" in notice.text
        assert buttons(notice) == [(blocks.RETRY, f"{draft_id}:{lost}")]

        await wire.press(BOB, notice, blocks.RETRY, f"{draft_id}:{lost}")  # not Bob's draft
        await wait_for(lambda: any("Only the requester" in t for t in wire.ephemerals(BOB)), what="a refusal")
        await wire.press(ALICE, notice, blocks.RETRY, f"{draft_id}:{lost}")
        await wait_for(lambda: lost in wire.images(draft_id), within=60, what="the lost variant, made again")
        await wait_for(
            lambda: "3/3 ready" in json.dumps(wire.parent(draft_id).blocks), what="the progress after it"
        )
        await wait_for(
            lambda: "was made on another try" in loss_notices(wire, draft_id)[0].text,
            what="the notice's news",
        )
        assert not buttons(loss_notices(wire, draft_id)[0])
        assert "Voting" in json.dumps(wire.parent(draft_id).blocks)  # voting stayed open throughout

        await wire.press(
            ALICE, notice, blocks.RETRY, f"{draft_id}:{lost}"
        )  # a stale press, from a slow client
        await wait_for(
            lambda: any("made again already" in t for t in wire.ephemerals(ALICE)), what="an answer"
        )
        assert len(wire.images(draft_id)) == 3


async def test_an_outage_past_the_retry_budget_fails_and_retry_recovers(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data", job_max_attempts=2) as (wire, api, _):
        for _ in range(4):  # two variants, two attempts each
            api.fail_next(503, message="The server is overloaded.")
        draft_id = await draft_and_wait(
            wire, "a kite festival for feed post --n 2", posted=0, settled="Failed"
        )
        await wait_for(lambda: len(loss_notices(wire, draft_id)) == 2, what="both notices")
        assert all("could not be made" in m.text for m in loss_notices(wire, draft_id))
        parent = wire.parent(draft_id)
        assert "Retry" in json.dumps(parent.blocks)
        # The draft failed: each notice offers the draft's Retry (the same as the parent's).
        await wait_for(
            lambda: all(buttons(m) == [(blocks.RETRY, str(draft_id))] for m in loss_notices(wire, draft_id)),
            what="Retry on the notices",
        )

        await wire.press(ALICE, parent, blocks.RETRY, str(draft_id))
        await wait_for(lambda: len(wire.images(draft_id)) == 2, within=60, what="the retried variants")
        await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting")
        assert variant_messages(wire, draft_id) == [1, 2]
        await wait_for(
            lambda: not any(buttons(m) for m in loss_notices(wire, draft_id)), what="no Retry left"
        )
        rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
        kinds = [r["kind"] for r in rows]
        assert kinds.count("generation_failed") == 2 and kinds.count("retried") == 1
        assert next(r for r in rows if r["kind"] == "retried")["actor"] == ALICE
