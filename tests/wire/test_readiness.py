"""``/readyz`` says when the database's schema is not this release's newest migration: a process started
on a database another release migrated (or none did) is not ready, and says which revision it found."""

from __future__ import annotations

from pathlib import Path

import httpx
from alembic.script import ScriptDirectory

from bot.runtime import open_runtime
from bot.web import build_web_app
from fakes.slack import Workspace, serve_fake_slack
from storage import db
from tests.slack_harness import USERS, wire_settings


async def test_readyz_is_503_while_the_database_is_behind_the_head_migration(tmp_path: Path) -> None:
    head = db.head_revision()
    previous = ScriptDirectory.from_config(db.alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    async with serve_fake_slack(state=Workspace(default_users=USERS)) as fake:
        settings = wire_settings(tmp_path / "data", fake)
        await db.upgrade(settings.resolved_database_url, previous)
        async with open_runtime(settings, migrate=False) as runtime:
            app = build_web_app(runtime, run_worker=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://draftbot") as client:
                behind = await client.get("/readyz")
                assert (await client.get("/healthz")).status_code == 200  # liveness does not look
                await db.upgrade(runtime.engine)
                current = await client.get("/readyz")
    assert behind.status_code == 503
    report = behind.json()
    assert report["ok"] is False
    assert report["migrations"] == f"the database is at {previous}, this release expects {head}"
    assert report["database"] == report["images"] == report["slack"] == "ok"
    assert current.status_code == 200
    assert current.json() == {"ok": True, "database": "ok", "migrations": "ok", "images": "ok", "slack": "ok"}
