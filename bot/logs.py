"""Log lines, as text (the default) or as one JSON object a line (``DRAFTBOT_LOG_FORMAT=json``), and the ids
they carry.

A line says which workspace, draft and job it was about when that is known: the job runner sets them around
each job (:func:`job_context`), the web route sets the team once it has read a request (:func:`set_team`).
They live in context variables, so every task a job or a request starts carries them too.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``team``, ``draft`` and ``job``
where known, and ``exception`` (the traceback's text) when there is one. Nothing else of the record is
added: what a line says is its message, the same words as the text format's, which never hold a secret or,
at INFO and above, a prompt (tests/wire/test_json_logs.py and test_secrets_in_logs.py check both).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_team: ContextVar[str | None] = ContextVar("draftbot_log_team", default=None)
_draft: ContextVar[int | None] = ContextVar("draftbot_log_draft", default=None)
_job: ContextVar[int | None] = ContextVar("draftbot_log_job", default=None)


def set_team(team_id: str | None) -> None:
    """The workspace the rest of this task (a request being handled) is about."""
    _team.set(team_id)


@contextlib.contextmanager
def job_context(*, job: int, team: str | None, draft: int | None) -> Iterator[None]:
    """Lines logged in the block (and in the tasks it starts) name this job, its team and its draft."""
    job_token, team_token, draft_token = _job.set(job), _team.set(team), _draft.set(draft)
    try:
        yield
    finally:
        _job.reset(job_token)
        _team.reset(team_token)
        _draft.reset(draft_token)


def current() -> dict[str, Any]:
    """The ids known here: ``team``, ``draft``, ``job`` (those that are set)."""
    found = {"team": _team.get(), "draft": _draft.get(), "job": _job.get()}
    return {key: value for key, value in found.items() if value is not None}


class ContextFilter(logging.Filter):
    """Puts the ids known where a record is made on the record (``record.draftbot``), for the formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "draftbot"):
            record.draftbot = current()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: see the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "draftbot", None) or current())
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def handler(fmt: Literal["text", "json"], stream: Any = None) -> logging.Handler:
    """A handler writing to ``stream`` (standard error) in ``fmt``, with the ids of :func:`current`."""
    out = logging.StreamHandler(stream)
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    out.addFilter(ContextFilter())
    return out


def configure(fmt: Literal["text", "json"], *, verbose: bool) -> None:
    """The root logger's handler, at INFO (DEBUG with ``verbose``); as :func:`logging.basicConfig`, nothing
    changes when the root logger has a handler already (a test's, say)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler(fmt)])
