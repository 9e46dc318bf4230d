"""The bot as real processes for tests: ``draftbot serve`` and ``draftbot worker`` started as subprocesses,
waited for until they are up, and stopped with SIGTERM (SIGKILL if they hang)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Proc:
    name: str
    proc: asyncio.subprocess.Process
    log: Path
    port: int | None = None  # serve only

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def lines(self) -> list[str]:
        return self.output().splitlines()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command_for(name: str, port: int | None = None) -> tuple[list[str], int | None]:
    """The CLI arguments of a process named ``serve…`` (on ``port``, else a free one) or ``worker…``, and
    its port."""
    if name.startswith("serve"):
        port = port or free_port()
        return ["serve", "--host", "127.0.0.1", "--port", str(port)], port
    return ["worker"], None


async def spawn(
    name: str,
    tmp_path: Path,
    env: dict[str, str],
    *,
    launcher: tuple[str, ...] = ("-m", "bot.cli"),
    port: int | None = None,
) -> Proc:
    """Start ``python <launcher> <command>`` for ``name``, its output in ``tmp_path/<name>.log``."""
    command, port = command_for(name, port)
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, *launcher, *command),
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Proc(name, proc, log, port)


async def wait_until_up(procs: list[Proc], *, within: float) -> None:
    """Serve processes answer ``/healthz``, workers have said they run jobs; none may die meanwhile."""
    deadline = time.monotonic() + within
    waiting = list(procs)
    async with httpx.AsyncClient(trust_env=False) as client:
        while waiting:
            for p in list(waiting):
                assert p.proc.returncode is None, f"{p.name} died ({p.proc.returncode}):\n{p.output()}"
                if p.port is not None:
                    with contextlib.suppress(httpx.HTTPError):
                        health = await client.get(f"http://127.0.0.1:{p.port}/healthz", timeout=2)
                        if health.status_code == 200:
                            waiting.remove(p)
                elif "is running jobs" in p.output():
                    waiting.remove(p)
            assert time.monotonic() < deadline, "never came up: " + "".join(
                f"\n--- {p.name} ---\n{p.output()}" for p in waiting
            )
            await asyncio.sleep(0.1)


async def stop_all(procs: list[Proc]) -> None:
    for p in procs:
        if p.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                p.proc.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            await asyncio.wait_for(p.proc.wait(), timeout=15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                p.proc.kill()
            await p.proc.wait()
