"""Messages and threads: post, update, delete (tombstones), replies, history; the message's Web API shape."""

from __future__ import annotations

import copy
from typing import Any

from fakes.slack.state.blocks import MAX_MESSAGE_BLOCKS, validate_blocks, with_block_ids
from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.directory import Directory
from fakes.slack.state.files import Files
from fakes.slack.state.records import JSON, Message, SlackError

MAX_TEXT_CHARS = 40_000


class Messages:
    def __init__(self, directory: Directory, feed: ChangeFeed, files: Files) -> None:
        self.directory = directory
        self.feed = feed
        self.files = files
        self.by_channel: dict[str, dict[str, Message]] = {}  # channel -> ts -> message, oldest first
        self.reply_ts: dict[tuple[str, str], list[str]] = {}  # (channel, parent ts) -> reply ts, oldest first

    # validation

    def validate_blocks(
        self, blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, root: str = "/blocks"
    ) -> None:
        validate_blocks(blocks, self.files.resolve_slack_file, max_blocks=max_blocks, root=root)

    def check_content(self, text: str | None, blocks: Any, attachments: Any) -> None:
        """What chat.postMessage refuses: nothing to show, too long a text, invalid blocks."""
        if not text and blocks is None and not attachments:
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None:
            self.validate_blocks(blocks)

    # reading

    def channel_messages(self, channel_id: str) -> dict[str, Message]:
        self.directory.get_channel(channel_id)
        return self.by_channel.setdefault(channel_id, {})

    def get_message(self, channel_id: str, ts: str | None) -> Message:
        messages = self.channel_messages(channel_id)
        if ts is None or ts not in messages:
            raise SlackError("message_not_found")
        return messages[ts]

    def thread_root(self, channel_id: str, ts: str | None) -> Message:
        """The parent of the thread ``ts`` belongs to (``ts`` may be the parent or a reply)."""
        messages = self.channel_messages(channel_id)
        if ts is None or ts not in messages:
            raise SlackError("thread_not_found")
        message = messages[ts]
        if message.thread_ts is not None:
            return messages[message.thread_ts]
        return message

    def replies(self, channel_id: str, parent_ts: str) -> list[Message]:
        messages = self.channel_messages(channel_id)
        return [messages[ts] for ts in self.reply_ts.get((channel_id, parent_ts), [])]

    def thread(self, channel_id: str, ts: str | None) -> list[Message]:
        """[parent, *replies] oldest first; ``thread_not_found`` for an unknown ts."""
        parent = self.thread_root(channel_id, ts)
        return [parent, *self.replies(channel_id, parent.ts)]

    def history(self, channel_id: str) -> list[Message]:
        """Top-level messages and broadcast replies, oldest first."""
        return [m for m in self.channel_messages(channel_id).values() if not m.is_reply or m.reply_broadcast]

    # writing

    def post_message(
        self,
        channel_id: str,
        *,
        user: str,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        metadata: JSON | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        files: list[str] | None = None,
        upload: bool = False,
    ) -> Message:
        """Post as ``user`` (the bot's messages get its bot_id). Validates like chat.postMessage."""
        channel = self.directory.get_channel(channel_id)
        if not files:
            self.check_content(text, blocks, attachments)
        elif blocks is not None:
            self.validate_blocks(blocks)
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        parent: Message | None = None
        if thread_ts is not None:
            parent = self.thread_root(channel.id, thread_ts)
        author = self.directory.users.get(user)
        message = Message(
            channel=channel.id,
            ts=self.directory.next_ts(),
            text=text or "",
            user=user,
            bot_id=author.bot_id if author else None,
            app_id=author.app_id if author else None,
            thread_ts=parent.ts if parent else None,
            blocks=with_block_ids(blocks),
            attachments=copy.deepcopy(attachments) if attachments else None,
            metadata=copy.deepcopy(metadata) if metadata else None,
            files=list(files or []),
            reply_broadcast=bool(parent and reply_broadcast),
            upload=upload,
        )
        self.channel_messages(channel.id)[message.ts] = message
        if parent is not None:
            self.reply_ts.setdefault((channel.id, parent.ts), []).append(message.ts)
        self.feed.changed("message_posted", channel=channel.id, ts=message.ts, thread_ts=message.thread_ts)
        return message

    def update_message(
        self,
        channel_id: str,
        ts: str | None,
        *,
        by_user: str,
        text: str | None = None,
        blocks: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        metadata: JSON | None = None,
    ) -> Message:
        """chat.update semantics: omitted ``blocks``/``metadata`` are kept; ``blocks=[]`` removes them."""
        message = self.get_message(channel_id, ts)
        if message.user != by_user or message.subtype == "tombstone":
            raise SlackError("cant_update_message")
        if text is None and blocks is None and attachments is None:
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None:
            self.validate_blocks(blocks)
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = with_block_ids(blocks) if blocks else None
        if attachments is not None:
            message.attachments = copy.deepcopy(attachments) or None
        if metadata is not None:
            message.metadata = copy.deepcopy(metadata) or None
        message.edited = {"user": by_user, "ts": self.directory.next_ts()}
        self.feed.changed(
            "message_updated", channel=message.channel, ts=message.ts, thread_ts=message.thread_ts
        )
        return message

    def delete_message(self, channel_id: str, ts: str | None, *, by_user: str | None = None) -> None:
        """Delete; a parent that still has replies becomes a tombstone, as in Slack."""
        message = self.get_message(channel_id, ts)
        if by_user is not None and message.user != by_user:
            raise SlackError("cant_delete_message")
        channel = message.channel
        if message.is_reply:
            assert message.thread_ts is not None
            self.reply_ts[(channel, message.thread_ts)].remove(message.ts)
            del self.by_channel[channel][message.ts]
        elif self.reply_ts.get((channel, message.ts)):
            message.subtype = "tombstone"
            message.text = "This message was deleted."
            message.user = "USLACKBOT"
            message.bot_id = message.app_id = None
            message.blocks = message.attachments = message.metadata = None
            message.files = []
            message.reactions = {}
        else:
            self.reply_ts.pop((channel, message.ts), None)
            del self.by_channel[channel][message.ts]
        self.feed.changed("message_deleted", channel=channel, ts=message.ts, thread_ts=message.thread_ts)

    # Web API shape

    def message_json(self, message: Message, *, include_metadata: bool = True) -> JSON:
        directory = self.directory
        data: JSON = {"type": "message"}
        if message.subtype:
            data["subtype"] = message.subtype
        elif message.reply_broadcast:
            data["subtype"] = "thread_broadcast"
        data["text"] = message.text
        if message.user:
            data["user"] = message.user
        if message.bot_id:
            data["bot_id"] = message.bot_id
            data["app_id"] = message.app_id
            data["bot_profile"] = directory.bot_profile()
        data["ts"] = message.ts
        data["team"] = directory.team.id
        if message.blocks is not None:
            data["blocks"] = copy.deepcopy(message.blocks)
        if message.attachments:
            data["attachments"] = copy.deepcopy(message.attachments)
        if message.files:
            known = self.files.files
            data["files"] = [
                {"id": f, "mode": "tombstone"} if known[f].deleted else self.files.file_json(known[f])
                for f in message.files
                if f in known
            ]
            data["upload"] = message.upload
            data["display_as_bot"] = False
        if message.is_reply:
            data["thread_ts"] = message.thread_ts
            parent = self.by_channel[message.channel].get(message.thread_ts or "")
            if parent is not None and parent.user:
                data["parent_user_id"] = parent.user
        else:
            replies = self.replies(message.channel, message.ts)
            if replies:
                reply_users = list(dict.fromkeys(r.user for r in replies if r.user))
                data.update(
                    thread_ts=message.ts,
                    reply_count=len(replies),
                    reply_users_count=len(reply_users),
                    latest_reply=replies[-1].ts,
                    reply_users=reply_users,
                    is_locked=False,
                    subscribed=False,
                )
        if message.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in message.reactions.items()
            ]
        if message.edited:
            data["edited"] = dict(message.edited)
        if include_metadata and message.metadata:
            data["metadata"] = copy.deepcopy(message.metadata)
        return data
