"""Long-running processes: the HTTP server, Socket Mode, and a standalone job worker.

Each installs its signal handlers first, so Ctrl-C or SIGTERM at any moment after start-up is one line
and exit status 0 (see :mod:`bot.http_server`).
"""

from __future__ import annotations

import asyncio
import logging

from bot.config import Settings
from bot.errors import ConfigurationError, MissingSetting
from bot.http_server import bind, serve_until, stop_on_signals
from bot.runtime import open_runtime, running_worker
from bot.web import build_web_app

log = logging.getLogger(__name__)


async def serve_http(settings: Settings, *, host: str, port: int) -> None:
    if settings.slack_signing_secret is None:
        raise MissingSetting("SLACK_SIGNING_SECRET", "to verify requests in HTTP mode")
    stop = asyncio.Event()
    stop_on_signals(stop)
    with bind(host, port) as sock:  # before anything starts: a busy port is one line, with nothing to undo
        async with open_runtime(settings) as runtime:
            ready = f"draftbot is listening on http://{_url_host(host)}:{port}/slack/events"
            await serve_until(build_web_app(runtime), sock, stop, ready=ready)


async def run_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.slack_app_token is None:
        raise MissingSetting("SLACK_APP_TOKEN", "for Socket Mode")
    if settings.oauth_installs:
        raise ConfigurationError(
            "installs for many workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) need HTTP mode: "
            "run `draftbot serve`; Socket Mode serves the one workspace of SLACK_BOT_TOKEN"
        )
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(settings) as runtime, running_worker(runtime):
        handler = AsyncSocketModeHandler(runtime.slack_app(), settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("draftbot is connected to Slack over Socket Mode")
        await stop.wait()
        await handler.close_async()  # type: ignore[no-untyped-call]


async def run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(settings) as runtime, running_worker(runtime) as worker:
        log.info("draftbot worker %s is running jobs", runtime.runner.worker_id)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)  # a signal, or a crash
        stopping.cancel()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
