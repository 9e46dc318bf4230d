"""Run any ASGI app with uvicorn inside the running event loop (tests, the playground, the bot's HTTP app)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    lifespan: Literal["auto", "on", "off"] = "auto",
    graceful_timeout: float = 2.0,
    sock: socket.socket | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (0 = a free port), or on ``sock`` already bound, and yield its origin,
    e.g. ``http://127.0.0.1:54321``.

    Uses uvicorn's startup/main_loop/shutdown directly so no signal handlers are installed and global
    logging configuration is left alone. The socket is bound before the app's lifespan starts, so a port
    that is taken raises ``RuntimeError`` (from the ``OSError``) with nothing started.
    """
    if sock is None:
        try:
            sock = _bind(host, port)
        except OSError as err:
            raise RuntimeError(f"could not start server on {host}:{port}: {err.strerror or err}") from err
    else:
        host = sock.getsockname()[0]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=log_level,
        lifespan=lifespan,
        access_log=False,
        timeout_graceful_shutdown=max(1, round(graceful_timeout)),
    )
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits the process on lifespan failures
        sock.close()
        raise RuntimeError(f"could not start server on {host}:{port}") from exc
    bound_host = f"[{host}]" if ":" in host else host
    main_loop = asyncio.create_task(server.main_loop())
    try:
        yield f"http://{bound_host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        main_loop.cancel()  # it only polls should_exit every 0.1 s
        with suppress(asyncio.CancelledError):
            await main_loop
        await server.shutdown(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    """Bind as uvicorn would (``SO_REUSEADDR``), so that the caller sees the ``OSError`` itself."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
