"""``DRAFTBOT_LOG_FORMAT=json``: a whole draft over the wire, logged through :mod:`bot.logs`' handler. Every
line is one JSON object with its time, level, logger and message; the lines logged while a job ran name the
job, its draft and its team; nothing at INFO or above holds the prompt, and no line holds a token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import logs
from fakes.slack import DEFAULT_BOT_TOKEN
from tests.slack_harness import SECRET, running_bot
from tests.wire.test_metrics import PROMPT, draft_to_final


@pytest.fixture
def json_logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """What a JSON handler at INFO, and one at DEBUG (draftbot's own loggers only), write meanwhile."""
    info, debug = io.StringIO(), io.StringIO()
    handlers = [logs.handler("json", info), logs.handler("json", debug)]
    handlers[0].setLevel(logging.INFO)
    handlers[1].setLevel(logging.DEBUG)
    handlers[1].addFilter(lambda record: record.name.split(".")[0] in ("bot", "handlers", "storage"))
    root, ours = logging.getLogger(), [logging.getLogger(name) for name in ("bot", "handlers", "storage")]
    levels = [root.level, *(logger.level for logger in ours)]
    root.setLevel(logging.INFO)
    for logger in ours:
        logger.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield info, debug
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        for logger, level in zip([root, *ours], levels, strict=True):
            logger.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = stream.getvalue().splitlines()
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # each line is one object


async def test_a_whole_draft_in_json_lines(
    tmp_path: Path, json_logs: tuple[io.StringIO, io.StringIO]
) -> None:
    info, debug = json_logs
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await draft_to_final(wire)
        team_id = wire.fake.state.team.id
    at_info, at_debug = parsed(info), parsed(debug)
    for line in at_info + at_debug:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
        assert line["time"].endswith("+00:00")
    for line in at_info:
        assert line["level"] in ("INFO", "WARNING", "ERROR", "CRITICAL")
        for word in PROMPT.split():
            if len(word) > 3:
                assert word not in line["message"], line
    job_lines = [line for line in at_debug if "job" in line]
    assert job_lines, "no line named a job"
    ended = [line for line in job_lines if line["logger"] == "bot.jobs.runner" and "ended" in line["message"]]
    assert ended and all(line["draft"] == draft_id and line["team"] == team_id for line in ended)
    assert all(line["message"].startswith(f"job {line['job']} ") for line in ended)
    everything = info.getvalue() + debug.getvalue()
    for secret in (DEFAULT_BOT_TOKEN, SECRET):
        assert secret not in everything


def test_an_exception_and_the_context_in_one_line() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("bot.test_json_logs")
    handler = logs.handler("json", stream)
    logger.addHandler(handler)
    try:
        with logs.job_context(job=7, team="T1", draft=3):
            try:
                raise ValueError("boom")
            except ValueError:
                logger.error("it broke: %s", "badly", exc_info=True)
        logger.error("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "it broke: badly" and inside["level"] == "ERROR"
    assert (inside["job"], inside["team"], inside["draft"]) == (7, "T1", 3)
    assert "ValueError: boom" in inside["exception"] and "Traceback" in inside["exception"]
    assert outside["message"] == "outside" and not {"job", "team", "draft", "exception"} & outside.keys()


def test_text_stays_the_default() -> None:
    stream = io.StringIO()
    handler = logs.handler("text", stream)
    handler.handle(logging.makeLogRecord({"name": "bot.x", "levelname": "INFO", "msg": "hello"}))
    assert stream.getvalue().rstrip().endswith("INFO bot.x: hello")
