"""`/draft status [#id]` and `/draft history [@person | #channel] [--since 7d]`: private answers, acked by
the `/draft` listener (:mod:`handlers.commands`) with what these return."""

from __future__ import annotations

from typing import Any

from bot.drafts.reports import Reports
from handlers.commands import Asked, SubcommandListener


def subcommands(reports: Reports) -> dict[str, SubcommandListener]:
    async def status(asked: Asked) -> dict[str, Any]:
        return await reports.status(team_id=asked.team, channel_id=asked.channel, args=asked.args)

    async def history(asked: Asked) -> dict[str, Any]:
        return await reports.history(team_id=asked.team, args=asked.args)

    return {"status": status, "history": history}
