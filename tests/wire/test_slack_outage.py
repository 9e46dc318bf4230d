"""Slack down for a minute with six drafts in flight (issue 10, item 3): every draft completes once Slack is
back, nobody is shown a raw exception, and the outage costs no attempts.

The outage has the two shapes a real one has, one after the other: first Slack answers every Web API call
with a 503 (its edge is up, what is behind it is not), then the line to Slack is cut, so that open
connections are reset and new ones are refused (``ClientConnectorError``, what the probe showed users). The
bot reaches the fake Slack only through :class:`Line`, a TCP relay the test can cut and mend; uploads go
through it too, since the fake hands out upload URLs under the relay's address.

The drafts are acknowledged before Slack goes away, and the first parents posted; the other parents and
every variant are drawn and posted while it is away (the image provider waits for the outage to begin, and
the variants it holds fill the job slots that the later parents' jobs wait for)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.blocks import IMAGE_EVENT
from bot.providers.base import GeneratedImage, GenerationRequest
from bot.providers.local import LocalProvider
from bot.tiers import Ratio, Size, Tier
from fakes.slack import Message, Workspace, serve_fake_slack
from storage.models import Job
from tests.slack_harness import ALICE, BOB, CHANNEL, USERS, Wire, running_bot, wait_for

DRAFTS, N = 6, 2
OUTAGE_SECONDS = 60.0
ANSWERING_503_SECONDS = 20.0  # the first part of the outage; the rest of it the line is cut
# What a user must never read in Slack: Python's way of saying what went wrong.
RAW_ERROR_MARKS = (
    "Error(",
    "ConnectionKey",
    "Traceback",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ClientOSError",
    "SlackApiError",
    "aiohttp",
    "Errno",
)


class Line:
    """A TCP relay from a local port to the fake Slack that the test can cut (connections reset, new
    ones refused) and mend (the same port listens again)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def mend(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def aclose(self) -> None:
        if not self.is_cut:
            await self.cut()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            slack_reader, slack_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, slack_writer}
        pipes = [
            asyncio.create_task(self._pipe(client_reader, slack_writer)),
            asyncio.create_task(self._pipe(slack_reader, client_writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in (client_writer, slack_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()  # one side gone: the other goes too


class HeldProvider:
    """The local renderer, holding every variant until :meth:`release` (the outage has begun)."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self) -> None:
        self._inner = LocalProvider()
        self._gate = asyncio.Event()

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return self._inner.target_size(ratio, tier)

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        return self._inner.estimate_usd(ratio, tier, quality)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        await self._gate.wait()
        return await self._inner.generate(request)

    def release(self) -> None:
        self._gate.set()

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def bot_behind_a_line(tmp_path: Path) -> AsyncIterator[tuple[Wire, Line, HeldProvider]]:
    provider = HeldProvider()
    async with serve_fake_slack(state=Workspace(default_users=USERS)) as fake:
        assert fake.origin is not None
        line = Line(int(fake.origin.rpartition(":")[2]))
        await line.mend()
        fake.set_origin(line.origin)  # the bot's base URL, and the upload URLs the fake hands out
        try:
            async with running_bot(tmp_path / "data", image_provider=provider, fake=fake) as wire:
                try:
                    yield wire, line, provider
                finally:
                    provider.release()
                    if line.is_cut:
                        await line.mend()  # let the bot shut down against a Slack that answers
        finally:
            await line.aclose()


def variant_numbers(wire: Wire, parent: Message) -> list[int]:
    """The number of every 1K variant in the thread, duplicates included (sorted)."""
    numbers = []
    for message in wire.fake.thread(CHANNEL, parent.ts):
        metadata = message.metadata or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == IMAGE_EVENT and payload.get("tier") == "1K":
            numbers.append(int(payload["number"]))
    return sorted(numbers)


def voting(wire: Wire, parent: Message) -> bool:
    current = next(m for m in wire.parents() if m.ts == parent.ts)
    return "Voting" in json.dumps(current.blocks)


async def jobs(wire: Wire) -> list[Job]:
    async with wire.runtime.sessions() as session:
        return list((await session.scalars(select(Job))).all())


async def readyz(wire: Wire) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{wire.url}/readyz", timeout=30)
    return response.status_code, response.json()


def everything_shown(wire: Wire) -> str:
    """Every message, block and ephemeral the bot ever sent (edits and overwritten ones included), and
    what the channel and its threads show now."""
    state = wire.fake.state
    sent = [params for method, params in wire.fake.calls if method != "upload"]
    shown: list[Any] = [sent, [e.text for e in state.ephemerals]]
    for parent in wire.fake.messages(CHANNEL):
        for message in wire.fake.thread(CHANNEL, parent.ts):
            shown.append([message.text, message.blocks, message.attachments])
    return json.dumps(shown, default=str)


async def test_slack_down_for_a_minute_with_six_drafts_in_flight(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    async with bot_behind_a_line(tmp_path) as (wire, line, provider):
        for k in range(DRAFTS):
            response = await wire.command(ALICE, f"a lighthouse at dusk number {k} for feed post --n {N}")
            assert response.status_code == 200
        # Acknowledged, and some parents posted: the rest wait for a job slot (held variants fill them).
        await wait_for(lambda: wire.parents(), what="the first parents")

        # Slack goes away: first answering 503 to everything, then not answering at all.
        went = time.monotonic()
        wire.fake.faults.add("*", status=503, times=None)
        provider.release()  # the variants are drawn now, and their posts meet the outage
        await asyncio.sleep(ANSWERING_503_SECONDS)
        wire.fake.faults.clear()
        await line.cut()
        await asyncio.sleep(3)
        status, report = await readyz(wire)
        assert status == 503 and report["slack"] != "ok", report
        checked_down = time.monotonic()
        # Requests from Slack still get their answer (Bolt does not need to reach Slack to take them).
        helped = await wire.command(BOB, "help")
        assert helped.status_code == 200 and "/draft" in helped.text, helped.text
        assert not any(variant_numbers(wire, p) for p in wire.parents()), "a variant got through the outage"
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - went)))
        await line.mend()
        back = time.monotonic()

        parents = await wait_for(
            lambda: (
                len(wire.parents()) == DRAFTS
                and all(voting(wire, p) for p in wire.parents())
                and wire.parents()
            ),
            within=90,
            what="all six drafts to open voting",
        )
        recovered = time.monotonic() - back
        deadline = time.monotonic() + 30
        while any(job.status in ("queued", "running") for job in await jobs(wire)):
            assert time.monotonic() < deadline, "jobs still unfinished"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # a straggling duplicate post would land in this window

        # Every variant exactly once, every draft voting.
        for parent in parents:
            assert variant_numbers(wire, parent) == list(range(1, N + 1)), parent.ts
        # The outage cost no attempts, and no job failed.
        finished = await jobs(wire)
        assert [j for j in finished if j.status != "done"] == []
        spent = {(j.kind, j.id): j.attempts for j in finished if j.attempts != 1}
        assert spent == {}, f"attempts spent on the outage: {spent}"
        waited = [j for j in finished if j.last_error and j.last_error.startswith("Slack was unreachable")]
        assert waited, "no job met the outage: the test did not test it"
        # Nobody was shown Python's error text, in any message, block, edit or ephemeral.
        shown = everything_shown(wire)
        leaked = [mark for mark in RAW_ERROR_MARKS if mark in shown]
        assert leaked == [], f"raw error text shown in Slack: {leaked}"
        # Said once when Slack went, once when it was back; nothing per retry.
        records = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
        away = [r for r in records if "is unreachable" in r.getMessage()]
        returned = [r for r in records if "is back after" in r.getMessage()]
        assert len(away) == 1 and len(returned) == 1, [r.getMessage() for r in records]
        assert away[0].getMessage().startswith("Slack") and returned[0].getMessage().startswith("Slack")
        assert len(records) <= 4, [r.getMessage() for r in records]
        # Ready again once Slack answers (the cached "down" has run out by now).
        assert time.monotonic() - checked_down > 30
        status, report = await readyz(wire)
        assert status == 200 and report["slack"] == "ok", report
        print(
            f"\noutage {OUTAGE_SECONDS:.0f} s; all drafts voting {recovered:.1f} s after Slack was back;"
            f" {len(waited)} job(s) waited; log: {[r.getMessage() for r in records]}"
        )
