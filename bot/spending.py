"""Budgets and spend against the database: the estimate of what is asked, checked in the caller's
transaction before anything is queued, and the month's spend report. The arithmetic is
:mod:`bot.budgets`; the sums are :mod:`storage.spend`; the prices are each provider's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
        found = budgets.limits(
            workspace_usd=self.workspace_usd,
            workspace_spent=await self._spent(session, team_id, month)
            if self.workspace_usd is not None
            else 0.0,
            channel=channel_id,
            channel_usd=channel_usd,
            channel_spent=await self._spent(session, team_id, month, channel_id)
            if channel_usd is not None
            else 0.0,
        )
        return budgets.over_budget(cost, found, what=budgets.what_costs(str(tier), count))

    async def _spent(
        self, session: AsyncSession, team_id: str, month: Month, channel_id: str | None = None
    ) -> float:
        """Spent this month, and what is on its way (asked for, not made yet) at its own estimate."""
        spent = await spend.spent_usd(
            session, team_id, since=month.start, until=month.end, channel_id=channel_id
        )
        for pending in await spend.pending_images(session, team_id, channel_id=channel_id):
            tier = Tier(pending.tier)
            estimate = self.providers.estimate_usd(
                pending.provider, pending.quality, Ratio.parse(pending.ratio), tier
            )
            spent += estimate * pending.images
        return spent


@dataclass(frozen=True)
class Spend:
    """The month's spend for `/draft spend` and `draftbot spend`: one read of the audit trail."""

    sessions: async_sessionmaker[AsyncSession]
    workspace_usd: float | None  # DRAFTBOT_MONTHLY_BUDGET_USD, shown against the total
    now: Callable[[], datetime] = utcnow

    async def report(self, team_id: str, month: Month | None = None) -> SpendReport:
        month = month or Month.of(self.now())
        async with self.sessions() as session:
            return budgets.spend_report(
                month,
                await _rows(session, team_id, month),
                workspace_usd=self.workspace_usd,
                channel_budgets=await spend.channel_budgets(session, team_id),
            )

    async def of_person(self, team_id: str, user: str) -> list[tuple[str, budgets.Total, float | None]]:
        """This month, for each channel ``user`` drafted in: the channel's spend and its budget."""
        month = Month.of(self.now())
        async with self.sessions() as session:
            rows = await _rows(session, team_id, month)
            channel_budgets = await spend.channel_budgets(session, team_id)
        report = budgets.spend_report(month, rows)
        theirs = sorted({row.channel for row in rows if row.person == user and row.channel})
        return [(channel, report.by_channel[channel], channel_budgets.get(channel)) for channel in theirs]

    async def teams(self, month: Month | None = None) -> list[str]:
        """The teams that generated something in ``month`` (this one by default)."""
        month = month or Month.of(self.now())
        async with self.sessions() as session:
            return await spend.teams_with_spend(session, since=month.start, until=month.end)

    async def csv(self, month: Month | None = None, *, team_id: str | None = None) -> str:
        """Every team's (or ``team_id``'s) spend in ``month`` as CSV for finance: one line per team,
        channel, person and tier (:data:`bot.budgets.CSV_FIELDS` after ``team_id``)."""
        month = month or Month.of(self.now())
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=("team_id", *budgets.CSV_FIELDS), lineterminator="\n")
        writer.writeheader()
        async with self.sessions() as session:
            teams = (
                [team_id]
                if team_id
                else await spend.teams_with_spend(session, since=month.start, until=month.end)
            )
            for team in teams:
                for record in budgets.csv_records(await _rows(session, team, month), month):
                    writer.writerow({"team_id": team, **record})
        return out.getvalue()


async def _rows(session: AsyncSession, team_id: str, month: Month) -> list[SpendRow]:
    found = await spend.spend_rows(session, team_id, since=month.start, until=month.end)
    return [SpendRow(r.channel_id, r.user_id, r.tier, r.images, r.usd) for r in found]
