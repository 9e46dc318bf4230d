"""Every process runs the migrations at start, so any number of them may start at once on an empty database.

Two ``draftbot serve`` and two ``draftbot worker`` processes (real subprocesses, against the fake Slack)
import everything, wait on a shared start barrier (a file), then run the command at the same instant: the
four migrations meet. Each must come up (serve answers ``GET /healthz`` 200, a worker logs that it is
running jobs and stays alive), stop cleanly, and the schema ends at head once: one process ran the
migrations, and ``alembic_version`` has one row. Without the migration lock of ``storage.db`` (an advisory
lock on PostgreSQL) the PostgreSQL case fails: the losers die on ``CREATE TABLE alembic_version`` with a
unique violation; with a deferred ``BEGIN`` instead of ``BEGIN IMMEDIATE``, so does the SQLite case
("database is locked").
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from fakes.slack import FakeSlack, Workspace, serve_fake_slack
from storage.db import (
    MIGRATION_BUSY_TIMEOUT_MS,
    SQLITE_BUSY_TIMEOUT_MS,
    alembic_config,
    create_engine,
    upgrade,
)
from tests.processes import Proc, spawn, stop_all, wait_until_up
from tests.slack_harness import SECRET, USERS

REPO = Path(__file__).resolve().parents[2]
UP_WITHIN_S = 60.0  # four interpreters importing everything on two cores, then four migrations in turn

# Imports the commands first (the slow part), then waits for the go file, then runs the command.
LAUNCHER = """
import os, sys, time
from bot import cli, serve  # noqa: F401  (the heavy imports, before the barrier)
barrier = sys.argv[1]
open(barrier + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(barrier + ".go"):
    time.sleep(0.001)
sys.exit(cli.main(sys.argv[2:]))
"""


def bot_env(fake: FakeSlack, data_dir: Path, database_url: str | None) -> dict[str, str]:
    assert fake.base_url is not None
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_", "OPENAI_", "GEMINI_"))
    }
    env |= {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_PROVIDER": "local",
    }
    if database_url is not None:
        env["DRAFTBOT_DATABASE_URL"] = database_url
    return env


def ready(barrier: Path) -> int:
    return len(list(barrier.parent.glob(barrier.name + ".ready.*")))


async def start_at_once(tmp_path: Path, env: dict[str, str]) -> list[Proc]:
    """Two serve and two worker processes, released together once all four have imported everything."""
    barrier = tmp_path / "barrier"
    launcher = ("-c", LAUNCHER, str(barrier))
    procs = [
        await spawn(name, tmp_path, env, launcher=launcher)
        for name in ("serve-1", "serve-2", "worker-1", "worker-2")
    ]
    deadline = time.monotonic() + UP_WITHIN_S
    while ready(barrier) < len(procs):
        for p in procs:
            assert p.proc.returncode is None, f"{p.name} exited before the barrier:\n{p.output()}"
        assert time.monotonic() < deadline, "the processes never reached the barrier"
        await asyncio.sleep(0.05)
    (tmp_path / "barrier.go").touch()
    return procs


async def all_come_up(procs: list[Proc]) -> None:
    await wait_until_up(procs, within=UP_WITHIN_S)
    await asyncio.sleep(1.0)  # the workers keep running: a late failure would show here
    for p in procs:
        assert p.proc.returncode is None, f"{p.name} died ({p.proc.returncode}):\n{p.output()}"


async def alembic_versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def four_processes_start_at_once(tmp_path: Path, database_url: str | None) -> None:
    data_dir = tmp_path / "data"
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'draftbot.db'}"
    async with serve_fake_slack(state=Workspace(default_users=USERS)) as fake:
        procs = await start_at_once(tmp_path, bot_env(fake, data_dir, database_url))
        try:
            await all_come_up(procs)
        finally:
            await stop_all(procs)
    for p in procs:
        # A graceful stop: uvicorn re-raises the SIGTERM once it has shut down, the worker returns.
        clean = (0, -signal.SIGTERM) if p.port is not None else (0,)
        assert p.proc.returncode in clean, f"{p.name} exited with {p.proc.returncode}:\n{p.output()}"
        assert "Traceback" not in p.output(), f"{p.name}:\n{p.output()}"
    # One process ran the migrations (Alembic logs each step it runs); the others found the schema current.
    migrated = [p.name for p in procs if "Running upgrade" in p.output()]
    assert len(migrated) == 1, f"migrated by {migrated}"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert await alembic_versions(url) == [head]


@pytest.mark.postgres
async def test_four_processes_start_at_once_on_an_empty_postgres_database(
    tmp_path: Path, postgres_url: str
) -> None:
    await four_processes_start_at_once(tmp_path, postgres_url)


async def test_four_processes_start_at_once_on_an_empty_sqlite_database(tmp_path: Path) -> None:
    await four_processes_start_at_once(tmp_path, None)


async def test_the_long_migration_busy_timeout_is_set_back(tmp_path: Path) -> None:
    """The pooled connection the migration ran on keeps serving requests with the usual timeout."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'draftbot.db'}")
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        assert timeout == SQLITE_BUSY_TIMEOUT_MS < MIGRATION_BUSY_TIMEOUT_MS
    finally:
        await engine.dispose()


async def test_a_process_started_before_its_database_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refuses connections for the first two tries: start-up waits (said once), then migrates."""
    from bot import runtime

    tries: list[int] = []

    async def upgrade(_engine: object) -> None:
        tries.append(1)
        if len(tries) <= 2:
            raise ConnectionRefusedError("the database is not up yet")

    monkeypatch.setattr(runtime.db, "upgrade", upgrade)
    monkeypatch.setattr(runtime.OutageWatch, "delay", lambda self, dependency: 0.01)
    with caplog.at_level(logging.WARNING, logger="bot"):
        await runtime.migrate_when_reachable(object(), budget=30)  # type: ignore[arg-type]
    assert len(tries) == 3
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert len(said) == 2 and "unreachable" in said[0] and "back" in said[1]


async def test_start_up_gives_up_on_a_database_that_never_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import runtime

    async def upgrade(_engine: object) -> None:
        raise ConnectionRefusedError("no database here")

    monkeypatch.setattr(runtime.db, "upgrade", upgrade)
    monkeypatch.setattr(runtime.OutageWatch, "delay", lambda self, dependency: 0.05)
    with pytest.raises(ConnectionRefusedError):
        await runtime.migrate_when_reachable(object(), budget=0.2)  # type: ignore[arg-type]


async def test_start_up_does_not_wait_out_a_broken_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import runtime

    async def upgrade(_engine: object) -> None:
        raise ValueError("a migration with a bug")

    monkeypatch.setattr(runtime.db, "upgrade", upgrade)
    with pytest.raises(ValueError):
        await runtime.migrate_when_reachable(object(), budget=30)  # type: ignore[arg-type]
