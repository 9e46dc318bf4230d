"""`/draft status` and `/draft history`: read the drafts, and answer privately (the listener acks with it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks import text_blocks
from bot.cards import draft_card
from bot.drafts.home import HomeSlack
from bot.drafts.settings import PolicyFor
from bot.errors import UserInputError
from bot.reports import (
    HISTORY_PAGE,
    HistoryLine,
    ReviewVersion,
    history_text,
    parse_history,
    parse_status,
    status_text,
)
from bot.tiers import Tier
from storage import home as stored
from storage import queries
from storage.models import Draft

log = logging.getLogger(__name__)


class Reports:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        slack: HomeSlack | None,
        policy_for: PolicyFor,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.slack = slack
        self.policy_for = policy_for  # who the status says a review waits on: the channel's approvers
        self.clock = clock

    async def status(self, *, team_id: str, channel_id: str, args: str) -> dict[str, Any]:
        try:
            wanted = parse_status(args)
        except UserInputError as err:
            return {"text": err.message}
        async with self.sessions() as session:
            if wanted is None:
                draft = await stored.latest_in(session, team_id, channel_id)
                if draft is None:
                    return {"text": "No drafts in this channel yet: `/draft status #12` names one."}
            else:
                draft = await queries.get_draft(session, team_id, wanted)
                if draft is None:
                    return {"text": f"I can't find draft #{wanted} in this workspace."}
            policy = await self.policy_for(session, draft)
            card = await draft_card(session, draft, policy=policy)
            reviews = await queries.variants_of(session, team_id, draft.id, Tier.REVIEW)
        versions = tuple(
            ReviewVersion(v.number, v.version, v.status, v.outcome)
            for v in sorted(reviews, key=lambda v: v.id)
        )
        text = status_text(card, policy, versions, await self._link(draft))
        return {"text": text, "blocks": text_blocks(text)}

    async def history(self, *, team_id: str, args: str) -> dict[str, Any]:
        try:
            query = parse_history(args)
        except UserInputError as err:
            return {"text": err.message}
        since = self.clock() - query.since if query.since else None
        async with self.sessions() as session:
            found, total = await stored.drafts(
                session,
                team_id,
                requester=query.person,
                channel=query.channel,
                since=since,
                offset=(query.page - 1) * HISTORY_PAGE,
                limit=HISTORY_PAGE,
            )
        lines = tuple(
            [
                HistoryLine(
                    d.id,
                    d.prompt,
                    d.destination_name,
                    d.status,
                    d.channel_id,
                    d.requester_id,
                    d.created_at,
                    await self._link(d),
                )
                for d in found
            ]
        )
        text = history_text(query, lines, total)
        return {"text": text, "blocks": text_blocks(text)}

    async def _link(self, draft: Draft) -> str | None:
        if self.slack is None or not (draft.parent_channel and draft.parent_ts):
            return None
        try:
            return await self.slack.permalink(draft.team_id, draft.parent_channel, draft.parent_ts)
        except Exception:  # the answer stands without the link
            log.warning("no permalink for draft %s", draft.id, exc_info=True)
            return None
