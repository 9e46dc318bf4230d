"""The bot process dies (SIGKILL) while a draft's variants are in flight; started again on the same data
directory, it finishes the draft with every variant in the thread exactly once.

The bot runs as a real ``draftbot serve`` subprocess against the fake Slack and a slow fake OpenAI Images
API, both served by this test on loopback. Short job leases let the restarted worker take over the dead
worker's jobs quickly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot import audit
from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from fakes.slack import Change, FakeSlack, Message, Workspace, serve_fake_slack
from storage import db
from tests.slack_harness import ALICE, CHANNEL, SECRET, USERS, wait_for

REPO = Path(__file__).resolve().parents[2]
N = 4
LEASE = 3.0  # seconds: how long the dead worker's jobs stay claimed
BRIEF = f"a lighthouse at dusk, long exposure for feed post --n {N}"


class SlowImages:
    """FakeOpenAI behind a delay per request: the k-th request (from 0) waits ``delays[k]`` seconds, and
    every request after the list runs out waits ``after`` seconds. So variants finish one by one."""

    def __init__(self, delays: list[float], after: float = 0.2) -> None:
        self.api = FakeOpenAI()
        self.delays = delays
        self.after = after
        self.started = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            index, self.started = self.started, self.started + 1
            await asyncio.sleep(self.delays[index] if index < len(self.delays) else self.after)
        await self.api(scope, receive, send)


@dataclass
class Bot:
    """``draftbot serve`` as a subprocess, started and killed on demand; its output goes to a log file."""

    env: dict[str, str]
    port: int
    log: Path
    cwd: Path
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def proc(self) -> asyncio.subprocess.Process:
        return self.procs[-1]

    async def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== start {len(self.procs) + 1} =====\n".encode())
            out.flush()
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    *(
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                    ),
                    env=self.env,
                    cwd=self.cwd,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient(trust_env=False) as client:
            while True:
                assert self.proc.returncode is None, f"the bot exited early:\n{self.tail()}"
                with contextlib.suppress(httpx.HTTPError):
                    health = await client.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                    if health.status_code == 200:
                        return
                assert time.monotonic() < deadline, f"the bot never became healthy:\n{self.tail()}"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease handed back, nothing flushed. Safe to call from anywhere."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def wait_dead(self) -> None:
        await asyncio.wait_for(self.proc.wait(), timeout=10)

    async def stop(self) -> None:
        """A graceful stop (SIGTERM), so the database is quiet before the test reads it."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), timeout=10)
        await self.cleanup()

    async def cleanup(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.wait_for(proc.wait(), timeout=10)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(fake: FakeSlack, images_url: str, api_key: str, data_dir: Path) -> dict[str, str]:
    assert fake.base_url is not None
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "slack_client_id", "slack_client_secret"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_"))
    }
    return env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_PROVIDER": "openai",
        "OPENAI_API_KEY": api_key,
        "OPENAI_BASE_URL": f"{images_url}/v1",
        "DRAFTBOT_JOB_LEASE_SECONDS": str(LEASE),
    }


@contextlib.asynccontextmanager
async def world(tmp_path: Path, images: SlowImages) -> AsyncIterator[tuple[FakeSlack, Bot]]:
    data_dir = tmp_path / "data"
    async with (
        serve_fake_slack(state=Workspace(default_users=USERS)) as fake,
        serve_asgi(images) as images_url,
    ):
        port = free_port()
        bot = Bot(
            bot_env(fake, images_url, images.api.api_key, data_dir), port, tmp_path / "bot.log", tmp_path
        )
        try:
            await bot.start()
            fake.connect_app(f"http://127.0.0.1:{port}/slack/events", SECRET)
            yield fake, bot
        finally:
            await bot.cleanup()


def _event(message: Message) -> tuple[str | None, dict[str, Any]]:
    metadata = message.metadata or {}
    return metadata.get("event_type"), dict(metadata.get("event_payload") or {})


def the_parent(fake: FakeSlack) -> Message:
    return next(m for m in fake.messages(CHANNEL) if _event(m)[0] == DRAFT_EVENT)


def variant_numbers(fake: FakeSlack, parent: Message) -> list[int]:
    """Numbers of all 1K variant messages in the thread, duplicates included, sorted."""
    return sorted(
        int(payload["number"])
        for kind, payload in map(_event, fake.thread(CHANNEL, parent.ts))
        if kind == IMAGE_EVENT and payload.get("tier") == "1K"
    )


async def start_draft(fake: FakeSlack) -> tuple[int, Message]:
    assert fake.delivery is not None
    response = await fake.delivery.send_slash_command(ALICE, CHANNEL, BRIEF)
    assert response.status_code == 200
    parent = await wait_for(lambda: the_parent(fake), within=15, what="the parent message")
    return int(_event(parent)[1]["draft_id"]), parent


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
    in_thread = {m.ts for m in fake.thread(CHANNEL, parent.ts) if _event(m)[0] == IMAGE_EVENT}
    assert {r["details"]["ts"] for r in rows if r["kind"] == "variant_posted"} == in_thread


def tmp_db(bot: Bot) -> Path:
    return Path(bot.env["DRAFTBOT_DATA_DIR"]) / "draftbot.db"


async def test_killed_mid_draft_finishes_every_variant_once_after_restart(tmp_path: Path) -> None:
    # Two variants come back quickly, two are still being drawn when the process dies.
    images = SlowImages([0.2, 0.8, 8.0, 9.0], after=0.3)
    async with world(tmp_path, images) as (fake, bot):
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
    async with world(tmp_path, images) as (fake, bot):
        killed: list[str] = []

        def kill_on_first_image(change: Change) -> None:
            if killed or change.kind != "message_posted":
                return
            message = fake.state.get_message(change.data["channel"], change.data["ts"])
            if _event(message)[0] == IMAGE_EVENT:
                bot.kill()  # before the fake even answers chat.postMessage
                killed.append(message.ts)

        with _listening(fake, kill_on_first_image):
            draft_id, parent = await start_draft(fake)
            await wait_for(lambda: killed, within=15, what="the first variant message")
            await bot.wait_dead()
        before = variant_numbers(fake, parent)
        assert len(before) == 1

        await bot.start()
        await finish_and_check(fake, bot, draft_id, parent)
        # The message posted at the moment of death is the one the audit trail names.
        assert killed[0] in {m.ts for m in fake.thread(CHANNEL, parent.ts)}


@contextlib.contextmanager
def _listening(fake: FakeSlack, listener: Callable[[Change], None]) -> Iterator[None]:
    unsubscribe = fake.state.add_listener(listener)
    try:
        yield
    finally:
        unsubscribe()
