"""Emoji reactions: the vote emoji on a 1K variant votes; the approve emoji on the 2K review approves.

Bolt drops the bot's own reactions before they get here (IgnoringSelfEvents); the workflow ignores
them again. Each event is processed once, by its ``event_id``, even when Slack delivers it again.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.runtime import Runtime

EVENTS = ("reaction_added", "reaction_removed")


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.event("reaction_added")
    async def reaction_added(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if target := _target(event, body, context):
            await runtime.drafts.reaction_added(**target, bot_user=context.bot_user_id)

    @app.event("reaction_removed")
    async def reaction_removed(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if target := _target(event, body, context):
            await runtime.drafts.reaction_removed(**target, bot_user=context.bot_user_id)


def _target(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> dict[str, str] | None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None  # reactions on files and file comments are not votes
    values = {
        "team_id": context.team_id or body.get("team_id"),
        "channel": item.get("channel"),
        "ts": item.get("ts"),
        "user": event.get("user"),
        "emoji": event.get("reaction"),
        "dedupe_key": f"event:{body.get('event_id')}" if body.get("event_id") else None,
        "event_ts": event.get("event_ts") if isinstance(event.get("event_ts"), str) else None,
    }
    if not all(
        isinstance(values[key], str) and values[key] for key in ("team_id", "channel", "ts", "user", "emoji")
    ):
        return None
    return {key: str(value) for key, value in values.items() if value is not None}
