"""Who people are in Slack, as the channel settings need it: whether someone is a workspace admin
(``users.info``), the workspace's user groups by handle (``usergroups.list``), and who is in a group
(``usergroups.users.list``).

Group members are cached per team and group for ``ttl`` seconds: every approval asks, and a membership
change in Slack should apply soon but need not apply at once. A failed call is not cached, and means "not
an admin" / "nobody from that group": refusing is the safe side of a Slack that does not answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack_workspaces import WorkspaceGone, Workspaces

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 60.0


class SlackDirectory:
    def __init__(
        self,
        workspaces: Workspaces | None,
        *,
        ttl: float = GROUP_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspaces = workspaces  # None: a runtime without Slack, where no one is an admin or in a group
        self.ttl = ttl
        self.clock = clock
        self._members: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def is_admin(self, team: str, user: str) -> bool:
        """A workspace admin or owner."""
        info = await self._call(team, "users_info", user=user)
        person = info.get("user") if info else None
        return isinstance(person, dict) and bool(person.get("is_admin") or person.get("is_owner"))

    async def group_ids(self, team: str) -> dict[str, str] | None:
        """The workspace's user groups, handle -> id; None when Slack could not say."""
        answer = await self._call(team, "usergroups_list")
        if answer is None:
            return None
        groups = answer.get("usergroups")
        return {
            str(g["handle"]): str(g["id"])
            for g in (groups if isinstance(groups, list) else [])
            if isinstance(g, dict) and g.get("handle") and g.get("id")
        }

    async def members(self, team: str, groups: Iterable[str]) -> frozenset[str]:
        """Everyone in any of ``groups`` (ids), as of at most ``ttl`` seconds ago."""
        found: set[str] = set()
        for group in groups:
            found |= await self._group(team, group)
        return frozenset(found)

    async def _group(self, team: str, group: str) -> frozenset[str]:
        now = self.clock()
        cached = self._members.get((team, group))
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        answer = await self._call(team, "usergroups_users_list", usergroup=group)
        if answer is None:
            return frozenset()
        users = answer.get("users")
        members = frozenset(u for u in (users if isinstance(users, list) else []) if isinstance(u, str))
        self._members[(team, group)] = (now, members)
        return members

    async def _call(self, team: str, method: str, **args: Any) -> dict[str, Any] | None:
        if self.workspaces is None:
            return None
        try:
            client = await self.workspaces.client(team)
            response = await getattr(client, method)(**args)
        except (SlackApiError, SlackClientError, OSError, WorkspaceGone):
            log.warning("Slack's %s did not answer; treating it as nobody", method, exc_info=True)
            return None
        data = response.data
        return data if isinstance(data, dict) else None
