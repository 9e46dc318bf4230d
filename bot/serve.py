"""Long-running processes: the HTTP server, Socket Mode, and a standalone job worker.

Each installs its signal handlers first, so Ctrl-C or SIGTERM at any moment after start-up is one line
and exit status 0 (see :mod:`bot.http_server`).

With ``DRAFTBOT_METRICS_PORT`` each also serves ``/metrics`` on that port (``serve`` then not on its main
one): the only way to scrape a worker or a Socket Mode process, which have no HTTP server otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

from bot.config import Settings
from bot.errors import ConfigurationError, MissingSetting
from bot.http_server import bind, serve_until, stop_on_signals
from bot.metrics import metrics_app
from bot.runtime import Runtime, open_runtime, running_worker
from bot.web import build_web_app

log = logging.getLogger(__name__)


async def serve_http(settings: Settings, *, host: str, port: int) -> None:
    if settings.slack_signing_secret is None:
        raise MissingSetting("SLACK_SIGNING_SECRET", "to verify requests in HTTP mode")
    stop = asyncio.Event()
    stop_on_signals(stop)
    # Bound before anything starts: a busy port is one line, with nothing to undo.
    with bind(host, port) as sock, _metrics_socket(settings, host) as metrics_sock:
        async with open_runtime(settings) as runtime, serving_metrics(runtime, metrics_sock):
            ready = f"draftbot is listening on http://{_url_host(host)}:{port}/slack/events"
            await serve_until(build_web_app(runtime), sock, stop, ready=ready)


async def run_socket_mode(settings: Settings) -> None:
    if settings.slack_app_token is None:
        raise MissingSetting("SLACK_APP_TOKEN", "for Socket Mode")
    if settings.oauth_installs:
        raise ConfigurationError(
            "installs for many workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) need HTTP mode: "
            "run `draftbot serve`; Socket Mode serves the one workspace of SLACK_BOT_TOKEN"
        )
    stop = asyncio.Event()
    stop_on_signals(stop)
    with _metrics_socket(settings, METRICS_HOST) as metrics_sock:
        async with open_runtime(settings) as runtime, serving_metrics(runtime, metrics_sock):
            await _socket_mode(runtime, settings.slack_app_token.get_secret_value(), stop)


async def _socket_mode(runtime: Runtime, app_token: str, stop: asyncio.Event) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    async with running_worker(runtime):
        handler = AsyncSocketModeHandler(runtime.slack_app(), app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("draftbot is connected to Slack over Socket Mode")
        await stop.wait()
        await handler.close_async()  # type: ignore[no-untyped-call]


async def run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    with _metrics_socket(settings, METRICS_HOST) as metrics_sock:
        async with (
            open_runtime(settings) as runtime,
            serving_metrics(runtime, metrics_sock),
            running_worker(runtime) as worker,
        ):
            log.info("draftbot worker %s is running jobs", runtime.runner.worker_id)
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)  # a signal, a crash
            stopping.cancel()


# Where a worker or a Socket Mode process listens for scrapes (they have no --host).
METRICS_HOST = "0.0.0.0"


@contextlib.contextmanager
def _metrics_socket(settings: Settings, host: str) -> Iterator[socket.socket | None]:
    """``DRAFTBOT_METRICS_PORT`` bound (None when it is unset)."""
    if settings.metrics_port is None:
        yield None
        return
    with bind(host, settings.metrics_port) as sock:
        yield sock


@contextlib.asynccontextmanager
async def serving_metrics(runtime: Runtime, sock: socket.socket | None) -> AsyncIterator[None]:
    """``/metrics`` of ``runtime`` served on ``sock`` (nothing when None) while the block runs."""
    if sock is None:
        yield
        return
    sock.listen(128)  # at once: a scrape that comes before the server has started waits for it
    stop = asyncio.Event()
    host, port = sock.getsockname()[:2]
    ready = f"draftbot metrics at http://{_url_host(host)}:{port}/metrics"
    server = asyncio.create_task(
        serve_until(metrics_app(runtime.metrics, runtime.sessions), sock, stop, ready=ready),
        name="draftbot-metrics",
    )
    try:
        yield
    finally:
        stop.set()
        await server


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
