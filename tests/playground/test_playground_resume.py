"""`draftbot playground` keeps its channel across a restart (the workspace file beside the database)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.playground.run import running_playground, workspace_file

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


async def test_the_channel_is_there_after_a_restart(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    async with running_playground(settings, port=0) as playground:
        before = playground.fake.state.post_message(CHANNEL, user=ALICE, text="before the restart")
    assert workspace_file(settings).exists()
    async with running_playground(settings, port=0) as playground:
        state = playground.fake.state
        assert [m.text for m in state.history(CHANNEL)] == ["before the restart"]
        after = state.post_message(CHANNEL, user=ALICE, text="after")
        assert after.ts > before.ts
