"""Listening and stopping for the long-running commands: a port taken is one line, a signal is one line.

uvicorn's own ``Server.serve()`` installs signal handlers that raise the signal again once it has stopped
(so Ctrl-C ends in a ``KeyboardInterrupt`` traceback and SIGTERM in exit status 143), and binds its socket
only after the app's lifespan started (so a busy port starts and stops the job worker, logs an error and
calls ``sys.exit``). Here the socket is bound first, the signals only set an event, and the server is run
with uvicorn's startup / main loop / shutdown steps. Long-lived requests must end when the server stops
(the playground's long polls do, see ``FakeSlack.aclose``): a request still open after
:data:`GRACEFUL_SHUTDOWN_SECONDS` is cancelled, with an error in the log.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket

import uvicorn
from starlette.types import ASGIApp

from bot.errors import ConfigurationError

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 5  # open requests get this long to finish once the server stops listening
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOPPING = "stopping: unfinished jobs are handed back and resume at the next start"


class PortInUse(ConfigurationError):
    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is already in use; choose another with --port")
        self.port = port


class CannotListen(ConfigurationError):
    def __init__(self, host: str, port: int, err: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {err.strerror or err}; choose another with --port")


def listening_error(host: str, port: int, err: OSError) -> ConfigurationError:
    """What to tell the person when ``host:port`` cannot be listened on."""
    return PortInUse(port) if err.errno == errno.EADDRINUSE else CannotListen(host, port, err)


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` the way uvicorn binds one, or a :class:`ConfigurationError`."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise listening_error(host, port, err) from None
    sock.set_inheritable(True)
    return sock


def stop_on_signals(stop: asyncio.Event, *, saying: str | None = STOPPING) -> None:
    """SIGINT and SIGTERM set ``stop`` instead of raising ``KeyboardInterrupt`` or ending the process; the
    first one logs ``saying``, the only line a stop adds (unless jobs are still running)."""
    loop = asyncio.get_running_loop()

    def signalled() -> None:
        if not stop.is_set() and saying:
            log.info("%s", saying)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, signalled)


async def serve_until(app: ASGIApp, sock: socket.socket, stop: asyncio.Event, *, ready: str) -> None:
    """Serve ``app`` (its lifespan included) on the bound ``sock`` until ``stop`` is set, then close it:
    open requests get :data:`GRACEFUL_SHUTDOWN_SECONDS`, then the lifespan's shutdown stops the job worker.
    ``ready`` is logged once the app has started (the one line that gives the address).

    uvicorn says only warnings and errors; each request's access line is logged at INFO, in draftbot's format.
    """
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
    except SystemExit:  # uvicorn exits the process when the lifespan fails; its error is logged
        raise RuntimeError("the web app did not start") from None
    if not stop.is_set():  # a signal during start-up: stop at once, without announcing an address
        log.info("%s", ready)
    main_loop = asyncio.create_task(server.main_loop(), name="uvicorn-main-loop")  # the Date header's clock
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        await main_loop  # it looks at should_exit every 0.1 s
    await server.shutdown(sockets=[sock])
