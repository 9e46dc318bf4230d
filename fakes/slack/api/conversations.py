"""``conversations.history`` and ``conversations.replies``: reading a channel or a thread, with cursors."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.state import JSON, Message, SlackError, ts_micros

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Cursor -> ts in microseconds; SlackError("invalid_cursor") when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError as exc:
        raise SlackError("invalid_cursor") from exc
    prefix, _, digits = raw.partition(":")
    if prefix != "next_ts" or not digits.isdigit():
        raise SlackError("invalid_cursor")
    return int(digits)


def _page(messages: list[Message], p: Params, *, newest_first: bool) -> tuple[list[Message], bool, str]:
    limit = p.number("limit", 100)
    limit = 100 if limit <= 0 else min(limit, 999)
    start = 0
    cursor = p.ref("cursor")
    if cursor:
        mark = decode_cursor(cursor)
        start = next(
            (
                i
                for i, m in enumerate(messages)
                if (ts_micros(m.ts) <= mark if newest_first else ts_micros(m.ts) >= mark)
            ),
            len(messages),
        )
    page = messages[start : start + limit]
    has_more = start + limit < len(messages)
    return page, has_more, encode_cursor(messages[start + limit].ts) if has_more else ""


def _ts_bounds(p: Params) -> tuple[int, int, bool]:
    try:
        oldest = ts_micros(p.ref("oldest") or "0")
        latest_ref = p.ref("latest")
        latest = ts_micros(latest_ref) if latest_ref else 2**63
    except ValueError:
        raise SlackError("invalid_ts_oldest") from None
    return oldest, latest, p.flag("inclusive")


async def history(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    oldest, latest, inclusive = _ts_bounds(p)
    messages = [
        m
        for m in reversed(state.history(channel.id))
        if (oldest <= ts_micros(m.ts) <= latest if inclusive else oldest < ts_micros(m.ts) < latest)
    ]
    page, has_more, next_cursor = _page(messages, p, newest_first=True)
    metadata = p.flag("include_all_metadata")
    return {
        "messages": [state.message_json(m, include_metadata=metadata) for m in page],
        "has_more": has_more,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


async def replies(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    messages = state.thread(channel.id, p.ref("ts"))
    page, has_more, next_cursor = _page(messages, p, newest_first=False)
    metadata = p.flag("include_all_metadata")
    return {
        "messages": [state.message_json(m, include_metadata=metadata) for m in page],
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }


METHODS: dict[str, Method] = {"conversations.history": history, "conversations.replies": replies}
