"""What every listener needs: payload fields read defensively, and an acknowledgement made exactly once.

Slack payloads are untrusted input: any field may be missing, of another type, or hold text nothing
downstream can store. These helpers turn them into plain values or None, so a listener never raises on
a payload's shape.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

log = logging.getLogger(__name__)

Answer = Callable[..., Awaitable[None]]

NOTHING_DRAFTED = "Something went wrong on our side and nothing was drafted. Please try again in a moment."
NOTHING_CHANGED = "Something went wrong on our side and nothing changed. Please try again in a moment."

# NULs, other C0 controls (tab and newlines are kept) and lone surrogates: meaningless in a prompt, and
# refused by PostgreSQL, by UTF-8 encoders and by JSON consumers downstream.
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SLACK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def clean_text(value: object) -> str:
    """Typed text from a payload; anything that is not a string is no text at all. Emoji, RTL marks and
    zero-width characters stay as typed; only characters nothing downstream can store are dropped."""
    return _UNUSABLE.sub("", value) if isinstance(value, str) else ""


def slack_id(value: object) -> str | None:
    """A team, user or channel id from a payload, or None when the field is missing or malformed."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else None


def as_dict(value: object) -> dict[str, Any]:
    """A payload object, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}


# Slack waits 3 s for an acknowledgement, then tells the person the command failed. A listener with a
# ``late`` answer that has not answered by then acknowledges with it, and says the rest privately later.
ACK_DEADLINE_S = 2.5


async def acknowledge_once(
    ack: AsyncAck,
    work: Callable[[Answer], Awaitable[None]],
    *,
    what: str,
    on_failure: dict[str, Any],
    late: tuple[AsyncRespond, dict[str, Any]] | None = None,
) -> None:
    """Run ``work`` with an ``answer`` that acknowledges the request. If ``work`` fails before it has
    answered, Slack still gets ``on_failure`` (and the trace is logged); after it has answered, the failure
    is only logged, because a request is acknowledged once.

    With ``late`` (the request's ``respond`` and a holding answer): when ``work`` has not answered within
    :data:`ACK_DEADLINE_S` (a database slow under load), the holding answer acknowledges, ``work`` goes on,
    and what it answers then (or ``on_failure``) reaches the person privately through the response URL."""
    answered = held = False

    async def answer(**kwargs: Any) -> None:
        nonlocal answered
        answered = True
        if held and late is not None:
            await late[0](response_type="ephemeral", replace_original=False, **kwargs)
        else:
            await ack(**kwargs)

    task = asyncio.ensure_future(work(answer))
    if late is not None:
        await asyncio.wait({task}, timeout=ACK_DEADLINE_S)
        if not task.done() and not answered:
            held = True  # before the await: an answer from now on goes through the response URL
            await ack(**late[1])
    try:
        await task
    except Exception:  # a bug or an outage: the person still hears back
        log.exception("the %s listener failed", what)
        if not answered:
            await answer(**on_failure)
