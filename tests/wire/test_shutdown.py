"""A quiet terminal: Ctrl-C (SIGINT) and SIGTERM stop every long-running command with one line, no traceback
and exit status 0, within a bounded time, even with the playground's page long-polling; a port that is taken
is one line naming ``--port`` and a non-zero exit. Each command is a real process, as a person starts it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.http_server import STOPPING
from tests.processes import free_port

REPO = Path(__file__).resolve().parents[2]
UP_WITHIN_S = 20.0
STOPPED_WITHIN_S = 5.0  # the graceful shutdown's bound; a long poll left open would take its 2-5 s and more
PLAYGROUND_STOPPING = "stopping: finishing what is in flight..."


@dataclass
class Started:
    proc: asyncio.subprocess.Process
    stdout: Path
    stderr: Path
    port: int | None

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def both(self) -> str:
        return f"--- stdout ---\n{self.out()}\n--- stderr ---\n{self.err()}"


def environment(data_dir: Path, *, slack: bool) -> dict[str, str]:
    """This environment without Slack, draftbot or proxy settings; with Slack tokens for serve and worker
    (nothing calls Slack until a request or a job needs it, so the API URL is a closed port)."""
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_"))
    }
    env |= {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_PROVIDER": "local",
    }
    if slack:
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-shutdown-test",
            "SLACK_SIGNING_SECRET": "shutdown-test-secret",
            "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        }
    return env


async def start(tmp_path: Path, command: str, port: int | None = None) -> Started:
    port = port if port is not None or command == "worker" else free_port()
    args = [command, *([] if port is None else ["--host", "127.0.0.1", "--port", str(port)])]
    stdout, stderr = tmp_path / f"{command}.out", tmp_path / f"{command}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *args,
            env=environment(tmp_path / "data", slack=command != "playground"),
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
    return Started(proc, stdout, stderr, port)


async def wait_until_up(started: Started, command: str) -> None:
    path = {"playground": "/", "serve": "/healthz"}.get(command)
    deadline = time.monotonic() + UP_WITHIN_S
    async with httpx.AsyncClient(trust_env=False) as client:
        while True:
            assert started.proc.returncode is None, f"{command} exited early:\n{started.both()}"
            if path is None:
                if "is running jobs" in started.err():
                    return
            else:
                with contextlib.suppress(httpx.HTTPError):
                    answer = await client.get(f"http://127.0.0.1:{started.port}{path}", timeout=2)
                    if answer.status_code == 200:
                        return
            assert time.monotonic() < deadline, f"{command} never came up:\n{started.both()}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def page_long_polling(port: int) -> AsyncIterator[asyncio.Task[httpx.Response]]:
    """What an open playground tab does all the time: a long poll the server holds for up to 25 s."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        poll = asyncio.create_task(
            client.get(f"http://127.0.0.1:{port}/playground/state", params={"since": 10**9, "wait": 25})
        )
        await asyncio.sleep(0.3)  # the request is in and waiting
        assert not poll.done()
        try:
            yield poll
        finally:
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await poll


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def assert_quiet(started: Started) -> None:
    for text in (started.out(), started.err()):
        assert "Traceback" not in text, started.both()
        assert " ERROR " not in text and "CancelledError" not in text, started.both()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_playground_stops_quietly_with_the_page_open(tmp_path: Path, sig: signal.Signals) -> None:
    started = await start(tmp_path, "playground")
    try:
        await wait_until_up(started, "playground")
        async with page_long_polling(started.port or 0) as poll:
            began = time.monotonic()
            started.proc.send_signal(sig)
            code = await asyncio.wait_for(started.proc.wait(), STOPPED_WITHIN_S)
            assert poll.done()  # answered by the stopping server, not cut off after the graceful timeout
        assert time.monotonic() - began < STOPPED_WITHIN_S
    finally:
        if started.proc.returncode is None:
            started.proc.kill()
            await started.proc.wait()
    assert code == 0, started.both()
    assert_quiet(started)
    out = started.out()
    assert out.count(f"http://127.0.0.1:{started.port}/") == 1, out  # the address, once
    assert out.count(PLAYGROUND_STOPPING) == 1, out
    assert STOPPING not in started.err()  # the one line is the playground's own


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["serve", "worker"])
async def test_serve_and_worker_stop_quietly(tmp_path: Path, command: str, sig: signal.Signals) -> None:
    started = await start(tmp_path, command)
    try:
        await wait_until_up(started, command)
        started.proc.send_signal(sig)
        code = await asyncio.wait_for(started.proc.wait(), STOPPED_WITHIN_S)
    finally:
        if started.proc.returncode is None:
            started.proc.kill()
            await started.proc.wait()
    assert code == 0, started.both()
    assert_quiet(started)
    err = started.err()
    assert err.count(STOPPING) == 1, err
    if command == "serve":
        assert err.count(f"127.0.0.1:{started.port}") == 1, err  # the address once, not uvicorn's too
        assert "Uvicorn running" not in err and "Started server process" not in err
        assert "will be unused" not in err  # Bolt's warning about the token our own client carries


@pytest.mark.parametrize("command", ["playground", "serve"])
async def test_a_taken_port_is_one_line_naming_the_option(tmp_path: Path, command: str) -> None:
    with taken_port() as port:
        started = await start(tmp_path, command, port)
        code = await asyncio.wait_for(started.proc.wait(), UP_WITHIN_S)
    assert code != 0
    assert started.err().strip() == f"draftbot: port {port} is already in use; choose another with --port"
    assert started.out().strip() == ""
