"""Simulated people: what a person does in the Slack client, delivered to the app as Slack would.

Used by tests and by the playground page: post a message, add or remove a reaction. Each changes the
workspace first, then delivers the event (if the app subscribed to it) through the fake's signed
delivery, and returns what the app answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from fakes.slack.state import JSON, Channel, Message, Workspace

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


def channel_type(channel: Channel) -> str:
    return "im" if channel.is_im else "group" if channel.is_private else "channel"


def reaction_event(state: Workspace, kind: str, user_id: str, message: Message, name: str) -> JSON:
    """The ``reaction_added``/``reaction_removed`` event of ``user_id``'s reaction ``name`` on ``message``."""
    event: JSON = {
        "type": kind,
        "user": user_id,
        "reaction": name,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "event_ts": state.next_ts(),
    }
    if message.user:
        event["item_user"] = message.user
    return event


class People:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    async def post_message(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        state = self.fake.state
        message = state.post_message(channel_id, user=user_id, text=text, thread_ts=thread_ts)
        event: JSON = {
            "type": "message",
            "channel": message.channel,
            "user": user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": channel_type(state.get_channel(message.channel)),
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        await self.fake.deliver(event)
        return message

    async def add_reaction(self, user_id: str, channel_id: str, ts: str, name: str) -> httpx.Response | None:
        """Add the reaction and deliver ``reaction_added``; the app's response, None if not delivered."""
        state = self.fake.state
        message = state.add_reaction(channel_id, ts, name, user_id)
        return await self.fake.deliver(reaction_event(state, "reaction_added", user_id, message, name))

    async def remove_reaction(
        self, user_id: str, channel_id: str, ts: str, name: str
    ) -> httpx.Response | None:
        state = self.fake.state
        message = state.remove_reaction(channel_id, ts, name, user_id)
        return await self.fake.deliver(reaction_event(state, "reaction_removed", user_id, message, name))
