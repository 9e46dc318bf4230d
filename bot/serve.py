"""Long-running processes: the HTTP server, Socket Mode, and a standalone job worker."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from bot.config import Settings
from bot.errors import MissingSetting
from bot.runtime import open_runtime, running_worker
from bot.web import build_web_app

log = logging.getLogger(__name__)


async def serve_http(settings: Settings, *, host: str, port: int) -> None:
    if settings.slack_signing_secret is None:
        raise MissingSetting("SLACK_SIGNING_SECRET", "to verify requests in HTTP mode")
    async with open_runtime(settings) as runtime:
        server = uvicorn.Server(
            uvicorn.Config(build_web_app(runtime), host=host, port=port, log_level="info", lifespan="on")
        )
        log.info("draftbot is listening on http://%s:%d/slack/events", host, port)
        await server.serve()


async def run_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.slack_app_token is None:
        raise MissingSetting("SLACK_APP_TOKEN", "for Socket Mode")
    async with open_runtime(settings) as runtime, running_worker(runtime):
        handler = AsyncSocketModeHandler(runtime.slack_app(), settings.slack_app_token.get_secret_value())
        log.info("draftbot is connected to Slack over Socket Mode")
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await _until_signalled()
        await handler.close_async()  # type: ignore[no-untyped-call]


async def run_worker(settings: Settings) -> None:
    async with open_runtime(settings) as runtime:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        log.info("draftbot worker %s is running jobs", runtime.runner.worker_id)
        await runtime.runner.run_forever(stop)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    await stop.wait()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
