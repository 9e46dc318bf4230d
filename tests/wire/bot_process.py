"""``draftbot serve`` as a real subprocess against the fake Slack and a slow fake OpenAI Images API, both
served by the test on loopback: started, SIGKILLed and started again on the same data directory (the crash
tests in this package)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from fakes.slack import Change, FakeSlack, Message, Workspace, serve_fake_slack
from tests.processes import free_port
from tests.slack_harness import CHANNEL, SECRET, USERS

REPO = Path(__file__).resolve().parents[2]


class SlowImages:
    """FakeOpenAI behind a delay per request: the k-th request (from 0) waits ``delays[k]`` seconds, and
    every request after the list runs out waits ``after`` seconds. So variants finish one by one.

    :meth:`release` ends every wait now and skips the later ones (a test that held a request to kill the bot
    meanwhile lets it go rather than keep the server busy)."""

    def __init__(self, delays: list[float], after: float = 0.2) -> None:
        self.api = FakeOpenAI()
        self.delays = delays
        self.after = after
        self.started = 0
        self._released = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            index, self.started = self.started, self.started + 1
            delay = self.delays[index] if index < len(self.delays) else self.after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), delay)
        await self.api(scope, receive, send)

    def release(self) -> None:
        self._released.set()


@dataclass
class Bot:
    """``draftbot serve`` as a subprocess, started and killed on demand; its output goes to a log file."""

    env: dict[str, str]
    port: int
    log: Path
    cwd: Path
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    spawned_at: float = 0.0  # time.monotonic() when the newest process was launched

    @property
    def proc(self) -> asyncio.subprocess.Process:
        return self.procs[-1]

    async def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== start {len(self.procs) + 1} =====\n".encode())
            out.flush()
            self.spawned_at = time.monotonic()
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


def bot_env(
    fake: FakeSlack, images_url: str, api_key: str, data_dir: Path, **settings: str
) -> dict[str, str]:
    """The subprocess's environment: this one without Slack, proxy or draftbot settings, pointed at the
    fakes; ``settings`` adds more (``DRAFTBOT_JOB_LEASE_SECONDS="3"``...)."""
    assert fake.base_url is not None
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "slack_client_id", "slack_client_secret"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_"))
    }
    return (
        env
        | {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "DRAFTBOT_DATA_DIR": str(data_dir),
            "DRAFTBOT_PROVIDER": "openai",
            "OPENAI_API_KEY": api_key,
            "OPENAI_BASE_URL": f"{images_url}/v1",
        }
        | settings
    )


@contextlib.asynccontextmanager
async def world(tmp_path: Path, images: SlowImages, **settings: str) -> AsyncIterator[tuple[FakeSlack, Bot]]:
    """The fakes served, and the bot started against them (``settings``: see :func:`bot_env`)."""
    data_dir = tmp_path / "data"
    async with (
        serve_fake_slack(state=Workspace(default_users=USERS)) as fake,
        serve_asgi(images) as images_url,
    ):
        port = free_port()
        bot = Bot(
            bot_env(fake, images_url, images.api.api_key, data_dir, **settings),
            port,
            tmp_path / "bot.log",
            tmp_path,
        )
        try:
            await bot.start()
            fake.connect_app(f"http://127.0.0.1:{port}/slack/events", SECRET)
            yield fake, bot
        finally:
            images.release()
            await bot.cleanup()


def event_of(message: Message) -> tuple[str | None, dict[str, Any]]:
    metadata = message.metadata or {}
    return metadata.get("event_type"), dict(metadata.get("event_payload") or {})


def the_parent(fake: FakeSlack) -> Message:
    return next(m for m in fake.messages(CHANNEL) if event_of(m)[0] == DRAFT_EVENT)


def variant_numbers(fake: FakeSlack, parent: Message) -> list[int]:
    """Numbers of all 1K variant messages in the thread, duplicates included, sorted."""
    return sorted(
        int(payload["number"])
        for kind, payload in map(event_of, fake.thread(CHANNEL, parent.ts))
        if kind == IMAGE_EVENT and payload.get("tier") == "1K"
    )


def tmp_db(bot: Bot) -> Path:
    return Path(bot.env["DRAFTBOT_DATA_DIR"]) / "draftbot.db"


@contextlib.contextmanager
def listening(fake: FakeSlack, listener: Callable[[Change], None]) -> Iterator[None]:
    unsubscribe = fake.state.add_listener(listener)
    try:
        yield
    finally:
        unsubscribe()
