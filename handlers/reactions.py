"""Emoji reactions: the vote emoji on a 1K variant votes; the approve emoji on the 2K review approves.

Bolt drops the bot's own reactions before they get here (IgnoringSelfEvents); the workflow ignores
them again. Each event is processed once, by its ``event_id``, even when Slack delivers it again.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.drafts import ReactionEvent, Reactions
from handlers.shared import slack_id

REACTION_ADDED, REACTION_REMOVED = "reaction_added", "reaction_removed"
EVENTS = (REACTION_ADDED, REACTION_REMOVED)  # what manifest.yml subscribes to (tests/wire/test_manifest.py)

# Slack's message ts and event_ts, e.g. "1360782804.083113". Votes are ordered by event_ts, so anything
# else (garbage, "1e999") is treated as unknown rather than compared.
_SLACK_TS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


def register(app: AsyncApp, reactions: Reactions) -> None:
    @app.event(REACTION_ADDED)
    async def reaction_added(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if reaction := _target(event, body, context):
            await reactions.reaction_added(reaction, bot_user=context.bot_user_id)

    @app.event(REACTION_REMOVED)
    async def reaction_removed(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if reaction := _target(event, body, context):
            await reactions.reaction_removed(reaction, bot_user=context.bot_user_id)


def _target(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> ReactionEvent | None:
    """The reaction, or None when it isn't on a message or a field is missing or malformed."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None  # reactions on files and file comments are not votes
    team_id = slack_id(context.team_id) or slack_id(body.get("team_id"))
    channel = slack_id(item.get("channel"))
    ts = _timestamp(item.get("ts"))
    user = slack_id(event.get("user"))
    emoji = event.get("reaction")
    if not (team_id and channel and ts and user and isinstance(emoji, str) and emoji):
        return None
    event_id = slack_id(body.get("event_id"))
    return ReactionEvent(
        team_id=team_id,
        channel=channel,
        ts=ts,
        user=user,
        emoji=emoji,
        dedupe_key=f"event:{event_id}" if event_id else None,
        event_ts=_timestamp(event.get("event_ts")),
        on_own_message=bool(context.bot_user_id) and event.get("item_user") == context.bot_user_id,
    )


def _timestamp(value: object) -> str | None:
    return value if isinstance(value, str) and _SLACK_TS.fullmatch(value) else None
