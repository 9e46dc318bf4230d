"""`draftbot playground`: the whole bot on this machine, in a browser, with no Slack and no keys.

One process on 127.0.0.1: the fake Slack (Web API + the channel page), the bot's own HTTP app and its
job worker. What a person does in the page reaches the bot as signed Slack requests, and the bot
answers through the real Slack client, so it runs exactly as it does in Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot import audit
from bot.command import EXAMPLE
from bot.config import Settings
from bot.http_server import bind, stop_on_signals
from bot.runtime import Runtime, build_runtime
from bot.web import build_web_app
from fakes.asgi import serve_asgi
from fakes.slack import DEFAULT_BOT_TOKEN, FakeSlack, Workspace, serve_fake_slack
from fakes.slack.page import install_playground

log = logging.getLogger(__name__)

SAVE_EVERY_SECONDS = 2.0


@dataclass
class Playground:
    url: str
    fake: FakeSlack
    runtime: Runtime


def workspace_file(settings: Settings) -> Path:
    return settings.data_dir / "playground" / "workspace.json"


def fresh_workspace() -> Workspace:
    """A new playground's workspace: alice is its admin, so `/draft settings` can be tried."""
    state = Workspace()
    state.set_admin("U0ALICE")
    return state


@contextlib.asynccontextmanager
async def running_playground(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 3000
) -> AsyncIterator[Playground]:
    sock = bind(host, port)  # first: a port that is taken is one line, with nothing started
    saved = workspace_file(settings)
    state = Workspace.load(saved) or fresh_workspace()
    signing_secret = secrets.token_hex(16)  # new each start: only this process signs and verifies
    async with serve_fake_slack(sock=sock, state=state) as fake:
        if fake.base_url is None or fake.origin is None:
            raise RuntimeError("the fake Slack did not report its address")
        bot_settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(DEFAULT_BOT_TOKEN),
                "slack_signing_secret": SecretStr(signing_secret),
                "slack_api_url": fake.base_url,
            }
        )
        runtime = await build_runtime(bot_settings)

        async def audit_rows(draft_id: int | None) -> list[dict[str, Any]]:
            return [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]

        install_playground(fake, audit=audit_rows)
        saver = asyncio.create_task(_keep_saving(fake.state, saved), name="playground-saver")
        try:
            async with serve_asgi(build_web_app(runtime)) as bot_url:
                fake.connect_app(f"{bot_url}/slack/events", signing_secret)
                yield Playground(fake.origin, fake, runtime)
        finally:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
            fake.state.save(saved)
            await runtime.aclose()


async def _keep_saving(state: Workspace, path: Path) -> None:
    """Save soon after changes, so even a killed process loses at most a moment of the channel."""
    saved_version = state.version
    while True:
        await asyncio.sleep(SAVE_EVERY_SECONDS)
        if state.version != saved_version:
            saved_version = state.version
            await asyncio.to_thread(state.capture(), path)  # captured here, written in a thread


async def run_playground(settings: Settings, *, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Until SIGINT or SIGTERM; then one line, the jobs in flight finish or are handed back, and it ends."""
    stop = asyncio.Event()
    stop_on_signals(stop, saying=None)  # the line below says it, beside the banner
    async with running_playground(settings, host=host, port=port) as playground:
        print(
            f"\n  draftbot playground: {playground.url}/\n"
            f"  Type `/draft {EXAMPLE}` in #general.\n"
            f"  Data: {settings.data_dir}   (Ctrl-C to stop; unfinished drafts resume next time)\n",
            flush=True,
        )
        await stop.wait()
        print("  stopping: finishing what is in flight...", flush=True)
