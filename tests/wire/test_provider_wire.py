"""The whole Slack loop on a real provider API: the bot's OpenAI and Gemini clients talk httpx to local
servers that speak the providers' documented wire formats, reached through OPENAI_BASE_URL and
GEMINI_BASE_URL exactly as in production."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot import audit, blocks
from bot.tiers import Ratio, Tier
from fakes.asgi import serve_asgi
from fakes.gemini import FakeGemini
from fakes.openai import FakeOpenAI
from tests.slack_harness import ALICE, BOB, DAVE, Wire, running_bot, shown_tally, wait_for


@asynccontextmanager
async def bot_on(provider: str, data_dir: Path) -> AsyncIterator[tuple[Wire, Any, str]]:
    api: Any = FakeOpenAI() if provider == "openai" else FakeGemini()
    async with serve_asgi(api) as url:
        if provider == "openai":
            settings = {"openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        else:
            settings = {"gemini_api_key": api.api_key, "gemini_base_url": f"{url}/v1beta"}
        async with running_bot(data_dir, provider=provider, **settings) as wire:
            yield wire, api, api.api_key


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_the_whole_loop_on_a_provider_api(
    provider: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with bot_on(provider, tmp_path / "data") as (wire, api, key):
        assert wire.runtime.provider.name == provider
        await wire.command(
            ALICE, "a glass teapot, morning light, empty title area for wide website hero --n 2"
        )
        parent = await wait_for(lambda: wire.parents()[0], what="the parent")
        draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
        variants = await wait_for(
            lambda: (v := wire.images(draft_id)) and len(v) == 2 and v, what="2 variants"
        )
        for tier, message in ((Tier.EXPLORE, variants[1]), (Tier.EXPLORE, variants[2])):
            assert wire.image_size(message) == wire.runtime.provider.target_size(Ratio(16, 9), tier)
        assert len(api.requests) == 2  # one call per variant

        await wire.react(BOB, variants[2])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="the vote")
        await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
        review = await wait_for(lambda: wire.images(draft_id, "2K").get(2), what="the 2K review")
        assert wire.image_size(review) == wire.runtime.provider.target_size(Ratio(16, 9), Tier.REVIEW)
        await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
        final = await wait_for(lambda: wire.images(draft_id, "4K").get(2), what="the 4K final")
        assert wire.image_size(final) == wire.runtime.provider.target_size(Ratio(16, 9), Tier.FINAL)
        # Upgrades send the winner as the reference image.
        assert len(api.requests) == 4
        assert all(_has_reference(provider, request) for request in api.requests[2:])

        rows = [row async for row in audit.events(wire.runtime.sessions, draft_id=draft_id)]
        generations = [row["details"] for row in rows if row["kind"] == "generation"]
        assert len(generations) == 4 and {g["provider"] for g in generations} == {provider}
        assert all(g["cost_estimate_usd"] > 0 and g["model"] for g in generations)
        exported = audit.to_jsonl(rows)
        slack = json.dumps(wire.fake.state.snapshot(), default=str)
    assert key not in exported and key not in caplog.text and key not in slack


def _has_reference(provider: str, request: Any) -> bool:
    if provider == "openai":
        return bool(request.images)
    return bool(request.references)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_a_safety_refusal_is_told_in_the_thread(provider: str, tmp_path: Path) -> None:
    async with bot_on(provider, tmp_path / "data") as (wire, api, _):
        await wire.command(ALICE, "a forbidden scene for feed post --n 2")
        parent = await wait_for(lambda: wire.parents()[0], what="the parent")
        draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])

        def notices() -> list[str]:
            return [m.text for m in wire.fake.thread("C0GENERAL", parent.ts) if "safety system" in m.text]

        told = await wait_for(lambda: len(notices()) == 2 and notices(), what="two refusal notices")
        assert all(f"{provider}'s safety system" in text and "Edit the prompt" in text for text in told)
        await wait_for(lambda: "Failed" in json.dumps(wire.parent(draft_id).blocks), what="the failed parent")
        assert wire.images(draft_id) == {}
        assert len(api.requests) == 2  # a refusal is never retried
        rows = [row async for row in audit.events(wire.runtime.sessions, draft_id=draft_id)]
        refusals = [row["details"] for row in rows if row["kind"] == "generation_refused"]
        assert len(refusals) == 2 and all(r["provider"] == provider and r["category"] for r in refusals)
        assert any(row["kind"] == "draft_failed" for row in rows)
