"""Slack misbehaving under the real bot: 429s with Retry-After, 5xx, ``ok: false`` errors and a
``chat.postMessage`` slower than the client's timeout. Whatever Slack does, every variant arrives in the
thread exactly once, voting opens, and the audit trail says each variant was posted once.

The image provider is the local renderer behind a gate per variant, so a test can let the parent be
posted first, then arm the faults and release the variants it wants to hit."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import audit
from bot.blocks import IMAGE_EVENT
from bot.providers.base import GeneratedImage, GenerationRequest
from bot.providers.local import LocalProvider
from bot.slack_publisher import SlackPublisher
from bot.tiers import Ratio, Size, Tier
from fakes.slack import Message, Workspace, serve_fake_slack
from storage.models import Job
from tests.slack_harness import ALICE, CHANNEL, USERS, Wire, running_bot, wait_for

SEED = 500  # variant k is drawn with seed SEED + k - 1, which is how the gate knows which variant asks
N = 4
BRIEF = f"a red kite over a grey sea for feed post --n {N} --seed {SEED}"


class GatedProvider:
    """The local renderer, but variant k waits until :meth:`release` lets it through."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self) -> None:
        self._inner = LocalProvider()
        self._gates = {k: asyncio.Event() for k in range(1, N + 1)}
        self.calls: list[int] = []

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return self._inner.target_size(ratio, tier)

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        return self._inner.estimate_usd(ratio, tier, quality)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        number = request.seed - SEED + 1
        self.calls.append(number)
        await self._gates[number].wait()
        return await self._inner.generate(request)

    def release(self, *numbers: int) -> None:
        for number in numbers or tuple(self._gates):
            self._gates[number].set()

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def bot(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[Wire, GatedProvider]]:
    provider = GatedProvider()
    async with (
        serve_fake_slack(state=Workspace(default_users=USERS)) as fake,
        running_bot(tmp_path / "data", image_provider=provider, fake=fake, **overrides) as wire,
    ):
        try:
            yield wire, provider
        finally:
            provider.release()  # nothing may stay parked at shutdown


async def start(wire: Wire) -> tuple[int, Message]:
    response = await wire.command(ALICE, BRIEF)
    assert response.status_code == 200
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent message")
    return int((parent.metadata or {})["event_payload"]["draft_id"]), parent


def variant_numbers(wire: Wire, parent: Message) -> list[int]:
    """The number of every 1K variant message in the thread, duplicates included (sorted)."""
    numbers = []
    for message in wire.fake.thread(CHANNEL, parent.ts):
        metadata = message.metadata or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == IMAGE_EVENT and payload.get("tier") == "1K":
            numbers.append(int(payload["number"]))
    return sorted(numbers)


async def posted(wire: Wire, parent: Message, *numbers: int) -> None:
    await wait_for(
        lambda: all(n in variant_numbers(wire, parent) for n in numbers),
        within=30,
        what=f"variant(s) {numbers} in the thread",
    )


async def settled_jobs(wire: Wire) -> bool:
    """No job left to run: nothing queued, running or waiting out a backoff."""
    async with wire.runtime.sessions() as session:
        open_jobs = await session.scalar(
            select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
        )
    return not open_jobs


async def assert_each_variant_once(wire: Wire, draft_id: int, parent: Message) -> None:
    """All N variants once in Slack, voting open, and one variant_posted audit event per variant.
    Waits for the job queue to go quiet first, so a late duplicate would have had its chance."""
    await posted(wire, parent, *range(1, N + 1))
    await wait_for(
        lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), within=20, what="voting to open"
    )
    deadline = time.monotonic() + 30
    while not await settled_jobs(wire):
        assert time.monotonic() < deadline, "jobs still unfinished"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # a straggling delayed post lands in this window, if there is one
    assert variant_numbers(wire, parent) == list(range(1, N + 1))
    rows = [row async for row in audit.events(wire.runtime.sessions, draft_id=draft_id)]
    announced = sorted(int(r["details"]["number"]) for r in rows if r["kind"] == "variant_posted")
    assert announced == list(range(1, N + 1))
    assert sum(r["kind"] == "voting_opened" for r in rows) == 1


def exhausted(faults: Iterable[Any]) -> bool:
    return all(f.exhausted for f in faults)


# --- rate limits ------------------------------------------------------------------------------------


async def test_429_with_retry_after_on_posting_and_uploading(tmp_path: Path) -> None:
    async with bot(tmp_path) as (wire, provider):
        draft_id, parent = await start(wire)
        faults = wire.fake.faults
        armed = [
            faults.add("chat.postMessage", status=429, retry_after=1, times=2),
            faults.add("files.getUploadURLExternal", status=429, retry_after=1),
            faults.add("upload", status=429, retry_after=1),
            faults.add("files.completeUploadExternal", status=429, retry_after=1),
        ]
        provider.release()
        await assert_each_variant_once(wire, draft_id, parent)
        assert exhausted(armed), faults.pending()  # every fault was met, and waited out
        # slack_sdk waited and retried inside the call: no job needed a second attempt.
        assert await max_attempts(wire) == 1


async def max_attempts(wire: Wire) -> int:
    async with wire.runtime.sessions() as session:
        return int(
            await session.scalar(select(func.max(Job.attempts)).where(Job.kind == "generate_image")) or 0
        )


async def waited_for_slack(wire: Wire) -> bool:
    async with wire.runtime.sessions() as session:
        errors = (await session.scalars(select(Job.last_error).where(Job.last_error.is_not(None)))).all()
    return any(error and error.startswith("Slack was unreachable") for error in errors)


