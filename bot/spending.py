"""Budgets and spend against the database: the estimate of what is asked, checked in the caller's
transaction before anything is queued, and the month's spend report. The arithmetic is
:mod:`bot.budgets`; the sums are :mod:`storage.spend`; the prices are each provider's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import budgets
from bot.budgets import Month, SpendReport, SpendRow
from bot.providers import Providers
from bot.tiers import Ratio, Tier
from bot.workflow import Refusal
from storage import queries, spend
from storage.models import utcnow


@dataclass(frozen=True)
class Budgets:
    providers: Providers
    workspace_usd: float | None  # DRAFTBOT_MONTHLY_BUDGET_USD
    # The audit trail stamps events with the wall clock, so "this month" is the wall clock's too.
    now: Callable[[], datetime] = utcnow

    async def refusal(
        self,
        session: AsyncSession,
        *,
        team_id: str,
        channel_id: str,
        provider: str | None,
        quality: str | None,
        ratio: Ratio,
        tier: Tier,
        count: int = 1,
    ) -> Refusal | None:
        """Refused (``over_budget``, with the figures) when ``count`` images of ``ratio`` at ``tier`` would
        pass the workspace's or the channel's budget this month; None when they fit or none is set."""
        settings = await queries.channel_settings(session, team_id, channel_id)
        channel_usd = settings.monthly_budget_usd if settings is not None else None
        if self.workspace_usd is None and channel_usd is None:
            return None
        cost = self.providers.estimate_usd(provider, quality, ratio, tier) * count
        month = Month.of(self.now())
        since, until = month.start, month.end
        found = budgets.limits(
            workspace_usd=self.workspace_usd,
            workspace_spent=await spend.spent_usd(session, team_id, since=since, until=until)
            if self.workspace_usd is not None
            else 0.0,
            channel=channel_id,
            channel_usd=channel_usd,
            channel_spent=await spend.spent_usd(
                session, team_id, since=since, until=until, channel_id=channel_id
            )
            if channel_usd is not None
            else 0.0,
        )
        return budgets.over_budget(cost, found, what=budgets.what_costs(str(tier), count))

    async def report(self, session: AsyncSession, team_id: str, month: Month | None = None) -> SpendReport:
        month = month or Month.of(self.now())
        return budgets.spend_report(
            month,
            await self.rows(session, team_id, month),
            workspace_usd=self.workspace_usd,
            channel_budgets=await spend.channel_budgets(session, team_id),
        )

    async def rows(self, session: AsyncSession, team_id: str, month: Month) -> list[SpendRow]:
        found = await spend.spend_rows(session, team_id, since=month.start, until=month.end)
        return [SpendRow(r.channel_id, r.user_id, r.tier, r.images, r.usd) for r in found]
