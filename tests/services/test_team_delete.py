"""``draftbot team delete``: one workspace's data erased on request (rows, images, installation and audit
trail) and nothing of another's; the audit trail still refuses every other deletion; a run interrupted
before its images were gone finishes them when run again. On SQLite and on PostgreSQL (each enforces the
append-only rule with triggers of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

from bot.audit import AuditKind
from bot.cli import main
from bot.config import Settings
from bot.publisher import RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.teams import delete_team
from storage.erasure import image_keys
from storage.models import AuditEvent, Draft, Job, Variant
from tests.conftest import FakeClock, drain
from tests.services.test_service_flow import CHANNEL, REQ, request

OURS, THEIRS = "T0ERASEME", "T0KEEPME"


async def draft_in(
    runtime: Runtime, team: str, text: str = "a lighthouse at dusk for feed post --n 2"
) -> int:
    return await runtime.drafts.intake.create_draft(
        team_id=team, channel_id=CHANNEL, requester=REQ, request=request(text), command_text=text
    )


async def count(runtime: Runtime, model: type, *where: sa.ColumnElement[bool]) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


async def check_erases_one_team_only(runtime: Runtime, clock: FakeClock) -> None:
    for team in (OURS, THEIRS):
        await draft_in(runtime, team)
    await draft_in(runtime, OURS, "a kite over the sea for story --n 1")
    await drain(runtime, clock)
    store = AsyncSQLAlchemyInstallationStore(client_id="1111.2222", engine=runtime.engine)
    for team in (OURS, THEIRS):
        await store.async_save(
            Installation(app_id="A1", team_id=team, user_id="U1", bot_token=f"xoxb-{team}")
        )
    async with runtime.sessions() as session:
        ours, theirs = await image_keys(session, OURS), await image_keys(session, THEIRS)
    assert len(ours) >= 3 and theirs and all([await runtime.blobs.exists(k) for k in ours | theirs])

    erased = await delete_team(runtime.sessions, runtime.blobs, OURS, by="ops@example.com", clock=clock)
    assert erased.rows["drafts"] == 2 and erased.rows["audit_events"] > 0 and erased.rows["slack_bots"] == 1
    assert erased.images_deleted == len(ours - theirs)
    assert "deleted team T0ERASEME" in erased.summary()
    for model in (Draft, Variant, Job):
        assert await count(runtime, model, model.team_id == OURS) == 0  # type: ignore[attr-defined]
    assert not [k for k in ours - theirs if await runtime.blobs.exists(k)]
    assert await store.async_find_bot(enterprise_id=None, team_id=OURS) is None
    # The other workspace is untouched, and the erasure left exactly one record of itself.
    assert await count(runtime, Draft, Draft.team_id == THEIRS) == 1
    assert all([await runtime.blobs.exists(k) for k in theirs])
    assert await store.async_find_bot(enterprise_id=None, team_id=THEIRS) is not None
    async with runtime.sessions() as session:
        left = (await session.scalars(sa.select(AuditEvent).where(AuditEvent.team_id == OURS))).all()
    assert [(e.kind, e.actor) for e in left] == [(AuditKind.TEAM_DELETED, "ops@example.com")]
    assert "prompt" not in str(left[0].details) and "lighthouse" not in str(left[0].details)
    # Outside an erasure, the audit trail refuses deletions as before, the other team's and this record.
    for team in (THEIRS, OURS):
        async with runtime.sessions() as session:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                await session.execute(sa.delete(AuditEvent).where(AuditEvent.team_id == team))

    # A second request, interrupted after the commit, before its images went (the store failing, or a
    # SIGKILL there): run again, and they go.
    await draft_in(runtime, OURS)
    await drain(runtime, clock)
    async with runtime.sessions() as session:
        pending = await image_keys(session, OURS) - theirs
    real_delete = runtime.blobs.delete

    async def failing(key: str) -> None:
        raise OSError("the image store went away")

    runtime.blobs.delete = failing  # type: ignore[method-assign]
    with pytest.raises(OSError):
        await delete_team(runtime.sessions, runtime.blobs, OURS, by="ops@example.com", clock=clock)
    runtime.blobs.delete = real_delete  # type: ignore[method-assign]
    assert await count(runtime, Draft, Draft.team_id == OURS) == 0
    assert all([await runtime.blobs.exists(k) for k in pending])
    again = await delete_team(runtime.sessions, runtime.blobs, OURS, by="ops@example.com", clock=clock)
    assert again.images_deleted == len(pending) and not again.rows.get("drafts")
    assert not [k for k in pending if await runtime.blobs.exists(k)]
    assert await count(runtime, AuditEvent, AuditEvent.team_id == OURS) == 1  # the latest record only


async def test_a_team_is_erased_and_nothing_of_another(settings: Settings, clock: FakeClock) -> None:
    runtime = await build_runtime(settings, publisher=RecordingPublisher(), clock=clock)
    try:
        await check_erases_one_team_only(runtime, clock)
    finally:
        await runtime.aclose()


@pytest.mark.postgres
async def test_a_team_is_erased_on_postgresql(tmp_path: Path, postgres_url: str, clock: FakeClock) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, _env_file=None)  # type: ignore[call-arg]
    runtime = await build_runtime(settings, publisher=RecordingPublisher(), clock=clock)
    try:
        await check_erases_one_team_only(runtime, clock)
    finally:
        await runtime.aclose()


def test_the_command_asks_for_a_team_id_and_a_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRAFTBOT_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit):
        main(["team", "delete", "not-a-team"])
    assert "not a Slack team id" in capsys.readouterr().err
    assert main(["team", "delete", OURS]) == 1  # no terminal to confirm at, no --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["team", "delete", OURS, "--yes"]) == 0
    assert "no data of team T0ERASEME" in capsys.readouterr().out