# --- server errors ----------------------------------------------------------------------------------


async def test_500s_on_posting_and_on_files_info(tmp_path: Path) -> None:
    async with bot(tmp_path) as (wire, provider):
        draft_id, parent = await start(wire)
        faults = wire.fake.faults
        # Variant 1 alone first: three 500s in a row outlast the SDK's two retries, so its job fails and
        # the job runner tries again (and looks in the thread before posting).
        first = [faults.add("chat.postMessage", status=500, times=3)]
        provider.release(1)
        await posted(wire, parent, 1)
        assert exhausted(first)
        # Then the rest, with 500s sprinkled over files.info and chat.postMessage.
        rest = [
            faults.add("files.info", status=500, times=2),
            faults.add("chat.postMessage", status=500, times=1),
        ]
        provider.release()
        await assert_each_variant_once(wire, draft_id, parent)
        assert exhausted(rest), faults.pending()
        # Slack's 500s were waited out as an outage: the job went round again without spending attempts.
        assert await max_attempts(wire) == 1
        assert await waited_for_slack(wire)


# --- ok: false --------------------------------------------------------------------------------------


async def test_ok_false_errors_after_the_upload(tmp_path: Path) -> None:
    async with bot(tmp_path) as (wire, provider):
        draft_id, parent = await start(wire)
        faults = wire.fake.faults
        # invalid_blocks right after the upload: the file is still settling; the publisher posts again.
        blocks_fault = faults.add("chat.postMessage", error="invalid_blocks")
        provider.release(1)
        await posted(wire, parent, 1)
        assert exhausted([blocks_fault])
        # "ratelimited" as an HTTP 200 error (no 429, so slack_sdk does not wait it out): the job retries.
        limited = faults.add("chat.postMessage", error="ratelimited")
        provider.release(2)
        await posted(wire, parent, 2)
        assert exhausted([limited])
        provider.release()
        await assert_each_variant_once(wire, draft_id, parent)
        assert await max_attempts(wire) == 2  # only variant 2's job needed a second attempt


# --- a post slower than the client's patience -------------------------------------------------------


async def test_a_post_that_times_out_but_lands_is_not_posted_again(tmp_path: Path) -> None:
    async with bot(tmp_path, slack_timeout_seconds=1) as (wire, provider):
        publisher = wire.runtime.publisher
        assert isinstance(publisher, SlackPublisher)
        assert (await publisher.workspaces.client("T0PLAYGRND")).timeout == 1
        draft_id, parent = await start(wire)
        # The fake answers 2.5 s late and still applies the post: the client gave up after 1 s, so the
        # bot cannot know the message exists. Exactly Slack's duplicate risk: no idempotency key.
        slow = wire.fake.faults.add("chat.postMessage", delay=2.5)
        provider.release(2)
        await posted(wire, parent, 2)
        assert exhausted([slow])
        provider.release()
        await assert_each_variant_once(wire, draft_id, parent)
        # Variant 2's first post timed out: waited out as Slack being slow, without spending an attempt.
        assert await max_attempts(wire) == 1 and await waited_for_slack(wire)


async def test_a_parent_post_that_times_out_but_lands_is_not_posted_again(tmp_path: Path) -> None:
    async with bot(tmp_path, slack_timeout_seconds=1) as (wire, provider):
        slow = wire.fake.faults.add("chat.postMessage", delay=2.5)  # the first post is the parent
        provider.release()
        draft_id, parent = await start(wire)
        assert exhausted([slow])
        await assert_each_variant_once(wire, draft_id, parent)
        assert len(wire.parents()) == 1


# --- a post that Slack made, whose answer was lost ----------------------------------------------------


@pytest.mark.parametrize(
    ("what", "fault"),
    [
        ("a dropped connection", {"kind": "drop"}),
        ("a 500", {"status": 500}),
        ("a 503", {"status": 503}),
    ],
)
async def test_a_post_made_but_answered_with_a_failure_is_not_posted_again(
    tmp_path: Path, what: str, fault: dict[str, Any]
) -> None:
    """slack_sdk would retry chat.postMessage after these by itself, and post the variant twice; the bot
    lets no library retry it, and its own retry looks for the message first."""
    async with bot(tmp_path) as (wire, provider):
        draft_id, parent = await start(wire)
        lost = wire.fake.faults.add("chat.postMessage", after=True, **fault)
        provider.release(2)
        await posted(wire, parent, 2)
        assert exhausted([lost]), what
        provider.release()
        await assert_each_variant_once(wire, draft_id, parent)
        # One chat.postMessage for variant 2 (the lost one): the retry found it instead of posting again.
        calls = [c for m, c in wire.fake.calls if m == "chat.postMessage" and _posts_variant(c, 2)]
        assert len(calls) == 1, f"after {what}, chat.postMessage was called {len(calls)} times for variant 2"


async def test_a_parent_made_but_answered_with_a_dropped_connection_is_not_posted_again(
    tmp_path: Path,
) -> None:
    async with bot(tmp_path) as (wire, provider):
        lost = wire.fake.faults.add("chat.postMessage", after=True, kind="drop")  # the parent
        provider.release()
        draft_id, parent = await start(wire)
        assert exhausted([lost])
        await assert_each_variant_once(wire, draft_id, parent)
        assert len(wire.parents()) == 1


def _posts_variant(params: dict[str, Any], number: int) -> bool:
    metadata = params.get("metadata")
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == IMAGE_EVENT and payload.get("number") == number
