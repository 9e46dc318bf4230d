"""The whole fake workspace: one object composed of a part per family, with one public face.

Each family owns its records and rules (:mod:`.directory`, :mod:`.messages`, :mod:`.reactions`,
:mod:`.files`, :mod:`.views`, :mod:`.ephemerals`) and reports every mutation to the :mod:`.changes` feed.
:class:`Workspace` wires them together, offers their operations under one name (``state.post_message``,
``state.open_view``...), does what spans families (sharing files into a message, the page's snapshot),
and saves and loads itself (:mod:`.saved`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fakes.slack.state import saved
from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.directory import Directory
from fakes.slack.state.ephemerals import Ephemerals
from fakes.slack.state.files import Files
from fakes.slack.state.messages import Messages
from fakes.slack.state.reactions import Reactions
from fakes.slack.state.records import (
    JSON,
    Change,
    Channel,
    Clock,
    EphemeralMessage,
    FileRecord,
    Message,
    ResponseUrl,
    Team,
    Trigger,
    User,
    UserGroup,
    ViewRecord,
)
from fakes.slack.state.views import Views


class Workspace:
    """Team, users, channels, messages, files, views, ephemerals, and a change log. No HTTP here."""

    def __init__(
        self,
        *,
        team: Team | None = None,
        bot_user_id: str = "U0DRAFTBOT",
        bot_id: str = "B0DRAFTBOT",
        bot_name: str = "draftbot",
        app_id: str = "A0DRAFTBOT",
        clock: Clock | None = None,
        default_channel: tuple[str, str] = ("C0GENERAL", "general"),
        default_users: Iterable[tuple[str, str]] = (
            ("U0ALICE", "alice"),
            ("U0BOB", "bob"),
            ("U0CAROL", "carol"),
        ),
        origin: str = "http://fake-slack.invalid",
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 1800.0,
        response_url_max_uses: int = 5,
        max_changes: int = 10_000,
    ) -> None:
        self.feed = ChangeFeed(max_changes)
        self.directory = Directory(
            self.feed,
            team=team,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
            clock=clock,
            default_channel=default_channel,
            default_users=default_users,
            origin=origin,
        )
        self.file_store = Files(self.directory, self.feed)
        self.message_store = Messages(self.directory, self.feed, self.file_store)
        self.reaction_store = Reactions(self.message_store, self.feed)
        self.view_store = Views(self.directory, self.feed, self.file_store, trigger_ttl=trigger_ttl)
        self.ephemeral_store = Ephemerals(
            self.directory,
            self.feed,
            self.message_store,
            response_url_ttl=response_url_ttl,
            response_url_max_uses=response_url_max_uses,
        )

        # The families' operations, under the workspace's name.
        feed, directory, files = self.feed, self.directory, self.file_store
        messages, views, ephemerals = self.message_store, self.view_store, self.ephemeral_store
        self.add_listener = feed.add_listener
        self.changes_since = feed.changes_since
        self.wait_for_change = feed.wait_for_change
        self.new_id = directory.new_id
        self.next_ts = directory.next_ts
        self.now = directory.now
        self.add_user = directory.add_user
        self.add_channel = directory.add_channel
        self.get_user = directory.get_user
        self.set_admin = directory.set_admin
        self.add_usergroup = directory.add_usergroup
        self.set_usergroup_members = directory.set_usergroup_members
        self.get_usergroup = directory.get_usergroup
        self.usergroup_json = directory.usergroup_json
        self.get_channel = directory.get_channel
        self.resolve_channel = directory.resolve_channel
        self.open_im = directory.open_im
        self.user_json = directory.user_json
        self.channel_json = directory.channel_json
        self.bot_profile = directory.bot_profile
        self.validate_blocks = messages.validate_blocks
        self.channel_messages = messages.channel_messages
        self.get_message = messages.get_message
        self.thread_root = messages.thread_root
        self.post_message = messages.post_message
        self.update_message = messages.update_message
        self.delete_message = messages.delete_message
        self.replies = messages.replies
        self.thread = messages.thread
        self.history = messages.history
        self.message_json = messages.message_json
        self.add_reaction = self.reaction_store.add_reaction
        self.remove_reaction = self.reaction_store.remove_reaction
        self.post_ephemeral = ephemerals.post_ephemeral
        self.get_ephemeral = ephemerals.get_ephemeral
        self.replace_ephemeral = ephemerals.replace_ephemeral
        self.delete_ephemeral = ephemerals.delete_ephemeral
        self.ephemerals_for = ephemerals.ephemerals_for
        self.ephemeral_json = ephemerals.ephemeral_json
        self.issue_response_url = ephemerals.issue_response_url
        self.response_url = ephemerals.response_url
        self.use_response_url = ephemerals.use_response_url
        self.create_upload = files.create_upload
        self.file_by_upload_token = files.file_by_upload_token
        self.get_file = files.get_file
        self.receive_upload = files.receive_upload
        self.complete_upload = files.complete_upload
        self.mark_scanned = files.mark_scanned
        self.add_person_file = files.add_person_file
        self.delete_file = files.delete_file
        self.file_visible_to = files.visible_to
        self.playground_file_url = files.playground_file_url
        self.file_json = files.file_json
        self.issue_trigger = views.issue_trigger
        self.consume_trigger = views.consume_trigger
        self.validate_view = views.validate_view
        self.open_view = views.open_view
        self.push_view = views.push_view
        self.find_view = views.find_view
        self.update_view = views.update_view
        self.publish_home = views.publish_home
        self.close_view = views.close_view
        self.open_views_for = views.open_views_for
        self.view_json = views.view_json

    # the families' records

    @property
    def team(self) -> Team:
        return self.directory.team

    @property
    def bot(self) -> User:
        return self.directory.bot

    @property
    def app_id(self) -> str:
        return self.directory.app_id

    @property
    def clock(self) -> Clock:
        return self.directory.clock

    @property
    def origin(self) -> str:
        return self.directory.origin

    @origin.setter
    def origin(self, origin: str) -> None:
        self.directory.origin = origin.rstrip("/")

    @property
    def users(self) -> dict[str, User]:
        return self.directory.users

    @property
    def usergroups(self) -> dict[str, UserGroup]:
        return self.directory.usergroups

    @property
    def channels(self) -> dict[str, Channel]:
        return self.directory.channels

    @property
    def files(self) -> dict[str, FileRecord]:
        return self.file_store.files

    @property
    def views(self) -> dict[str, ViewRecord]:
        return self.view_store.views

    @property
    def modal_stacks(self) -> dict[str, list[str]]:
        return self.view_store.modal_stacks

    @property
    def triggers(self) -> dict[str, Trigger]:
        return self.view_store.triggers

    @property
    def ephemerals(self) -> list[EphemeralMessage]:
        return self.ephemeral_store.ephemerals

    @property
    def response_urls(self) -> dict[str, ResponseUrl]:
        return self.ephemeral_store.response_urls

    @property
    def version(self) -> int:
        return self.feed.version

    @property
    def changes(self) -> deque[Change]:
        return self.feed.changes

    # across families

    def share_files(
        self,
        file_ids: list[str],
        channel_id: str,
        *,
        user: str,
        thread_ts: str | None = None,
        initial_comment: str | None = None,
        blocks: list[JSON] | None = None,
    ) -> Message:
        """Post the file-share message and record ``shares`` on each file (what Slack does after the scan)."""
        channel = self.get_channel(channel_id)
        message = self.post_message(
            channel.id,
            user=user,
            text=initial_comment or "",
            blocks=None if initial_comment else blocks,
            thread_ts=thread_ts,
            files=file_ids,
            upload=True,
        )
        self.file_store.record_share(file_ids, channel, message, user=user)
        return message

    def home_json(self, user_id: str | None) -> JSON | None:
        """The person's published Home tab (views.publish), for the page's Home."""
        home = next((v for v in self.views.values() if v.type == "home" and v.user_id == user_id), None)
        return {**self.view_json(home), "user_id": user_id} if home and user_id else None

    def snapshot(self, *, user_id: str | None = None, since: int = 0) -> JSON:
        """Everything a channel page needs, plus the changes after ``since``."""
        changes, truncated = self.changes_since(since)
        messages: dict[str, list[JSON]] = {}
        threads: dict[str, dict[str, list[JSON]]] = {}
        store = self.message_store
        for channel_id in self.channels:
            messages[channel_id] = [self.message_json(m) for m in self.history(channel_id)]
            threads[channel_id] = {
                parent: [self.message_json(store.by_channel[channel_id][ts]) for ts in reply_ts]
                for (cid, parent), reply_ts in store.reply_ts.items()
                if cid == channel_id and reply_ts
            }
        ephemerals = self.ephemerals if user_id is None else self.ephemerals_for(user_id)
        views = (
            [v for v in self.views.values() if not v.closed and v.type == "modal"]
            if user_id is None
            else self.open_views_for(user_id)
        )
        return {
            "ok": True,
            "version": self.version,
            "team": {"id": self.team.id, "name": self.team.name, "domain": self.team.domain},
            "bot": {
                "user_id": self.bot.id,
                "bot_id": self.bot.bot_id,
                "app_id": self.app_id,
                "name": self.bot.name,
            },
            "users": [self.user_json(u) for u in self.users.values()],
            "channels": [self.channel_json(c) for c in self.channels.values()],
            "messages": messages,
            "threads": threads,
            "ephemerals": [self.ephemeral_json(e) for e in ephemerals],
            "files": [
                {**self.file_json(f), "playground_url": self.playground_file_url(f)}
                for f in self.files.values()
                if f.completed and not f.deleted
            ],
            "views": [{**self.view_json(v), "user_id": v.user_id} for v in views],
            "home": self.home_json(user_id),
            "changes": [c.to_json() for c in changes],
            "changes_truncated": truncated,
        }

    # on disk

    def save(self, path: Path) -> None:
        """Write the workspace to ``path`` atomically (format: :mod:`fakes.slack.state.saved`)."""
        self.capture()(path)

    def capture(self) -> Callable[[Path], None]:
        """The workspace as it is now, as a ``write(path)`` that may run in a thread."""
        return saved.capture(self)

    @classmethod
    def load(cls, path: Path, **settings: Any) -> Workspace | None:
        """The workspace saved at ``path`` (made with ``settings``), or None: no file, or an unusable one."""
        return saved.load(path, cls(**settings))
