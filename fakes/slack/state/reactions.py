"""Reactions on messages, with Slack's name rules and (approximate) limits."""

from __future__ import annotations

import re

from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.messages import Messages
from fakes.slack.state.records import Message, SlackError

MAX_REACTIONS_PER_USER = 23  # per message; approximation of Slack's limit
MAX_DISTINCT_EMOJI = 50  # per message; approximation of Slack's limit
REACTION_NAME = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")


class Reactions:
    def __init__(self, messages: Messages, feed: ChangeFeed) -> None:
        self.messages = messages
        self.feed = feed

    def add_reaction(self, channel_id: str, ts: str | None, name: str | None, user: str) -> Message:
        message = self.messages.get_message(channel_id, ts)
        if not name or not REACTION_NAME.match(name):
            raise SlackError("invalid_name")
        users = message.reactions.get(name, [])
        if user in users:
            raise SlackError("already_reacted")
        if name not in message.reactions and len(message.reactions) >= MAX_DISTINCT_EMOJI:
            raise SlackError("too_many_emoji")
        if sum(user in u for u in message.reactions.values()) >= MAX_REACTIONS_PER_USER:
            raise SlackError("too_many_reactions")
        message.reactions.setdefault(name, []).append(user)
        self._changed("reaction_added", message, name, user)
        return message

    def remove_reaction(self, channel_id: str, ts: str | None, name: str | None, user: str) -> Message:
        message = self.messages.get_message(channel_id, ts)
        if not name or not REACTION_NAME.match(name):
            raise SlackError("invalid_name")
        users = message.reactions.get(name, [])
        if user not in users:
            raise SlackError("no_reaction")
        users.remove(user)
        if not users:
            del message.reactions[name]
        self._changed("reaction_removed", message, name, user)
        return message

    def _changed(self, kind: str, message: Message, name: str, user: str) -> None:
        self.feed.changed(
            kind, channel=message.channel, ts=message.ts, thread_ts=message.thread_ts, name=name, user=user
        )
