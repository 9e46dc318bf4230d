"""No secret in the logs, even at DEBUG for every library: the Slack bot token, the signing secret and the
provider's API key never appear in a log record, whatever path the bot takes (a whole draft over the wire,
a provider outage and a rejected key, a Slack API error), nor in the settings' repr; in the text format and
in ``DRAFTBOT_LOG_FORMAT=json``'s lines alike."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import blocks, logs
from bot.config import Settings
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from fakes.slack import DEFAULT_BOT_TOKEN
from tests.slack_harness import ALICE, BOB, CHANNEL, DAVE, SECRET, Wire, running_bot, shown_tally, wait_for

LIBRARIES = ("slack_bolt", "slack_sdk", "httpx", "httpcore", "sqlalchemy", "aiosqlite", "uvicorn", "aiohttp")
WRONG_KEY = "sk-wrong-draftbot-0b1c2d3e4f5a6978"


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG: what someone running `draftbot -v` would see, and more."""
    caplog.set_level(logging.DEBUG)
    for name in (*LIBRARIES, "bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


@pytest.fixture
def json_lines(everything: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The same records, as draftbot's JSON handler writes them (bot.logs)."""
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The captured text, plus each record's raw message, arguments and exception, in case a formatter
    would hide something a different handler shows."""
    parts = [caplog.text]
    for record in caplog.records:
        parts += [str(record.msg), repr(record.args), record.exc_text or "", record.getMessage()]
    return "\n".join(parts)


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret[:6]}… appears in the logs"


async def draft_to_final(wire: Wire, text: str) -> int:
    await wire.command(ALICE, text)
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    variants = await wait_for(lambda: (v := wire.images(draft_id)) and len(v) == 2 and v, what="2 variants")
    await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting to open")
    await wire.react(BOB, variants[2])
    await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="the vote")
    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    review = await wait_for(lambda: wire.images(draft_id, "2K").get(2), what="the 2K review")
    await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
    await wait_for(lambda: wire.images(draft_id, "4K").get(2), what="the 4K final")
    return draft_id


async def test_a_whole_draft_on_openai_logs_no_secret(
    tmp_path: Path, everything: pytest.LogCaptureFixture, json_lines: io.StringIO
) -> None:
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        settings = {"openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        async with running_bot(tmp_path / "data", provider="openai", **settings) as wire:
            # Error paths, each logged with its reason: a provider outage (the job retries), a Slack 500
            # (slack_sdk retries) and a Slack API error (the job retries).
            api.fail_next(503, message="The server is overloaded.")
            wire.fake.faults.add("chat.update", status=500)
            wire.fake.faults.add("files.getUploadURLExternal", error="internal_error")
            draft_id = await draft_to_final(wire, "a glass teapot, morning light for wide website hero --n 2")
            await wire.press(BOB, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))  # refused, answered
            await wire.fake.drain()
            settings_text = f"{wire.runtime.settings!r} {wire.runtime.settings}"
    text = logged(everything)
    # The loop and its error paths really were logged, requests and all: the check below means something.
    for seen in ("overloaded", "internal_error", "status: 500", "'Authorization': '(redacted)'"):
        assert seen in text, seen
    assert {"slack_sdk", "slack_bolt", "httpx", "sqlalchemy"} <= {
        r.name.split(".")[0] for r in everything.records
    }
    secrets = (DEFAULT_BOT_TOKEN, SECRET, api.api_key)
    assert_no_secret(text, *secrets)
    assert_no_secret(settings_text, *secrets)
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert len(lines) >= len(everything.records)  # one object a line, for every record (and setup's)
    assert any("overloaded" in line["message"] for line in lines)
    assert_no_secret(json_lines.getvalue(), *secrets)


async def test_a_rejected_provider_key_is_not_logged(
    tmp_path: Path, everything: pytest.LogCaptureFixture
) -> None:
    """OpenAI's 401 quotes the key it got, masked; the bot's logs carry no more than that."""
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        settings = {"openai_api_key": WRONG_KEY, "openai_base_url": f"{url}/v1", "job_max_attempts": 2}
        async with running_bot(tmp_path / "data", provider="openai", **settings) as wire:
            await wire.command(ALICE, "a red kite over dunes for feed post --n 1")
            parent = await wait_for(lambda: wire.parents()[0], what="the parent")
            await wait_for(
                lambda: any("could not be made" in m.text for m in wire.fake.thread(CHANNEL, parent.ts)),
                what="the failure in the thread",
            )
            posted = json.dumps(wire.fake.state.snapshot(), default=str)
    text = logged(everything)
    assert "invalid_api_key" in text or "Incorrect API key" in text or "401" in text
    assert_no_secret(text, WRONG_KEY, DEFAULT_BOT_TOKEN, SECRET)
    assert_no_secret(posted, WRONG_KEY)


def test_the_settings_repr_hides_the_database_password() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url="postgresql+asyncpg://draftbot:hunter2-pw@db.internal/draftbot"
    )
    assert "hunter2-pw" not in f"{settings!r} {settings}"
    assert settings.resolved_database_url.endswith("hunter2-pw@db.internal/draftbot")  # still usable
