"""Who and where: the team, its users (the bot among them), its channels, ids and the clock.

Also the Web API shapes of users and channels (``users.info``-like ``user_json``, ``channel_json``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.records import (
    JSON,
    Channel,
    Clock,
    SlackError,
    Team,
    User,
    UserGroup,
    format_ts,
)


class Directory:
    def __init__(
        self,
        feed: ChangeFeed,
        *,
        team: Team | None,
        bot_user_id: str,
        bot_id: str,
        bot_name: str,
        app_id: str,
        clock: Clock | None,
        default_channel: tuple[str, str],
        default_users: Iterable[tuple[str, str]],
        origin: str,
    ) -> None:
        self.feed = feed
        self.team = team or Team()
        self.clock: Clock = clock or time.time
        self.origin = origin.rstrip("/")
        self.app_id = app_id
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, UserGroup] = {}
        self.counters: dict[str, int] = {}
        self.last_ts = 0
        self.bot = User(
            id=bot_user_id, name=bot_name, real_name=bot_name, is_bot=True, bot_id=bot_id, app_id=app_id
        )
        self.users[self.bot.id] = self.bot
        for user_id, name in default_users:
            self.users[user_id] = User(id=user_id, name=name, real_name=name.title(), display_name=name)
        self.channels[default_channel[0]] = Channel(
            id=default_channel[0], name=default_channel[1], created=int(self.clock())
        )

    # ids and time

    def new_id(self, prefix: str, width: int = 10) -> str:
        """Deterministic Slack-looking ids: ``F000000001``, ``V000000002``..."""
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{n:0{width - len(prefix)}d}"

    def next_ts(self) -> str:
        """A fresh ts, strictly greater than every ts handed out before."""
        micros = max(int(self.clock() * 1_000_000), self.last_ts + 1)
        self.last_ts = micros
        return format_ts(micros)

    def now(self) -> float:
        return self.clock()

    # users and channels

    def add_user(self, user_id: str, name: str, *, real_name: str = "", is_bot: bool = False) -> User:
        user = User(
            id=user_id, name=name, real_name=real_name or name.title(), display_name=name, is_bot=is_bot
        )
        self.users[user_id] = user
        self.feed.changed("user_added", user=user_id)
        return user

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, members: Iterable[str] | None = None
    ) -> Channel:
        """Add a channel. ``members=None`` means everyone; otherwise list the bot too if it should be in."""
        channel = Channel(
            id=channel_id,
            name=name.lstrip("#"),
            is_private=is_private,
            members=set(members) if members is not None else None,
            created=int(self.clock()),
        )
        self.channels[channel_id] = channel
        self.feed.changed("channel_added", channel=channel_id)
        return channel

    def set_admin(self, user_id: str, *, admin: bool = True, owner: bool = False) -> User:
        """Make ``user_id`` a workspace admin (or owner), or take it back."""
        user = self.get_user(user_id)
        user.is_admin, user.is_owner = admin, owner
        self.feed.changed("user_changed", user=user_id)
        return user

    def add_usergroup(self, handle: str, members: Iterable[str], *, name: str = "") -> UserGroup:
        group = UserGroup(
            id=self.new_id("S"),
            handle=handle.lstrip("@"),
            name=name or handle.lstrip("@"),
            users=list(members),
        )
        self.usergroups[group.id] = group
        self.feed.changed("usergroup_added", usergroup=group.id)
        return group

    def set_usergroup_members(self, group_id: str, members: Iterable[str]) -> UserGroup:
        """What an admin does in Slack's user group settings: the group now has exactly ``members``."""
        group = self.get_usergroup(group_id)
        group.users = list(members)
        self.feed.changed("usergroup_changed", usergroup=group_id)
        return group

    def get_usergroup(self, group_id: str) -> UserGroup:
        try:
            return self.usergroups[group_id]
        except KeyError:
            raise SlackError("no_such_subteam") from None

    def usergroup_json(self, group: UserGroup, *, include_users: bool = False) -> JSON:
        shape: JSON = {
            "id": group.id,
            "team_id": self.team.id,
            "is_usergroup": True,
            "name": group.name,
            "handle": group.handle,
            "description": "",
            "date_delete": 0,
            "user_count": len(group.users),
        }
        if include_users:
            shape["users"] = list(group.users)
        return shape

    def get_user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise SlackError("user_not_found") from None

    def get_channel(self, channel_id: str) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise SlackError("channel_not_found") from None

    def resolve_channel(self, ref: str | None) -> Channel:
        """A channel id, ``#name``/``name``, or a user id (opens the IM), as chat.postMessage accepts."""
        if not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users and ref != self.bot.id:
            return self.open_im(ref)
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise SlackError("channel_not_found")

    def open_im(self, user_id: str) -> Channel:
        self.get_user(user_id)
        for channel in self.channels.values():
            if channel.is_im and channel.members == {user_id, self.bot.id}:
                return channel
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_private=True,
            is_im=True,
            members={user_id, self.bot.id},
            created=int(self.clock()),
        )
        self.channels[channel.id] = channel
        self.feed.changed("channel_added", channel=channel.id)
        return channel

    # Web API shapes

    def user_json(self, user: User) -> JSON:
        profile: JSON = {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "team": self.team.id,
        }
        if user.bot_id:
            profile["bot_id"] = user.bot_id
            profile["api_app_id"] = user.app_id
        return {
            "id": user.id,
            "team_id": self.team.id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_admin": user.is_admin or user.is_owner,
            "is_owner": user.is_owner,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": profile,
        }

    def channel_json(self, channel: Channel) -> JSON:
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private and not channel.is_im,
            "is_group": channel.is_private and not channel.is_im,
            "is_im": channel.is_im,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_general": channel.name == "general",
            "is_member": channel.has_member(self.bot.id),
            "created": channel.created,
            "creator": "",
            "name_normalized": channel.name,
            "topic": {"value": channel.topic, "creator": "", "last_set": 0},
            "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
            "context_team_id": self.team.id,
        }

    def bot_profile(self) -> JSON:
        return {
            "id": self.bot.bot_id,
            "app_id": self.app_id,
            "name": self.bot.name,
            "icons": {},
            "deleted": False,
            "updated": 0,
            "team_id": self.team.id,
        }
