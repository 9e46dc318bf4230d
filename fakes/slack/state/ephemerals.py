"""Ephemeral messages (seen by one person) and the response URLs that can post, replace or delete them."""

from __future__ import annotations

import copy
import secrets

from fakes.slack.state.blocks import with_block_ids
from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.directory import Directory
from fakes.slack.state.messages import Messages
from fakes.slack.state.records import JSON, EphemeralMessage, ResponseUrl, SlackError


class Ephemerals:
    def __init__(
        self,
        directory: Directory,
        feed: ChangeFeed,
        messages: Messages,
        *,
        response_url_ttl: float,
        response_url_max_uses: int,
    ) -> None:
        self.directory = directory
        self.feed = feed
        self.messages = messages
        self.response_url_ttl = response_url_ttl
        self.response_url_max_uses = response_url_max_uses
        self.ephemerals: list[EphemeralMessage] = []
        self.response_urls: dict[str, ResponseUrl] = {}  # runtime only: never saved

    def post_ephemeral(
        self,
        channel_id: str,
        user: str,
        *,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        thread_ts: str | None = None,
        source: str = "chat.postEphemeral",
    ) -> EphemeralMessage:
        channel = self.directory.get_channel(channel_id)
        if user not in self.directory.users or not channel.has_member(user):
            raise SlackError("user_not_in_channel")
        self.messages.check_content(text, blocks, attachments)
        ephemeral = EphemeralMessage(
            channel=channel.id,
            user=user,
            ts=self.directory.next_ts(),
            text=text or "",
            blocks=with_block_ids(blocks),
            attachments=copy.deepcopy(attachments) if attachments else None,
            thread_ts=thread_ts,
            bot_id=self.directory.bot.bot_id,
            source=source,
        )
        self.ephemerals.append(ephemeral)
        self.feed.changed(
            "ephemeral_posted", channel=channel.id, ts=ephemeral.ts, user=user, thread_ts=thread_ts
        )
        return ephemeral

    def get_ephemeral(self, ts: str | None) -> EphemeralMessage | None:
        return next((e for e in self.ephemerals if e.ts == ts), None)

    def replace_ephemeral(
        self, ts: str, *, text: str | None, blocks: list[JSON] | None, attachments: list[JSON] | None = None
    ) -> EphemeralMessage:
        ephemeral = self.get_ephemeral(ts)
        if ephemeral is None:
            raise SlackError("message_not_found")
        self.messages.check_content(text, blocks, attachments)
        ephemeral.text = text or ""
        ephemeral.blocks = with_block_ids(blocks)
        ephemeral.attachments = copy.deepcopy(attachments) if attachments else None
        self.feed.changed("ephemeral_updated", channel=ephemeral.channel, ts=ts, user=ephemeral.user)
        return ephemeral

    def delete_ephemeral(self, ts: str) -> None:
        ephemeral = self.get_ephemeral(ts)
        if ephemeral is None:
            raise SlackError("message_not_found")
        self.ephemerals.remove(ephemeral)
        self.feed.changed("ephemeral_deleted", channel=ephemeral.channel, ts=ts, user=ephemeral.user)

    def ephemerals_for(self, user: str, channel_id: str | None = None) -> list[EphemeralMessage]:
        return [
            e for e in self.ephemerals if e.user == user and (channel_id is None or e.channel == channel_id)
        ]

    def ephemeral_json(self, ephemeral: EphemeralMessage) -> JSON:
        data: JSON = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ephemeral.ts,
            "channel": ephemeral.channel,
            "user": ephemeral.user,
            "bot_id": ephemeral.bot_id,
            "text": ephemeral.text,
            "is_ephemeral": True,
            "source": ephemeral.source,
        }
        if ephemeral.blocks is not None:
            data["blocks"] = copy.deepcopy(ephemeral.blocks)
        if ephemeral.attachments:
            data["attachments"] = copy.deepcopy(ephemeral.attachments)
        if ephemeral.thread_ts:
            data["thread_ts"] = ephemeral.thread_ts
        return data

    # response URLs

    def issue_response_url(
        self, user_id: str, channel_id: str, *, message_ts: str | None = None, thread_ts: str | None = None
    ) -> ResponseUrl:
        record = ResponseUrl(
            token=secrets.token_urlsafe(18),
            user_id=user_id,
            channel_id=channel_id,
            issued_at=self.directory.clock(),
            message_ts=message_ts,
            thread_ts=thread_ts,
        )
        self.response_urls[record.token] = record
        return record

    def response_url(self, record: ResponseUrl) -> str:
        return f"{self.directory.origin}/response/{record.token}"

    def use_response_url(self, token: str) -> ResponseUrl:
        """Count one use; SlackError("invalid_url" | "expired_url" | "used_url") when it can't be used."""
        record = self.response_urls.get(token)
        if record is None:
            raise SlackError("invalid_url")
        if self.directory.clock() - record.issued_at > self.response_url_ttl:
            raise SlackError("expired_url")
        if record.uses >= self.response_url_max_uses:
            raise SlackError("used_url")
        record.uses += 1
        return record
