"""Slack waits 3 s for a slash command's acknowledgement. When storing the draft takes longer (a database
slow under load), the bot acknowledges in time with a holding answer, and the draft is still made; the
confirmation, or the failure, reaches the person privately through the command's response URL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from handlers.commands import STILL_DRAFTING
from handlers.shared import NOTHING_DRAFTED
from tests.slack_harness import ALICE, running_bot, wait_for


def slowed(intake: Any, monkeypatch: pytest.MonkeyPatch, *, seconds: float, fail: bool = False) -> None:
    create = intake.create_draft

    async def slow_create(**kwargs: Any) -> int:
        await asyncio.sleep(seconds)
        if fail:
            raise ConnectionResetError("the database went away")
        return int(await create(**kwargs))

    monkeypatch.setattr(intake, "create_draft", slow_create)


async def test_a_slow_draft_is_acknowledged_in_time_and_confirmed_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path / "data") as wire:
        slowed(wire.runtime.drafts.intake, monkeypatch, seconds=3.5)
        started = time.monotonic()
        answer = await wire.command(ALICE, "a lighthouse at dusk for feed post --n 2")
        assert time.monotonic() - started < 3.0  # within Slack's deadline
        assert answer.status_code == 200 and STILL_DRAFTING.split("…")[0] in answer.text
        confirmed = await wait_for(
            lambda: next(
                (c for c in wire.fake.calls_for("response_url") if "draft #1" in str(c.get("text"))), None
            ),
            what="the confirmation through the response URL",
        )
        assert confirmed.get("response_type") == "ephemeral"
        await wait_for(lambda: len(wire.images(1)) == 2 or None, what="the variants")


async def test_a_slow_draft_that_fails_says_so_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path / "data") as wire:
        slowed(wire.runtime.drafts.intake, monkeypatch, seconds=3.0, fail=True)
        answer = await wire.command(ALICE, "a lighthouse at dusk for feed post --n 2")
        assert STILL_DRAFTING.split("…")[0] in answer.text
        await wait_for(
            lambda: (
                any(c.get("text") == NOTHING_DRAFTED for c in wire.fake.calls_for("response_url")) or None
            ),
            what="the failure through the response URL",
        )
        assert not wire.parents()
