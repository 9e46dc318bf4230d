"""Simulated people: what a person does in the Slack client, delivered to the app as Slack would.

Used by tests and by the playground page: post a message, attach a file to one, add or remove a
reaction. Each changes the workspace first, then delivers the event (if the app subscribed to it)
through the fake's signed delivery, and returns what the app answered.
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

    async def upload_file(
        self,
        user_id: str,
        channel_id: str,
        filename: str,
        data: bytes,
        *,
        text: str = "",
        thread_ts: str | None = None,
        title: str | None = None,
        padding: int = 0,
        reported_size: int | None = None,
    ) -> Message:
        """Attach a file to a message, as a person does in the Slack client: the file is stored, shared
        into the channel by a ``file_share`` message, and that message is delivered as an event.
        ``padding`` and ``reported_size``: see :meth:`fakes.slack.state.files.Files.add_person_file`."""
        state = self.fake.state
        state.get_channel(channel_id)  # channel_not_found before anything is stored
        if thread_ts is not None:
            state.thread_root(channel_id, thread_ts)
        record = state.add_person_file(
            user_id, filename, data, title=title, padding=padding, reported_size=reported_size
        )
        message = state.share_files(
            [record.id], channel_id, user=user_id, thread_ts=thread_ts, initial_comment=text or None
        )
        event: JSON = {
            "type": "message",
            "subtype": "file_share",
            "channel": message.channel,
            "user": user_id,
            "text": message.text,
            "files": [state.file_json(record)],
            "upload": True,
            "display_as_bot": False,
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
