"""The App Home's Web API calls: ``views.publish`` of a person's Home and ``chat.getPermalink`` for the
links to draft threads (remembered: a message's permalink never changes, and a Home shows dozens)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from bot.slack_workspaces import Workspaces

PERMALINKS_KEPT = 5000


class SlackHome:
    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces
        self._permalinks: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    async def publish(self, team: str, user: str, view: dict[str, Any]) -> None:
        await (await self.workspaces.client(team)).views_publish(user_id=user, view=view)

    async def permalink(self, team: str, channel: str, ts: str) -> str | None:
        key = (team, channel, ts)
        if key in self._permalinks:
            self._permalinks.move_to_end(key)
            return self._permalinks[key]
        client = await self.workspaces.client(team)
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
        link = response.get("permalink")
        if not isinstance(link, str):
            return None
        self._permalinks[key] = link
        if len(self._permalinks) > PERMALINKS_KEPT:
            self._permalinks.popitem(last=False)
        return link
